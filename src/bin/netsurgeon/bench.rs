//! `netsurgeon bench`: forward time of a model in tract (Caffe models are
//! exported to ONNX in memory first), after a warm-up: median, min and max.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use ndarray::ArrayD;
use serde::Serialize;

use crate::common::{format_shape, InputSpec};

#[derive(Args)]
#[command(after_help = "Examples:
  netsurgeon bench deploy.prototxt --weights model.caffemodel --input data=1,3,227,227 --runs 20
  netsurgeon bench full_conv.onnx --input data=1,3,451,451 --threads 1 --json")]
pub struct BenchArgs {
    /// The model: a .prototxt (weights optional: timing does not depend on values) or an .onnx file.
    pub model: PathBuf,
    /// Weights for a .prototxt model.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Input shapes, e.g. data=1,3,227,227 (required for .onnx files with symbolic dims).
    #[arg(long = "input", value_name = "NAME=DIMS")]
    pub inputs: Vec<InputSpec>,
    /// Timed runs (after one warm-up run).
    #[arg(long, default_value_t = 10)]
    pub runs: usize,
    /// Threads for tract's matrix products [default: every core; 1 pins one].
    #[arg(long, value_name = "N", value_parser = crate::common::parse_threads)]
    pub threads: Option<usize>,
    /// Print JSON: {"median_ms":..,"min_ms":..,"max_ms":..}.
    #[arg(long)]
    pub json: bool,
    /// Run a Caffe model's layers as they are: without splitting large
    /// convolutions along their input channels (see `convert --split-large-conv`).
    #[arg(long)]
    pub no_split: bool,
}

#[derive(Serialize)]
struct Timing {
    median_ms: f64,
    min_ms: f64,
    max_ms: f64,
    runs: usize,
    threads: usize,
}

pub fn run(args: &BenchArgs, _quiet: bool) -> Result<()> {
    if args.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let threads = crate::common::threads(args.threads);
    let is_onnx = args.model.extension().is_some_and(|e| e.eq_ignore_ascii_case("onnx"));
    let run_once: Box<dyn Fn() -> Result<()>>;
    if is_onnx {
        let mut builder = netsurgeon::runtime::SessionBuilder::from_path(&args.model)?.threads(threads);
        for spec in &args.inputs {
            builder = builder.input_shape(&spec.name, &spec.dims)?;
        }
        let session = builder.build()?;
        let shapes: Vec<Vec<usize>> = session
            .model()
            .input_outlets()?
            .iter()
            .map(|o| {
                let fact = session.model().outlet_fact(*o)?;
                fact.shape
                    .as_concrete()
                    .map(|s| s.to_vec())
                    .context("an input shape is not fixed: give --input")
            })
            .collect::<Result<_>>()?;
        let inputs: Vec<ArrayD<f32>> = shapes.iter().map(|s| ArrayD::from_elem(s.clone(), 0.5)).collect();
        run_once = Box::new(move || {
            session.run(inputs.clone())?;
            Ok(())
        });
    } else {
        let net = crate::common::load_net(&args.model, args.weights.as_ref(), &args.inputs)?;
        let inputs: Vec<(String, ArrayD<f32>)> = net
            .inputs()
            .iter()
            .map(|n| Ok((n.to_string(), ArrayD::from_elem(net.blob_shape(n)?.to_vec(), 0.5))))
            .collect::<Result<_>>()?;
        if !args.json {
            for (n, a) in &inputs {
                println!("input {n} {}", format_shape(a.shape()));
            }
        }
        let options = netsurgeon::ForwardOptions::default()
            .threads(threads)
            .split((!args.no_split).then(Default::default));
        let forward = netsurgeon::Forward::new(&net, &options)?;
        run_once = Box::new(move || {
            forward.run(inputs.clone())?;
            Ok(())
        });
    }
    run_once()?; // warm-up
    let mut times: Vec<f64> = (0..args.runs)
        .map(|_| {
            let t = Instant::now();
            run_once().map(|()| t.elapsed().as_secs_f64() * 1e3)
        })
        .collect::<Result<_>>()?;
    times.sort_by(f64::total_cmp);
    let timing = Timing {
        median_ms: times[times.len() / 2],
        min_ms: times[0],
        max_ms: times[times.len() - 1],
        runs: args.runs,
        threads,
    };
    if args.json {
        println!("{}", serde_json::to_string(&timing)?);
    } else {
        println!(
            "forward: median {:.2} ms, min {:.2} ms, max {:.2} ms ({} runs, {} thread(s))",
            timing.median_ms, timing.min_ms, timing.max_ms, timing.runs, timing.threads
        );
    }
    Ok(())
}
