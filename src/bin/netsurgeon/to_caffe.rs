//! `netsurgeon to-caffe`: an ONNX model to a Caffe prototxt and caffemodel,
//! exact or refused (naming each node), checked in tract before writing.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use netsurgeon::onnx_import::{Dialect, How, ImportOptions};
use netsurgeon::to_caffe::{convert_model, ToCaffeOptions};
use serde_json::json;

use crate::common::{check_output, InputSpec};

#[derive(Args)]
#[command(after_help = "Examples:
  netsurgeon to-caffe model.onnx --out-prototxt model.prototxt --out-weights model.caffemodel
  netsurgeon to-caffe yolo.onnx --out-prototxt y.prototxt --out-weights y.caffemodel --input images=1,3,416,416
  netsurgeon to-caffe ssd.onnx --dialect ssd --out-prototxt ssd.prototxt --out-weights ssd.caffemodel --report ssd.json

Dialects: caffe1 (the default: Caffe 1.0's layers, which BVLC Caffe, every fork, OpenCV and NNIE run),
bvlc (+ Clip, Bias, ArgMax), ssd (+ Permute, Bias, ArgMax), opencv (+ Permute, ReLU6), nnie (+ ArgMax, Permute (0,2,3,1); 4-D, <= 16 outputs).
A node with no exact form in the dialect is refused, named, and nothing is written (exit 1);
--allow-approximate writes an approximation instead where one is known (Erf), listing each with its error.")]
pub struct ToCaffeArgs {
    /// The ONNX model.
    pub model: PathBuf,
    /// The Caffe net definition to write.
    #[arg(long)]
    pub out_prototxt: PathBuf,
    /// The Caffe weights to write.
    #[arg(long)]
    pub out_weights: PathBuf,
    /// Fix an input's shape, e.g. images=1,3,640,640 (repeatable; needed for symbolic dims).
    #[arg(long = "input", value_name = "NAME=DIMS")]
    pub inputs: Vec<InputSpec>,
    /// Write what became of every ONNX node (JSON).
    #[arg(long, value_name = "FILE.json")]
    pub report: Option<PathBuf>,
    /// Skip the self-check (the ONNX model and the Caffe net run in tract on a seeded input).
    #[arg(long)]
    pub no_check: bool,
    /// Write approximations where no exact Caffe form exists (Erf), each listed with its measured error.
    #[arg(long)]
    pub allow_approximate: bool,
    /// Overwrite existing outputs.
    #[arg(long)]
    pub force: bool,
}

/// `dialects`: the global `--dialect` values (at most one here: the Caffe to
/// write for; default caffe1).
pub fn run(args: &ToCaffeArgs, dialects: &[String], quiet: bool) -> Result<()> {
    let dialect: Dialect = match dialects {
        [] => Dialect::default(),
        [one] => one.parse().map_err(|e: String| anyhow::anyhow!("--dialect: {e}"))?,
        _ => anyhow::bail!(
            "to-caffe writes for one dialect; --dialect is given {} times",
            dialects.len()
        ),
    };
    for out in [&args.out_prototxt, &args.out_weights]
        .into_iter()
        .chain(args.report.as_ref())
    {
        check_output(out, &[&args.model], args.force)?;
    }
    let model = netsurgeon::onnx_export::read_model(&args.model).with_context(|| args.model.display().to_string())?;
    let options = ToCaffeOptions {
        import: ImportOptions {
            dialect,
            input_shapes: args.inputs.iter().map(|i| (i.name.clone(), i.dims.clone())).collect(),
            allow_approximate: args.allow_approximate,
            ..Default::default()
        },
        check: !args.no_check,
        ..Default::default()
    };
    let started = std::time::Instant::now();
    let converted = convert_model(&model, &options).with_context(|| args.model.display().to_string())?;
    let imported = &converted.imported;
    imported.save(&args.out_prototxt, &args.out_weights)?;
    if let Some(path) = &args.report {
        let nodes: Vec<_> = imported
            .report
            .nodes
            .iter()
            .map(|n| {
                json!({"node": n.node, "op_type": n.op_type, "how": n.how.as_str(), "layers": n.layers, "note": n.note,
                       "max_error": n.max_error})
            })
            .collect();
        let check = converted.check.as_ref().map(|c| {
            json!({
                "seed": c.seed,
                "outputs": c.outputs.iter().map(|o| json!({"name": o.name, "max_abs": o.max_abs, "max_ref": o.max_ref, "rel": o.rel()})).collect::<Vec<_>>(),
            })
        });
        let report = json!({
            "model": args.model.display().to_string(),
            "opset": imported.opset,
            "dialect": dialect.name(),
            "prototxt": args.out_prototxt.display().to_string(),
            "caffemodel": args.out_weights.display().to_string(),
            "nodes": nodes,
            "check": check,
            "check_skipped": converted.check_skipped,
        });
        let text = serde_json::to_string_pretty(&report)?;
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        let mut tmp = tempfile::NamedTempFile::new_in(dir).with_context(|| path.display().to_string())?;
        std::io::Write::write_all(&mut tmp, text.as_bytes())?;
        tmp.persist(path).with_context(|| path.display().to_string())?;
    }
    if !quiet {
        let count = |how: How| imported.report.with(how).count();
        println!(
            "{}: {} nodes (opset {}) -> {} Caffe layers [{} dialect]: {} exact, {} exact compositions, {} folded, {} merged, {} removed{}",
            args.model.display(),
            imported.report.nodes.len(),
            imported.opset,
            imported.net.layers().len(),
            dialect,
            count(How::Exact),
            count(How::Composed),
            count(How::Folded),
            count(How::Merged),
            count(How::Removed),
            match count(How::Approximate) {
                0 => String::new(),
                n => format!(", {n} approximate"),
            }
        );
        for n in imported.report.with(How::Approximate) {
            println!(
                "approximate: node '{}' ({}): max |error| {:.1e}: {}",
                n.node,
                n.op_type,
                n.max_error.unwrap_or(f64::NAN),
                n.note
            );
        }
        println!(
            "wrote {} and {}",
            args.out_prototxt.display(),
            args.out_weights.display()
        );
        match (&converted.check, &converted.check_skipped) {
            (Some(c), _) => {
                if let Some(w) = c.worst() {
                    println!(
                        "self-check (tract, seed {}): worst output '{}' max|caffe - onnx| = {:.3e} ({:.2e} x max|onnx|)",
                        c.seed,
                        w.name,
                        w.max_abs,
                        w.rel()
                    );
                }
            }
            (None, Some(why)) => eprintln!("warning: no self-check: {why}"),
            (None, None) => {}
        }
        println!("done in {:.2} s", started.elapsed().as_secs_f64());
    }
    Ok(())
}
