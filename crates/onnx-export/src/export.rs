//! `export`: a graph-ir [`Net`] to an ONNX model, layer by layer in the order
//! Caffe runs them (its automatic Split layers included).
//!
//! Naming: every Caffe blob keeps its name for its final value (what pycaffe's
//! `net.blobs[name]` holds after a forward pass). Earlier values of a blob
//! that in-place layers overwrite get `<blob>.<layer>` (the value after that
//! layer), and Caffe's automatic split copies are not tensors at all, only
//! aliases; [`Export::blobs`] tells which tensor holds each Caffe blob. Graph
//! inputs keep their blob names even when an in-place layer later overwrites
//! them.
//!
//! Weights are borrowed from the net ([`Payloads`]) and spliced in when the
//! model is written, so exporting costs no copy of them; values the export
//! computes (e.g. BatchNorm's unscaled statistics) are owned by the model.

use std::collections::HashMap;
use std::path::Path;

use graph_ir::{Net, Op};

use crate::builder::{Dim, GraphBuilder, ModelOptions};
use crate::error::{Error, Result};
use crate::external::{encode_model_with, write_model_with, WriteOptions, WriteSummary};
use crate::onnx::tensor_proto::DataType;
use crate::onnx::ModelProto;
use crate::ops::{self, LayerCx};
use crate::payloads::Payloads;

/// The lowest opset the layer mappings are written for: Softmax along one
/// axis, Split sizes as an input, ArgMax's `select_last_index` (13).
pub const MIN_EXPORT_OPSET: i64 = 13;

/// The first axis of the graph's inputs and outputs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum BatchDim {
    /// As the net declares it.
    #[default]
    Fixed,
    /// A symbolic dimension (e.g. "N") on every input whose first axis has
    /// the first input's size, and on the outputs that keep it. Layers that
    /// would bake the batch into constants (a Reshape mixing it with other
    /// axes, Slice/Crop/ArgMax along axis 0) are refused.
    Symbolic(String),
}

/// How to export.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// Opset of the default domain (13 or more; default 17).
    pub opset: i64,
    /// Model metadata (`source_model`, ...).
    pub model: ModelOptions,
    /// Record every Caffe blob's type and shape as `value_info`, so ONNX
    /// shape inference (e.g. the checker's full check) can confirm them.
    /// Not written with a symbolic batch (the shapes would not be fixed).
    pub value_info: bool,
    pub batch: BatchDim,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            opset: crate::builder::DEFAULT_OPSET,
            model: ModelOptions::default(),
            value_info: true,
            batch: BatchDim::Fixed,
        }
    }
}

/// A Caffe blob and the ONNX tensor holding its final value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedBlob {
    /// The blob's name in pycaffe's listing (split copies included).
    pub name: String,
    pub tensor: String,
    pub shape: Vec<usize>,
    /// For Caffe's automatic split copies: the blob copied.
    pub split_of: Option<String>,
}

/// An exported net: the model (initializers borrowed from the net are
/// header-only), the borrowed weights, and where each Caffe blob went.
#[derive(Debug)]
pub struct Export<'n> {
    pub model: ModelProto,
    pub payloads: Payloads<'n>,
    /// Every Caffe blob in pycaffe's order.
    pub blobs: Vec<ExportedBlob>,
}

impl Export<'_> {
    /// Writes the model (see [`write_model_with`]): weights go straight from
    /// the net to the file.
    pub fn write(&self, path: &Path, options: &WriteOptions) -> Result<WriteSummary> {
        write_model_with(path, &self.model, &self.payloads, options)
    }

    /// The encoded model, weights included (e.g. to load it in a runtime).
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        encode_model_with(&self.model, &self.payloads, &mut bytes).expect("writing to a Vec cannot fail");
        bytes
    }

    /// A self-contained copy of the model, weights copied in.
    pub fn to_model(&self) -> ModelProto {
        let mut model = self.model.clone();
        self.payloads.fill(&mut model);
        model
    }

    /// The tensor holding Caffe blob `name`'s final value.
    pub fn tensor_of(&self, blob: &str) -> Option<&str> {
        self.blobs.iter().find(|b| b.name == blob).map(|b| b.tensor.as_str())
    }
}

