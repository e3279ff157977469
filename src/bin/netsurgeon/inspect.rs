//! `netsurgeon inspect`: blobs and params with their shapes, as pycaffe's
//! `net.blobs` and `net.params` list them; `--stats` proves the weights were
//! decoded; `--json` for scripts.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use serde::Serialize;

use crate::common::{format_shape, load_net, InputSpec};

#[derive(Args)]
#[command(after_help = "Examples:
  netsurgeon inspect deploy.prototxt
  netsurgeon inspect deploy.prototxt --weights model.caffemodel --stats
  netsurgeon inspect deploy.prototxt --input data=1,3,451,451 --json")]
pub struct InspectArgs {
    /// The net definition (.prototxt).
    pub prototxt: PathBuf,
    /// Trained weights (.caffemodel); without them params have only shapes.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// Give an input blob a shape first, e.g. data=1,3,227,227 (repeatable).
    #[arg(long = "input", value_name = "NAME=DIMS")]
    pub inputs: Vec<InputSpec>,
    /// Add min/max/mean/std of every param blob.
    #[arg(long)]
    pub stats: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Serialize)]
struct Report {
    blobs: Vec<BlobEntry>,
    params: Vec<ParamEntry>,
    /// Layers of types netsurgeon does not model.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    custom_layers: Vec<CustomLayer>,
    /// Fields that BVLC Caffe's schema lacks, kept as read (fork dialects).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    kept_fields: Vec<KeptEntry>,
    /// The dialects besides BVLC's that the net is written in, with the layers showing them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    dialects: Vec<DialectEntry>,
}

#[derive(Serialize)]
struct DialectEntry {
    dialect: &'static str,
    /// `layer: what` (a field or a layer type).
    evidence: Vec<String>,
}

#[derive(Serialize)]
struct KeptEntry {
    layer: String,
    #[serde(rename = "type")]
    type_name: String,
    /// Its path from the layer, e.g. `pooling_param.ceil_mode`.
    field: String,
    /// As written in the prototxt (absent for a field read from a binary file).
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
}

#[derive(Serialize)]
struct BlobEntry {
    name: String,
    /// None (JSON null) when the shape cannot be known (see the notes).
    shape: Option<Vec<usize>>,
}

#[derive(Serialize)]
struct CustomLayer {
    name: String,
    #[serde(rename = "type")]
    type_name: String,
}

#[derive(Serialize)]
struct ParamEntry {
    layer: String,
    shapes: Vec<Vec<usize>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stats: Option<Vec<Stats>>,
}

#[derive(Serialize, Clone, Copy)]
struct Stats {
    min: f32,
    max: f32,
    mean: f64,
    std: f64,
}

/// One read of the param's memory (see `netsurgeon::stats`): min, max, and an f64 mean and
/// population std that stay exact to the printed digits even for a large mean.
fn stats(values: &ndarray::ArrayD<f32>) -> Stats {
    let s = netsurgeon::stats::array_stats(values);
    Stats {
        min: s.min,
        max: s.max,
        mean: s.mean,
        std: s.std,
    }
}

pub fn run(args: &InspectArgs) -> Result<()> {
    let net = load_net(&args.prototxt, args.weights.as_ref(), &args.inputs)?;
    let report = Report {
        blobs: net
            .list_blobs()?
            .into_iter()
            .map(|b| BlobEntry {
                name: b.name,
                shape: b.shape,
            })
            .collect(),
        custom_layers: net
            .custom_layers()
            .into_iter()
            .map(|(name, type_name)| CustomLayer {
                name: name.to_string(),
                type_name: type_name.to_string(),
            })
            .collect(),
        kept_fields: net
            .layers()
            .iter()
            .flat_map(|l| {
                l.kept_fields().iter().map(|k| KeptEntry {
                    layer: l.name().to_string(),
                    type_name: l.type_name().to_string(),
                    field: k.path(),
                    text: k.text.clone(),
                })
            })
            .collect(),
        dialects: graph_ir::caffe_io::dialect::detect(&net.to_proto())
            .into_iter()
            .map(|u| DialectEntry {
                dialect: u.dialect.name(),
                evidence: u.evidence.into_iter().map(|(l, w)| format!("{l}: {w}")).collect(),
            })
            .collect(),
        params: net
            .params()
            .into_iter()
            .map(|(layer, params)| ParamEntry {
                layer: layer.to_string(),
                shapes: params.iter().map(|p| p.shape().to_vec()).collect(),
                stats: args.stats.then(|| params.iter().map(stats).collect()),
            })
            .collect(),
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    println!("blobs");
    for b in &report.blobs {
        let shape = b.shape.as_deref().map_or_else(|| "(unknown)".to_string(), format_shape);
        println!("  {} {shape}", b.name);
    }
    println!("params");
    for p in &report.params {
        let shapes: Vec<String> = p.shapes.iter().map(|s| format_shape(s)).collect();
        println!("  {} {}", p.layer, shapes.join(" "));
        for (i, s) in p.stats.iter().flatten().enumerate() {
            println!(
                "    [{i}] min {:.6} max {:.6} mean {:.6} std {:.6}",
                s.min, s.max, s.mean, s.std
            );
        }
    }
    if !report.dialects.is_empty() {
        println!("dialects besides BVLC's");
        for d in &report.dialects {
            let more = d.evidence.len().saturating_sub(3);
            let shown = d.evidence.iter().take(3).cloned().collect::<Vec<_>>().join("; ");
            let more = if more > 0 {
                format!("; {more} more")
            } else {
                String::new()
            };
            println!("  {} ({shown}{more})", d.dialect);
        }
    }
    if !report.custom_layers.is_empty() {
        println!("layers netsurgeon does not model (kept and saved as they are)");
        for l in &report.custom_layers {
            println!("  {} {}", l.name, l.type_name);
        }
    }
    if !report.kept_fields.is_empty() {
        println!("fields outside BVLC Caffe's schema (kept as read, written back on save)");
        for k in &report.kept_fields {
            let text = k.text.as_deref().unwrap_or("(from a binary file)");
            let mut lines = text.lines();
            println!("  {} ({}): {}", k.layer, k.type_name, lines.next().unwrap_or(""));
            for line in lines {
                println!("    {line}");
            }
        }
    }
    // Why shapes are unknown, once per cause (a custom layer, a database-backed input).
    let mut told = Vec::new();
    for b in report.blobs.iter().filter(|b| b.shape.is_none()) {
        if let Err(why) = net.blob_shape(&b.name) {
            let cause = match &why {
                graph_ir::Error::UnsupportedLayer { layer, .. } | graph_ir::Error::UnknownShape { layer, .. } => {
                    layer.clone()
                }
                other => other.to_string(),
            };
            if !told.contains(&cause) {
                eprintln!("note: {why}");
                told.push(cause);
            }
        }
    }
    Ok(())
}
