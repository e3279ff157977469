//! `netsurgeon convert`: a Caffe model to ONNX, with the tutorial's surgery
//! (fc-to-conv) and clean-ups (fold BatchNorm, drop Dropout) applied first.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use netsurgeon::graph_ir::passes;
use netsurgeon::onnx_export::{export, BatchDim, ExportOptions, ExternalData, ModelOptions, SpatialDims, WriteOptions};

use crate::common::{check_output, load_net, InputSpec};

#[derive(Args)]
#[command(after_help = "Examples:
  netsurgeon convert deploy.prototxt --weights model.caffemodel -o model.onnx
  netsurgeon convert deploy.prototxt --weights caffenet.caffemodel --fc-to-conv \\
      --input data=1,3,451,451 -o caffenet_full_conv.onnx
  netsurgeon convert deploy.prototxt --weights model.caffemodel --fold-bn --dynamic-batch -o model.onnx
  netsurgeon convert deploy.prototxt --weights caffenet.caffemodel --fc-to-conv --dynamic-spatial -o any_size.onnx
  netsurgeon convert full_conv.prototxt --weights full_conv.caffemodel --split-large-conv -o for_tract.onnx")]
pub struct ConvertArgs {
    /// The net definition (.prototxt).
    pub prototxt: PathBuf,
    /// Trained weights (.caffemodel); without them params hold their fillers' constants.
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// The ONNX file to write.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Give an input blob a shape, e.g. data=1,3,227,227 (repeatable).
    #[arg(long = "input", value_name = "NAME=DIMS")]
    pub inputs: Vec<InputSpec>,
    /// Cast InnerProduct layers to Convolutions first (the tutorial's fully convolutional net).
    #[arg(long)]
    pub fc_to_conv: bool,
    /// Suffix for layers cast by --fc-to-conv.
    #[arg(long, default_value = "-conv", requires = "fc_to_conv")]
    pub suffix: String,
    /// Fold BatchNorm (and the Scale after it) into the preceding Convolution/InnerProduct.
    #[arg(long)]
    pub fold_bn: bool,
    /// Remove Dropout layers (the identity at test time).
    #[arg(long)]
    pub remove_dropout: bool,
    /// Split convolutions whose reduction (input channels x kernel size) exceeds
    /// --split-max-k into parts over channel ranges summed by an Eltwise: the same
    /// result up to float rounding, and faster in tract (whose matrix products
    /// re-read the weights of long reductions). Not needed for onnxruntime.
    #[arg(long)]
    pub split_large_conv: bool,
    /// The longest reduction --split-large-conv leaves whole.
    #[arg(long, default_value_t = passes::split_conv::DEFAULT_MAX_K, requires = "split_large_conv")]
    pub split_max_k: usize,
    /// Make the batch dimension symbolic ("N").
    #[arg(long)]
    pub dynamic_batch: bool,
    /// Make image height and width symbolic ("H", "W"): one fully convolutional
    /// model for any image size (layers that fix a size, e.g. InnerProduct, are refused).
    #[arg(long)]
    pub dynamic_spatial: bool,
    /// ONNX opset (13 or more).
    #[arg(long, default_value_t = netsurgeon::onnx_export::DEFAULT_OPSET)]
    pub opset: i64,
    /// Write the weights to a side file (<output>.data), as ONNX external data.
    #[arg(long)]
    pub external_data: bool,
    /// The blobs to output, e.g. --outputs conv5_3,rpn_cls_prob (repeatable): the export
    /// holds what they need and nothing else, so a net can be cut before a layer that cannot
    /// be exported. Default: the blobs no layer reads, and those only Silence layers read.
    #[arg(long = "outputs", value_name = "BLOB[,BLOB...]", value_delimiter = ',')]
    pub outputs: Vec<String>,
    /// Overwrite an existing output file.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &ConvertArgs, quiet: bool) -> Result<()> {
    let mut inputs = vec![args.prototxt.as_path()];
    inputs.extend(args.weights.as_deref());
    check_output(&args.output, &inputs, args.force)?;
    let mut net = load_net(&args.prototxt, args.weights.as_ref(), &[])?;
    let has_params = net.layers().iter().any(|l| !l.params().is_empty());
    if args.weights.is_none() && has_params && !quiet {
        eprintln!("warning: no --weights: params hold their fillers' constant values (random fillers give 0)");
    }
    if args.fc_to_conv {
        let options = passes::FcToConvOptions {
            suffix: args.suffix.clone(),
            layers: None,
        };
        for c in passes::fc_to_conv(&mut net, &options)? {
            if !quiet {
                println!("cast {} -> {} (kernel {:?})", c.old_name, c.new_name, c.kernel);
            }
        }
    }
    for spec in &args.inputs {
        net.reshape_input(&spec.name, &spec.dims)
            .with_context(|| format!("--input {}={:?}", spec.name, spec.dims))?;
    }
    if args.fold_bn {
        for f in passes::fold_batchnorm(&mut net)? {
            if !quiet {
                let scale = f.scale.map(|s| format!(" + {s}")).unwrap_or_default();
                println!("folded {}{scale} into {}", f.batch_norm, f.into);
            }
        }
    }
    if args.remove_dropout {
        let removed = passes::remove_dropout(&mut net)?;
        if !quiet && !removed.removed.is_empty() {
            println!("removed dropout {}", removed.removed.join(", "));
        }
    }
    if args.split_large_conv {
        let options = passes::SplitConvOptions {
            max_k: args.split_max_k,
            ..Default::default()
        };
        for s in passes::split_large_conv(&mut net, &options)? {
            if !quiet {
                println!("split {} (K {}) into {} parts", s.name, s.k, s.channels.len());
            }
        }
    }
    let source = args.prototxt.file_name().map(|n| n.to_string_lossy().into_owned());
    let options = ExportOptions {
        opset: args.opset,
        model: ModelOptions {
            source_model: source,
            ..Default::default()
        },
        batch: if args.dynamic_batch {
            BatchDim::Symbolic("N".into())
        } else {
            BatchDim::Fixed
        },
        spatial: if args.dynamic_spatial {
            SpatialDims::Symbolic
        } else {
            SpatialDims::Fixed
        },
        outputs: (!args.outputs.is_empty()).then(|| args.outputs.clone()),
        ..Default::default()
    };
    let exported = export(&net, &options)?;
    if !quiet {
        for blob in &exported.silenced {
            eprintln!(
                "note: blob '{blob}' is read only by a Silence layer, so Caffe would not report it; it is an \
                 output of the export (as Caffe's own demos read it)"
            );
        }
    }
    let write = WriteOptions {
        external: if args.external_data {
            ExternalData::Always { threshold: 1024 }
        } else {
            ExternalData::Auto
        },
        location: None,
    };
    let bar = crate::common::spinner(
        format!("writing {}", args.output.display()),
        crate::common::param_bytes(&net),
    );
    let summary = exported.write(&args.output, &write)?;
    bar.finish_and_clear();
    if !quiet {
        let graph = exported.model.graph.as_ref();
        for input in graph.map(|g| g.input.as_slice()).unwrap_or_default() {
            println!("input  {} {}", input.name(), onnx_dims(input));
        }
        for output in graph.map(|g| g.output.as_slice()).unwrap_or_default() {
            println!("output {} {}", output.name(), onnx_dims(output));
        }
        println!(
            "wrote {} ({:.1} MB, opset {})",
            summary.model_path.display(),
            summary.model_bytes as f64 / 1e6,
            args.opset
        );
        if let Some(ext) = &summary.external {
            println!(
                "wrote {} ({} tensors, {:.1} MB)",
                ext.path.display(),
                ext.tensors,
                ext.bytes as f64 / 1e6
            );
        }
    }
    Ok(())
}

/// A graph input's or output's dims as `(1, 3, 227, 227)`; a named
/// symbolic dim by its name, one of no fixed size as `?`.
fn onnx_dims(value: &netsurgeon::onnx_export::onnx::ValueInfoProto) -> String {
    use netsurgeon::onnx_export::onnx::{tensor_shape_proto::dimension::Value, type_proto::Value as Type};
    let dims: Vec<String> = match value.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(Type::TensorType(t)) => t
            .shape
            .as_ref()
            .map(|s| {
                s.dim
                    .iter()
                    .map(|d| match &d.value {
                        Some(Value::DimValue(v)) => v.to_string(),
                        Some(Value::DimParam(p)) => p.clone(),
                        None => "?".to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    format!("({})", dims.join(", "))
}
