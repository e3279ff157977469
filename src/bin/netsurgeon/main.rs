//! The `netsurgeon` command line: one module per subcommand.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod bench;
mod check;
mod common;
mod convert;
mod demo;
mod embedded;
mod fc_to_conv;
mod heatmap;
mod inspect;
mod run;
mod save;
mod synth;
mod to_caffe;

/// Caffe net surgery: inspect, edit and convert Caffe models.
#[derive(Parser)]
#[command(name = "netsurgeon", version = netsurgeon::VERSION, about, long_about = None)]
#[command(after_help = "With no subcommand, runs `demo`: the net-surgery tutorial on shipped data.")]
struct Cli {
    /// Print only errors.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(flatten)]
    load: common::LoadArgs,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// List blobs and params with their shapes (pycaffe's net.blobs / net.params).
    Inspect(inspect::InspectArgs),
    /// Cast InnerProduct layers to Convolutions and save the new model.
    FcToConv(fc_to_conv::FcToConvArgs),
    /// Export a Caffe model to ONNX.
    Convert(convert::ConvertArgs),
    /// Convert an ONNX model to Caffe (exact, or refused naming the node).
    ToCaffe(to_caffe::ToCaffeArgs),
    /// Run a model (Caffe or ONNX) with tract and write its outputs as .npy.
    Run(run::RunArgs),
    /// Compare every blob of a forward pass with a golden folder.
    Check(check::CheckArgs),
    /// Time forward passes in tract.
    Bench(bench::BenchArgs),
    /// Classification heatmap of an image with a fully convolutional net.
    Heatmap(heatmap::HeatmapArgs),
    /// Write seeded synthetic weights for a net definition.
    SynthWeights(synth::SynthArgs),
    /// Read a model as Caffe does and write it back (legacy forms upgraded, fork fields kept).
    Save(save::SaveArgs),
    /// Run the tutorial on the data shipped with netsurgeon (the default).
    #[command(after_help = "Example:
  netsurgeon demo --out /tmp/netsurgeon-demo

Its data (nets, images, the trained LeNet, real Caffe's reference numbers) is built into the
binary, so it runs from any directory. Files of an earlier demo run in --out are replaced.")]
    Demo {
        /// Where to write the demo's outputs.
        #[arg(long, default_value = "netsurgeon-demo")]
        out: PathBuf,
        /// Leave out step 2 (CaffeNet at 451x451: the slow step, ~470 MB written).
        #[arg(long)]
        skip_caffenet: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let quiet = cli.quiet;
    common::QUIET.store(quiet, std::sync::atomic::Ordering::Relaxed);
    let command = cli.command.unwrap_or(Command::Demo {
        out: PathBuf::from("netsurgeon-demo"),
        skip_caffenet: false,
    });
    let to_caffe = matches!(command, Command::ToCaffe(_));
    if let Err(e) = common::set_load_options(&cli.load, !to_caffe) {
        eprintln!("error: {e:#}");
        return ExitCode::from(2);
    }
    let result = match &command {
        Command::Inspect(args) => inspect::run(args),
        Command::FcToConv(args) => fc_to_conv::run(args, quiet),
        Command::Convert(args) => convert::run(args, quiet),
        Command::Run(args) => run::run(args, quiet),
        Command::ToCaffe(args) => to_caffe::run(args, &cli.load.dialects, quiet),
        Command::Check(args) => check::run(args, quiet),
        Command::Bench(args) => bench::run(args, quiet),
        Command::Heatmap(args) => heatmap::run(args, quiet),
        Command::SynthWeights(args) => synth::run(args, quiet),
        Command::Save(args) => save::run(args, quiet),
        Command::Demo { out, skip_caffenet } => demo::run(out, *skip_caffenet),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The model or data is bad (usage errors exit with 2 from clap).
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
