//! `netsurgeon run`: one forward pass of a Caffe model (through ONNX and tract)
//! or of an ONNX file, on inputs read from `.npy`; each output (or every blob)
//! is written as `DIR/NAME.npy`, `/` in names written as `__` as pycaffe users
//! save them.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use ndarray::ArrayD;
use netsurgeon::{caffe_io, ForwardOptions};

use crate::common::format_shape;

#[derive(Args)]
#[command(after_help = "Examples:
  netsurgeon run deploy.prototxt --weights model.caffemodel --input data=image.npy --out-dir out
  netsurgeon run deploy.prototxt --weights model.caffemodel --input data=image.npy --out-dir out --all-blobs
  netsurgeon run model.onnx --input data=image.npy --out-dir out --all-blobs --threads 1

With --all-blobs, a Caffe model writes every blob (pycaffe's net.blobs) and an ONNX file every
tensor its nodes compute (initializers and Constant nodes left out). For an ONNX file that
netsurgeon exported, these are the Caffe blobs under their Caffe names, plus the steps of layers
lowered to several nodes (norm1/square, ... of an LRN) and the values in-place layers overwrite
(conv1.conv1: conv1 before its in-place ReLU).")]
pub struct RunArgs {
    /// The model: a .prototxt (with --weights) or an .onnx file.
    pub model: PathBuf,
    /// Weights for a .prototxt model.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// An input blob and the .npy file holding it: NAME=FILE.npy (repeatable).
    #[arg(long = "input", value_name = "NAME=FILE.npy", required = true)]
    pub inputs: Vec<String>,
    /// Directory for the outputs (created if needed).
    #[arg(long)]
    pub out_dir: PathBuf,
    /// Write every blob (an ONNX file: every computed tensor), not only the outputs.
    #[arg(long)]
    pub all_blobs: bool,
    /// Threads for tract's matrix products [default: every core; 1 pins one].
    #[arg(long, value_name = "N", value_parser = crate::common::parse_threads)]
    pub threads: Option<usize>,
    /// Overwrite existing files in the output directory.
    #[arg(long)]
    pub force: bool,
}

/// File name of a blob: pycaffe users replace `/` by `__`.
pub fn blob_file(name: &str) -> String {
    format!("{}.npy", name.replace('/', "__"))
}

fn read_inputs(specs: &[String]) -> Result<Vec<(String, PathBuf, ArrayD<f32>)>> {
    specs
        .iter()
        .map(|spec| {
            let Some((name, file)) = spec.split_once('=') else {
                bail!("--input '{spec}' is not NAME=FILE.npy");
            };
            let path = PathBuf::from(file);
            let array = caffe_io::read_npy_f32(&path)?;
            Ok((name.to_string(), path, array))
        })
        .collect()
}

fn is_onnx(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("onnx"))
}

/// Runs the model; returns (blob name, value) in the model's order. For an
/// ONNX file, `options.all_blobs` selects every computed tensor and
/// `options.split` is not used (the file's nodes run as they are).
pub fn run_model(
    model: &Path,
    weights: Option<&PathBuf>,
    inputs: Vec<(String, ArrayD<f32>)>,
    options: &ForwardOptions,
) -> Result<Vec<(String, ArrayD<f32>)>> {
    if is_onnx(model) {
        if weights.is_some() {
            bail!("--weights is for Caffe models; {} holds its weights", model.display());
        }
        let mut builder = netsurgeon::runtime::SessionBuilder::from_path(model)?.threads(options.threads);
        for (name, array) in &inputs {
            builder = builder.input_shape(name, array.shape())?;
        }
        if !options.all_blobs {
            return Ok(builder.build()?.run_named(inputs.into_iter().collect())?);
        }
        // Every computed tensor. One whose size depends on the data (the
        // steps inside an exported DetectionOutput) may be a shape tract
        // keeps symbolic: it is left out, with a note, and the rest written.
        let values = builder.value_names();
        let session = builder.outputs(values)?.build()?;
        let (outputs, left_out) = session.run_named_lenient(inputs.into_iter().collect())?;
        if !left_out.is_empty() && !crate::common::QUIET.load(std::sync::atomic::Ordering::Relaxed) {
            let names: Vec<&str> = left_out.iter().map(|(n, _)| n.as_str()).collect();
            eprintln!(
                "note: tract gives no value for these tensors (their sizes depend on the data), left out: {}",
                names.join(", ")
            );
        }
        return Ok(outputs);
    }
    let net = crate::common::load_net(model, weights, &[])?;
    run_net(net, inputs, options)
}

/// Runs a loaded Caffe net on `inputs`, each input blob reshaped to its array.
pub fn run_net(
    mut net: netsurgeon::graph_ir::Net,
    inputs: Vec<(String, ArrayD<f32>)>,
    options: &ForwardOptions,
) -> Result<Vec<(String, ArrayD<f32>)>> {
    // A name that is not an input gets the forward pass's error (the net's
    // inputs, and the likely one), not the reshape's.
    let net_inputs: Vec<String> = net.inputs().iter().map(|n| n.to_string()).collect();
    if let Some((name, _)) = inputs.iter().find(|(n, _)| !net_inputs.contains(n)) {
        return Err(netsurgeon::ForwardError::UnknownInput {
            name: name.clone(),
            inputs: net_inputs,
        }
        .into());
    }
    for (name, array) in &inputs {
        net.reshape_input(name, array.shape())
            .with_context(|| format!("input '{name}' of shape {}", format_shape(array.shape())))?;
    }
    let forward = netsurgeon::Forward::new(&net, options)?;
    Ok(forward.run(inputs)?.into_vec())
}

pub fn run(args: &RunArgs, quiet: bool) -> Result<()> {
    let inputs = read_inputs(&args.inputs)?;
    let input_files: Vec<PathBuf> = inputs.iter().map(|(_, p, _)| p.clone()).collect();
    let mut sources: Vec<&Path> = vec![args.model.as_path()];
    sources.extend(args.weights.as_deref());
    sources.extend(input_files.iter().map(PathBuf::as_path));
    let inputs: Vec<(String, ArrayD<f32>)> = inputs.into_iter().map(|(n, _, a)| (n, a)).collect();
    let options = ForwardOptions::default()
        .all_blobs(args.all_blobs)
        .threads(crate::common::threads(args.threads));
    let blobs = run_model(&args.model, args.weights.as_ref(), inputs, &options)?;
    std::fs::create_dir_all(&args.out_dir).with_context(|| format!("creating {}", args.out_dir.display()))?;
    for (name, array) in &blobs {
        let path = args.out_dir.join(blob_file(name));
        crate::common::check_output(&path, &sources, args.force)?;
        caffe_io::write_npy_f32(&path, array.view())?;
        if !quiet {
            println!("{name} {} -> {}", format_shape(array.shape()), path.display());
        }
    }
    Ok(())
}
