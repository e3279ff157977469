//! `netsurgeon check`: runs a Caffe model on a golden folder's input and
//! compares every blob with the folder's `blobs/*.npy` (e.g. dumped from real
//! Caffe): a table of per-blob errors, exit 1 on any mismatch. The rule is
//! max|ours - reference| <= tolerance x max|reference|.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::Args;
use netsurgeon::caffe_io;
use netsurgeon::runtime::{GoldenDir, DEFAULT_TOLERANCE};

#[derive(Args)]
#[command(
    after_help = "A golden folder holds input.npy (or input_<name>.npy per input) and blobs/<blob>.npy,
with '/' in blob names written as '__'.

Example:
  netsurgeon check net.prototxt --weights net.caffemodel --golden golden/mini_caffenet"
)]
pub struct CheckArgs {
    /// The net definition (.prototxt).
    pub prototxt: PathBuf,
    /// Its weights (.caffemodel).
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// The golden folder.
    #[arg(long)]
    pub golden: PathBuf,
    /// Relative tolerance (of the reference's largest magnitude).
    #[arg(long, default_value_t = DEFAULT_TOLERANCE)]
    pub tolerance: f64,
}

/// The golden inputs: `input.npy` for a one-input net, else `input_<name>.npy`.
fn golden_inputs(dir: &Path, names: &[&str]) -> Result<Vec<(String, ndarray::ArrayD<f32>)>> {
    let mut inputs = Vec::new();
    for name in names {
        let specific = dir.join(format!("input_{}.npy", name.replace('/', "__")));
        let path = if specific.exists() {
            specific
        } else if names.len() == 1 {
            dir.join("input.npy")
        } else {
            bail!("{}: no input file for input '{name}'", specific.display());
        };
        inputs.push((name.to_string(), caffe_io::read_npy_f32(&path)?));
    }
    Ok(inputs)
}

pub fn run(args: &CheckArgs, quiet: bool) -> Result<()> {
    let net = crate::common::load_net(&args.prototxt, args.weights.as_ref(), &[])?;
    let inputs = golden_inputs(&args.golden, &net.inputs())?;
    let options = netsurgeon::ForwardOptions::default().all_blobs(true).threads(1);
    let blobs = crate::run::run_net(net, inputs, &options)?;
    let golden = GoldenDir::new(args.golden.join("blobs"));
    let present: Vec<&str> = blobs
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| golden.path_of(n).exists())
        .collect();
    if present.is_empty() {
        bail!(
            "{}: no blob of the net has a file here",
            args.golden.join("blobs").display()
        );
    }
    let report = golden.compare(&blobs, Some(&present), args.tolerance)?;
    if !quiet || !report.passed() {
        println!("{report}");
    }
    if !report.passed() {
        bail!(
            "{} of {} blobs differ from {}",
            report.failures().count(),
            report.blobs.len(),
            args.golden.display()
        );
    }
    Ok(())
}
