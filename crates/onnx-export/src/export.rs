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
//!
//! Symbolic sizes ([`BatchDim::Symbolic`], [`SpatialDims::Symbolic`]): the
//! walk tracks, per tensor, which axes follow a symbolic input size, and each
//! layer mapping either computes from the runtime shape or refuses (a typed
//! [`Error::Unsupported`] naming the layer) where it would have to bake a
//! size into a constant, e.g. an InnerProduct whose weights fix its input
//! size.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use graph_ir::registry::AxisFlow;
use graph_ir::Net;

use crate::builder::{Dim, GraphBuilder, ModelOptions};
use crate::error::{Error, Result};
use crate::external::{encode_model_with, write_model_with, WriteOptions, WriteSummary};
use crate::lowering::Lowerings;
use crate::onnx::tensor_proto::DataType;
use crate::onnx::ModelProto;
use crate::ops::LayerCx;
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

/// The height and width (axes 2 and 3) of 4-D graph inputs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SpatialDims {
    /// As the net declares them.
    #[default]
    Fixed,
    /// Symbolic on every 4-D input: "H" and "W" on the inputs whose height
    /// and width are the first 4-D input's, `<input>_H` and `<input>_W` on
    /// the others. One export then runs at any size the layers allow (a
    /// fully convolutional net: any size); layers that would bake a size in
    /// (InnerProduct, Reshape, Slice along H or W, ...) are refused.
    Symbolic,
    /// Symbolic on these inputs only, under these names.
    Inputs(Vec<SymbolicInput>),
}

/// One input's symbolic height and width (see [`SpatialDims::Inputs`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolicInput {
    /// The input blob.
    pub input: String,
    /// `dim_param` of axis 2.
    pub height: String,
    /// `dim_param` of axis 3.
    pub width: String,
}

impl SymbolicInput {
    pub fn new(input: &str, height: &str, width: &str) -> Self {
        SymbolicInput {
            input: input.to_string(),
            height: height.to_string(),
            width: width.to_string(),
        }
    }
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
    /// Not written with a symbolic batch or spatial size (the shapes would
    /// not be fixed).
    pub value_info: bool,
    pub batch: BatchDim,
    /// Symbolic height and width, e.g. to run one fully convolutional
    /// export at any image size (see [`SpatialDims`]).
    pub spatial: SpatialDims,
    /// The ONNX lowering of each op type (default: the built-ins); a program
    /// that registers a layer type adds its lowering here.
    pub lowerings: Arc<Lowerings>,
    /// The blobs to output (their final values), and nothing that they do
    /// not need: the layers they do not depend on are left out, so a net can
    /// be cut before a layer that cannot be exported. `None`: the net's own
    /// outputs (the blobs no layer reads), and the blobs that only Silence
    /// layers read.
    pub outputs: Option<Vec<String>>,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            opset: crate::builder::DEFAULT_OPSET,
            model: ModelOptions::default(),
            value_info: true,
            batch: BatchDim::Fixed,
            spatial: SpatialDims::Fixed,
            lowerings: Lowerings::builtin(),
            outputs: None,
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
    /// Every Caffe blob in pycaffe's order (with explicit outputs, those the
    /// outputs need).
    pub blobs: Vec<ExportedBlob>,
    /// Outputs that Caffe would not report because a Silence layer reads
    /// them (Caffe's own demos read such a blob; the export outputs it).
    pub silenced: Vec<String>,
}

