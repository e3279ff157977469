//! `netsurgeon save`: reads a model as Caffe does and writes it back in
//! today's form (legacy V0/V1 nets and `input:` fields upgraded, as Caffe's
//! `upgrade_net_proto_text` does), every field of a fork's dialect kept.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::common::{check_output, load_net};

#[derive(Args)]
#[command(after_help = "Example (a SegNet model, its BN and Upsample blocks kept as written):
  netsurgeon save segnet.prototxt --weights segnet.caffemodel \\
      --out-prototxt segnet_v2.prototxt --out-weights segnet_v2.caffemodel")]
pub struct SaveArgs {
    /// The net definition (.prototxt).
    pub prototxt: PathBuf,
    /// Weights (.caffemodel); without them only the prototxt is written.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Where to write the net definition.
    #[arg(long)]
    pub out_prototxt: PathBuf,
    /// Where to write the weights (needs --weights).
    #[arg(long, requires = "weights")]
    pub out_weights: Option<PathBuf>,
    /// Overwrite existing output files.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &SaveArgs, quiet: bool) -> Result<()> {
    let mut inputs = vec![args.prototxt.as_path()];
    inputs.extend(args.weights.as_deref());
    check_output(&args.out_prototxt, &inputs, args.force)?;
    if let Some(w) = &args.out_weights {
        check_output(w, &inputs, args.force)?;
    }
    let net = load_net(&args.prototxt, args.weights.as_ref(), &[])?;
    match &args.out_weights {
        Some(weights) => net.save(&args.out_prototxt, weights)?,
        None => graph_ir::caffe_io::write_prototxt(&args.out_prototxt, &net.to_proto())?,
    }
    if !quiet {
        let kept: usize = net.layers().iter().map(|l| l.kept_fields().len()).sum();
        print!("wrote {}", args.out_prototxt.display());
        if let Some(w) = &args.out_weights {
            print!(" and {}", w.display());
        }
        println!(" ({} layers, {kept} fields of other dialects kept)", net.layers().len());
    }
    Ok(())
}
