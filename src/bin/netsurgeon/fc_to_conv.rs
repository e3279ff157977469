//! `netsurgeon fc-to-conv`: the net-surgery tutorial's cast of InnerProduct
//! layers to Convolutions (weights transplanted without a copy), saved as a
//! Caffe model.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use graph_ir::passes::{fc_to_conv, FcToConvOptions};

use crate::common::{check_output, format_shape, load_net, InputSpec};

#[derive(Args)]
#[command(after_help = "Example (the tutorial's fully convolutional CaffeNet):
  netsurgeon fc-to-conv deploy.prototxt --weights caffenet.caffemodel \\
      --input data=1,3,451,451 --out-prototxt full_conv.prototxt --out-weights full_conv.caffemodel")]
pub struct FcToConvArgs {
    /// The net definition (.prototxt).
    pub prototxt: PathBuf,
    /// Its weights (.caffemodel).
    #[arg(long)]
    pub weights: PathBuf,
    /// Reshape an input after the cast, e.g. data=1,3,451,451.
    #[arg(long = "input", value_name = "NAME=DIMS")]
    pub inputs: Vec<InputSpec>,
    /// Suffix for converted layers and their tops (so weights never load blindly).
    #[arg(long, default_value = "-conv")]
    pub suffix: String,
    /// Where to write the new net definition.
    #[arg(long)]
    pub out_prototxt: PathBuf,
    /// Where to write the new weights.
    #[arg(long)]
    pub out_weights: PathBuf,
    /// Overwrite existing output files.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &FcToConvArgs, quiet: bool) -> Result<()> {
    let inputs = [args.prototxt.as_path(), args.weights.as_path()];
    check_output(&args.out_prototxt, &inputs, args.force)?;
    check_output(&args.out_weights, &inputs, args.force)?;
    let mut net = load_net(&args.prototxt, Some(&args.weights), &[])?;
    let options = FcToConvOptions {
        suffix: args.suffix.clone(),
        layers: None,
    };
    let converted = fc_to_conv(&mut net, &options)?;
    for spec in &args.inputs {
        net.reshape_input(&spec.name, &spec.dims)
            .with_context(|| format!("--input {}={:?}", spec.name, spec.dims))?;
    }
    let bar = crate::common::spinner(
        format!("writing {}", args.out_weights.display()),
        crate::common::param_bytes(&net),
    );
    net.save(&args.out_prototxt, &args.out_weights)?;
    bar.finish_and_clear();
    if !quiet {
        for c in &converted {
            let w = net.param(&c.new_name, 0)?;
            println!(
                "{} -> {} (kernel {}x{}, weights {})",
                c.old_name,
                c.new_name,
                c.kernel[0],
                c.kernel[1],
                format_shape(w.shape())
            );
        }
        // A layer netsurgeon does not model after the cast leaves its tops unknown.
        for out in net.outputs()? {
            let shape = net
                .blob_shape(&out)
                .map_or_else(|_| "(unknown)".to_string(), format_shape);
            println!("output {out} {shape}");
        }
        println!(
            "wrote {} and {}",
            args.out_prototxt.display(),
            args.out_weights.display()
        );
    }
    Ok(())
}