impl Export<'_> {
    /// Writes the model (see [`write_model_with`]): weights go straight from
    /// the net to the file.
    pub fn write(&self, path: impl AsRef<Path>, options: &WriteOptions) -> Result<WriteSummary> {
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

    /// The distinct tensors holding the net's blobs, in blob order: an
    /// in-place chain writes one blob name several times but its final value
    /// is one tensor. These are the names to ask a runtime for to see every
    /// blob.
    pub fn tensors(&self) -> Vec<&str> {
        let mut seen = std::collections::HashSet::new();
        self.blobs
            .iter()
            .map(|b| b.tensor.as_str())
            .filter(|t| seen.insert(*t))
            .collect()
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
    let listed = net.list_blobs()?;
    // Generated names must never take a Caffe blob's name.
    g.reserve(listed.iter().map(|b| b.name.as_str()));
    let runtime = net.runtime_layers()?;
    let (outputs, silenced) = graph_outputs(net, &runtime, &listed, options.outputs.as_deref())?;
    let needed = needed_layers(&runtime, &outputs);
    // Every blob the export computes must have a known shape (without
    // explicit outputs: every blob of the net, as before).
    let blobs: Vec<graph_ir::BlobInfo> = if options.outputs.is_none() {
        net.blobs()?
    } else {
        let computed: std::collections::HashSet<&str> = runtime
            .iter()
            .zip(&needed)
            .filter(|(_, &n)| n)
            .flat_map(|(rl, _)| rl.tops.iter().map(String::as_str))
            .collect();
        listed
            .iter()
            .filter(|b| computed.contains(b.name.as_str()))
            .map(|b| {
                Ok(graph_ir::BlobInfo {
                    name: b.name.clone(),
                    shape: net.blob_shape(b.split_of.as_deref().unwrap_or(&b.name))?.to_vec(),
                    split_of: b.split_of.clone(),
                })
            })
            .collect::<Result<_>>()?
    };
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
    // Graph input/output dims: the batch's name on a batched first axis, the
    // spatial names on symbolic input axes, unknown on other symbolic axes
    // (an output's size is a function of H and W that ONNX cannot name).
    let dims_of = |shape: &[usize], free: &[bool], names: Option<&[String; 2]>| -> Vec<Dim> {
        shape
            .iter()
            .enumerate()
            .map(|(i, &d)| match &batch {
                Some((b, name)) if i == 0 && d == *b => Dim::Param(name.clone()),
                _ if free.get(i) == Some(&true) => match names {
                    Some(names) if i >= 2 => Dim::Param(names[i - 2].clone()),
                    _ => Dim::Unknown,
                },
                _ => Dim::Fixed(d),
            })
            .collect()
    };
    let spatial_names = symbolic_inputs(net, &options.spatial)?;
    // Tensor name -> which of its axes follow a symbolic input size; tensors
    // not listed have none.
    let mut free: HashMap<String, Vec<bool>> = HashMap::new();
    let free_of = |free: &HashMap<String, Vec<bool>>, tensor: &str, ndim: usize| -> Vec<bool> {
        free.get(tensor).cloned().unwrap_or_else(|| vec![false; ndim])
    };

    let mut payloads = Payloads::new();
    // Caffe blob name -> the tensor holding its current value.
    let mut current: HashMap<String, String> = HashMap::new();
    for (ri, rl) in runtime.iter().enumerate() {
        if !needed[ri] {
            continue;
        }
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
        if layer.op().is_net_input() {
            // Graph inputs keep their blob names, whoever overwrites them later.
            for (top, shape) in rl.tops.iter().zip(&out_shapes) {
                let names = spatial_names.get(top.as_str());
                let flags: Vec<bool> = (0..shape.len()).map(|a| names.is_some() && a >= 2).collect();
                g.add_input(top, &dims_of(shape, &flags, names))?;
                if names.is_some() {
                    free.insert(top.clone(), flags);
                }
                current.insert(top.clone(), top.clone());
            }
            continue;
        }
        let in_free: Vec<Vec<bool>> = inputs
            .iter()
            .zip(&in_shapes)
            .map(|(t, s)| free_of(&free, t, s.len()))
            .collect();
        let out_free = symbolic_axes(layer, &in_free, &in_shapes, &out_shapes)?;
        let mut cx = LayerCx {
            g: &mut g,
            payloads: &mut payloads,
            layer,
            inputs,
            in_shapes,
            out_shapes,
            outputs,
            batch: batch.as_ref().map(|(b, _)| *b),
            in_free,
            out_free,
        };
        options.lowerings.lower(&mut cx)?;
        let (outputs, out_free) = (cx.outputs, cx.out_free);
        for ((top, tensor), flags) in rl.tops.iter().zip(outputs).zip(out_free) {
            if flags.contains(&true) {
                free.insert(tensor.clone(), flags);
            }
            current.insert(top.clone(), tensor);
        }
    }

    // Graph outputs, under their own names where the final value has it (an
    // Identity gives it otherwise).
    for out in outputs.iter().cloned() {
        let mut tensor = lookup(&current, &out, "the graph outputs")?.to_string();
        if tensor != out && !g.is_defined(&out) {
            g.add_node("Identity", &out, &[&tensor], &[&out], vec![])?;
            current.insert(out.clone(), out.clone());
            tensor = out.clone();
        }
        let shape = net.blob_shape(&out)?;
        let dims = dims_of(
            shape,
            &free_of(&free, &tensor, shape.len()),
            spatial_names.get(tensor.as_str()),
        );
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
    if options.value_info && batch.is_none() && spatial_names.is_empty() {
        let output_set: std::collections::HashSet<&String> = outputs.iter().collect();
        let inputs: std::collections::HashSet<&str> = net.inputs().into_iter().collect();
        let mut seen = std::collections::HashSet::new();
        for b in &exported {
            let is_io = output_set.contains(&b.tensor) || inputs.contains(b.tensor.as_str());
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
        silenced,
    })
}

/// The graph outputs and, of them, the blobs only Silence layers read. An
/// explicit list must name blobs of the net; an export is never without
/// outputs.
fn graph_outputs(
    net: &Net,
    runtime: &[graph_ir::RuntimeLayer],
    listed: &[graph_ir::ListedBlob],
    explicit: Option<&[String]>,
) -> Result<(Vec<String>, Vec<String>)> {
    if let Some(explicit) = explicit {
        let names: Vec<&str> = listed.iter().map(|b| b.name.as_str()).collect();
        for out in explicit {
            if !names.contains(&out.as_str()) {
                let hint = match graph_ir::names::closest(out, names.iter().copied()) {
                    Some(close) => format!("; did you mean '{close}'?"),
                    None => format!(
                        " (its blobs: {}{})",
                        names
                            .iter()
                            .take(12)
                            .map(|n| format!("'{n}'"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        if names.len() > 12 { ", ..." } else { "" }
                    ),
                };
                return Err(Error::Options {
                    message: format!("output '{out}' is not a blob of the net{hint}"),
                });
            }
        }
        if explicit.is_empty() {
            return Err(Error::Options {
                message: "no outputs were asked for; an ONNX model needs at least one".into(),
            });
        }
        let mut unique = Vec::new();
        for out in explicit {
            if !unique.contains(out) {
                unique.push(out.clone());
            }
        }
        return Ok((unique, Vec::new()));
    }
    let mut outputs = net.outputs()?;
    // A blob that only Silence layers read (not a split copy: that would
    // mean another layer reads it too) is what Caffe's demos fetch.
    let mut silenced = Vec::new();
    for rl in runtime {
        let is_silence = rl
            .layer_index
            .is_some_and(|i| net.layers()[i].op().is::<graph_ir::ops::Silence>());
        if is_silence {
            for b in &rl.bottoms {
                let copy = listed.iter().any(|l| &l.name == b && l.split_of.is_some());
                if !copy && !outputs.contains(b) && !silenced.contains(b) {
                    silenced.push(b.clone());
                }
            }
        }
    }
    outputs.extend(silenced.iter().cloned());
    if outputs.is_empty() {
        return Err(Error::Options {
            message: "the net has no outputs (every blob is read by a layer); name the blobs to output \
                      (convert --outputs, or ExportOptions::outputs)"
                .into(),
        });
    }
    Ok((outputs, silenced))
}

/// Which runtime layers the outputs need: walking back from the outputs'
/// final values, a layer is needed when it writes a blob still needed; its
/// bottoms then are. In-place layers keep their blob needed.
fn needed_layers(runtime: &[graph_ir::RuntimeLayer], outputs: &[String]) -> Vec<bool> {
    let mut wanted: std::collections::HashSet<&str> = outputs.iter().map(String::as_str).collect();
    let mut needed = vec![false; runtime.len()];
    for (i, rl) in runtime.iter().enumerate().rev() {
        if rl.tops.iter().any(|t| wanted.contains(t.as_str())) {
            needed[i] = true;
            for t in &rl.tops {
                wanted.remove(t.as_str());
            }
            wanted.extend(rl.bottoms.iter().map(String::as_str));
        }
    }
    needed
}

/// Input blob -> its symbolic (height, width) names, per `spatial`.
fn symbolic_inputs<'n>(net: &'n Net, spatial: &SpatialDims) -> Result<HashMap<&'n str, [String; 2]>> {
    let mut names = HashMap::new();
    let four_d = net
        .inputs()
        .into_iter()
        .map(|i| Ok((i, net.blob_shape(i)?)))
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .filter(|(_, s)| s.len() == 4)
        .collect::<Vec<_>>();
    match spatial {
        SpatialDims::Fixed => {}
        SpatialDims::Symbolic => {
            if let Some(&(_, first)) = four_d.first() {
                for &(input, shape) in &four_d {
                    let pair = if shape[2..] == first[2..] {
                        ["H".to_string(), "W".to_string()]
                    } else {
                        [format!("{input}_H"), format!("{input}_W")]
                    };
                    names.insert(input, pair);
                }
            }
        }
        SpatialDims::Inputs(list) => {
            for s in list {
                let Some(&(input, _)) = four_d.iter().find(|(i, _)| *i == s.input) else {
                    let known: Vec<&str> = four_d.iter().map(|(i, _)| *i).collect();
                    return Err(Error::Options {
                        message: format!(
                            "symbolic spatial dims for '{}', which is not a 4-D input of the net (4-D inputs: {known:?})",
                            s.input
                        ),
                    });
                };
                names.insert(input, [s.height.clone(), s.width.clone()]);
            }
        }
    }
    Ok(names)
}

fn lookup<'c>(current: &'c HashMap<String, String>, blob: &str, reader: &str) -> Result<&'c str> {
    current.get(blob).map(String::as_str).ok_or_else(|| Error::Unsupported {
        layer: reader.to_string(),
        type_name: String::new(),
        message: format!("reads blob '{blob}', which no earlier layer produces"),
    })
}

/// Which axes of each top follow a symbolic size of the graph inputs, as the
/// layer's op says; a layer whose op does not say is refused when any of its
/// bottom axes is symbolic (its nodes would bake in the export-time size).
fn symbolic_axes(
    layer: &graph_ir::Layer,
    in_free: &[Vec<bool>],
    in_shapes: &[Vec<usize>],
    out_shapes: &[Vec<usize>],
) -> Result<Vec<Vec<bool>>> {
    let flow = AxisFlow {
        in_free,
        in_shapes,
        out_shapes,
    };
    if !in_free.iter().any(|f| f.contains(&true)) {
        return Ok(flow.fixed());
    }
    layer.op().symbolic_axes(&flow).ok_or_else(|| Error::Unsupported {
        layer: layer.name().to_string(),
        type_name: layer.type_name().to_string(),
        message: "its bottoms have symbolic axes, but the layer type does not say how its tops follow them \
                  (LayerOp::symbolic_axes); export with a fixed batch and fixed spatial dims"
            .to_string(),
    })
}
