//! The `netsurgeon` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod demo;

/// Caffe net surgery: inspect, edit and convert Caffe models.
#[derive(Parser)]
#[command(name = "netsurgeon", version = netsurgeon::VERSION, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the tutorial on the data shipped with netsurgeon (the default).
    Demo {
        /// Where to write the demo's outputs.
        #[arg(long, default_value = "netsurgeon-demo")]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Demo {
        out: PathBuf::from("netsurgeon-demo"),
    }) {
        Command::Demo { out } => demo::run(&out),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
