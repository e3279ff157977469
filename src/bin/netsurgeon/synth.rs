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
    /// Overwrite an existing output file.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &SynthArgs, quiet: bool) -> Result<()> {
    check_output(&args.output, &[args.prototxt.as_path()], args.force)?;
    let mut net = load_net(&args.prototxt, None, &args.inputs)?;
    net.synthesize_params(args.seed);
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