/// Exports `net` (TEST phase as loaded; every blob shape must be known).
pub fn export<'n>(net: &'n Net, options: &ExportOptions) -> Result<Export<'n>> {
    if options.opset < MIN_EXPORT_OPSET {
        return Err(Error::UnsupportedOpset {
            opset: options.opset,
            min: MIN_EXPORT_OPSET,
            max: crate::builder::MAX_OPSET,
        });
    }
    let name = if net.name().is_empty() { "net" } else { net.name() };
    let mut g = GraphBuilder::new(name).with_opset(options.opset)?;
    let blobs = net.blobs()?;
    // Generated names must never take a Caffe blob's name.
    g.reserve(blobs.iter().map(|b| b.name.as_str()));
    let runtime = net.runtime_layers()?;
    let mut last_writer: HashMap<&str, usize> = HashMap::new();
    for (i, rl) in runtime.iter().enumerate() {
        for top in &rl.tops {
            last_writer.insert(top, i);
        }
    }

    // The batch size that becomes symbolic: the first input's first axis.
    let batch = match &options.batch {
        BatchDim::Fixed => None,
        BatchDim::Symbolic(name) => {
            let first = match net.inputs().first() {
                Some(input) => net.blob_shape(input)?.first().copied(),
                None => None,
            };
            first.map(|b| (b, name.clone()))
        }
    };
    let dims_of = |shape: &[usize]| -> Vec<Dim> {
        shape
            .iter()
            .enumerate()
            .map(|(i, &d)| match &batch {
                Some((b, name)) if i == 0 && d == *b => Dim::Param(name.clone()),
                _ => Dim::Fixed(d),
            })
            .collect()
    };

    let mut payloads = Payloads::new();
    // Caffe blob name -> the tensor holding its current value.
    let mut current: HashMap<String, String> = HashMap::new();
    for (ri, rl) in runtime.iter().enumerate() {
        let Some(li) = rl.layer_index else {
            // An automatic split: its copies are the value they copy.
            let source = lookup(&current, &rl.bottoms[0], &rl.name)?.to_string();
            for top in &rl.tops {
                current.insert(top.clone(), source.clone());
            }
            continue;
        };
        let layer = &net.layers()[li];
        let inputs = rl
            .bottoms
            .iter()
            .map(|b| lookup(&current, b, &rl.name).map(str::to_string))
            .collect::<Result<Vec<_>>>()?;
        let in_shapes = rl
            .bottoms
            .iter()
            .map(|b| Ok(net.blob_shape(b)?.to_vec()))
            .collect::<Result<Vec<_>>>()?;
        let out_shapes = rl
            .tops
            .iter()
            .map(|t| Ok(net.blob_shape(t)?.to_vec()))
            .collect::<Result<Vec<_>>>()?;
        let outputs: Vec<String> = rl
            .tops
            .iter()
            .map(|top| {
                if last_writer.get(top.as_str()) == Some(&ri) && !g.is_defined(top) {
                    top.clone()
                } else {
                    g.fresh_name(&format!("{top}.{}", rl.name))
                }
            })
            .collect();
        if matches!(layer.op(), Op::Input(_) | Op::Data(_)) {
            // Graph inputs keep their blob names, whoever overwrites them later.
            for (top, shape) in rl.tops.iter().zip(&out_shapes) {
                g.add_input(top, &dims_of(shape))?;
                current.insert(top.clone(), top.clone());
            }
            continue;
        }
        let mut cx = LayerCx {
            g: &mut g,
            payloads: &mut payloads,
            layer,
            inputs,
            in_shapes,
            out_shapes,
            outputs,
            batch: batch.as_ref().map(|(b, _)| *b),
        };
        ops::export_layer(&mut cx)?;
        let outputs = cx.outputs;
        for (top, tensor) in rl.tops.iter().zip(outputs) {
            current.insert(top.clone(), tensor);
        }
    }

    // Graph outputs: the blobs no layer reads, under their own names where
    // the final value has it (an Identity gives it otherwise).
    for out in net.outputs()? {
        let mut tensor = lookup(&current, &out, "the graph outputs")?.to_string();
        if tensor != out && !g.is_defined(&out) {
            g.add_node("Identity", &out, &[&tensor], &[&out], vec![])?;
            current.insert(out.clone(), out.clone());
            tensor = out.clone();
        }
        let dims = dims_of(net.blob_shape(&out)?);
        g.add_output(&tensor, Some(&dims))?;
    }

    let exported: Vec<ExportedBlob> = blobs
        .into_iter()
        .map(|b| {
            let tensor = lookup(&current, &b.name, "the blob table")?.to_string();
            Ok(ExportedBlob {
                name: b.name,
                tensor,
                shape: b.shape,
                split_of: b.split_of,
            })
        })
        .collect::<Result<_>>()?;
    if options.value_info && batch.is_none() {
        let outputs: std::collections::HashSet<String> = net.outputs()?.into_iter().collect();
        let inputs: std::collections::HashSet<&str> = net.inputs().into_iter().collect();
        let mut seen = std::collections::HashSet::new();
        for b in &exported {
            let is_io = outputs.contains(&b.tensor) || inputs.contains(b.tensor.as_str());
            if !is_io && seen.insert(b.tensor.clone()) {
                let dims: Vec<Dim> = b.shape.iter().map(|&d| Dim::Fixed(d)).collect();
                g.add_value_info(&b.tensor, DataType::Float, Some(&dims));
            }
        }
    }
    let model = g.into_model(&options.model)?;
    Ok(Export {
        model,
        payloads,
        blobs: exported,
    })
}

fn lookup<'c>(current: &'c HashMap<String, String>, blob: &str, reader: &str) -> Result<&'c str> {
    current.get(blob).map(String::as_str).ok_or_else(|| Error::Unsupported {
        layer: reader.to_string(),
        type_name: String::new(),
        message: format!("reads blob '{blob}', which no earlier layer produces"),
    })
}
