//! `netsurgeon synth-weights`: seeded synthetic weights for a net definition
//! (He-initialised, std sqrt(2/fan_in); biases N(0, 0.05)), for users without a
//! trained model and for benchmarks.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::common::{check_output, load_net, InputSpec};

#[derive(Args)]
#[command(after_help = "Example:
  netsurgeon synth-weights deploy.prototxt --seed 0 -o caffenet_random.caffemodel")]
pub struct SynthArgs {
    /// The net definition (.prototxt).
    pub prototxt: PathBuf,
    /// Random seed: the same seed gives the same weights.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Give an input blob a shape first (needed when the prototxt has none).
    #[arg(long = "input", value_name = "NAME=DIMS")]
    pub inputs: Vec<InputSpec>,
    /// Where to write the weights (.caffemodel).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Write the params of the layers that can be filled even when some cannot (a layer
    /// netsurgeon does not model, and the layers after it whose shapes it hides), with a
    /// warning naming them; without it such a net is an error and nothing is written.
    #[arg(long)]
    pub skip_unknown: bool,
    /// Overwrite an existing output file.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &SynthArgs, quiet: bool) -> Result<()> {
    check_output(&args.output, &[args.prototxt.as_path()], args.force)?;
    let mut net = load_net(&args.prototxt, None, &args.inputs)?;
    let unfilled = net.synthesize_params(args.seed);
    if !unfilled.is_empty() {
        let mut lines = Vec::new();
        for (layer, type_name) in &unfilled.unmodelled {
            lines.push(format!(
                "  {layer} ({type_name}): not a type netsurgeon models; whether it has weights only its own code knows"
            ));
        }
        for (layer, why) in &unfilled.unknown_shapes {
            lines.push(format!("  {layer}: its param shapes are unknown: {why}"));
        }
        let what = format!(
            "{} of {} layers cannot be given weights:\n{}",
            unfilled.unmodelled.len() + unfilled.unknown_shapes.len(),
            net.layers().len(),
            lines.join("\n")
        );
        if !args.skip_unknown {
            anyhow::bail!(
                "{what}\nnothing written; --skip-unknown writes the weights of the other layers (register the \
                 missing layer types, or give the input shapes with --input, to fill them all)"
            );
        }
        if !quiet {
            eprintln!("warning: {what}\n(--skip-unknown: writing the weights of the other layers)");
        }
    }
    let bar = crate::common::spinner(
        format!("writing {}", args.output.display()),
        crate::common::param_bytes(&net),
    );
    net.save_weights(&args.output)?;
    bar.finish_and_clear();
    if !quiet {
        let count: usize = net.params().iter().flat_map(|(_, p)| p.iter()).map(|p| p.len()).sum();
        println!("wrote {} ({count} weights, seed {})", args.output.display(), args.seed);
    }
    Ok(())
}
