//! The driver: reads the graph (opset, initializers, inputs with static
//! shapes), maps or folds every node in graph order, names the outputs, and
//! builds the graph-ir net, whose Caffe shape inference must agree with the
//! ONNX shapes blob by blob.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use caffe_io::proto::{BlobShape, InputParameter, NetParameter};
use graph_ir::{LoadOptions, Net};
use onnx_export::onnx::{tensor_shape_proto::dimension, type_proto, ModelProto, NodeProto, ValueInfoProto};

use crate::constant;
use crate::cx::{sanitize, Blob, Cx, Value};
use crate::dialect::Dialect;
use crate::error::{Error, OpError, Refusal, Refusals, Result};
use crate::fold;
use crate::node::Node;
use crate::registry::OnnxOpRegister;
use crate::report::{How, NodeReport, Report};

/// The opsets of the default domain the importer reads.
pub const OPSETS: std::ops::RangeInclusive<i64> = 7..=21;

/// How a model is imported.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The Caffe the net is written for.
    pub dialect: Dialect,
    /// Shapes for graph inputs (replacing or completing the model's own,
    /// e.g. a symbolic batch): (input name, dims).
    pub input_shapes: Vec<(String, Vec<usize>)>,
    /// The op mappings (default: the built-ins).
    pub ops: Arc<OnnxOpRegister>,
    /// Write approximations where no exact form exists (each reported with
    /// its measured error, `How::Approximate`); default false: refused.
    pub allow_approximate: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            dialect: Dialect::default(),
            input_shapes: Vec::new(),
            ops: Arc::new(OnnxOpRegister::builtin()),
            allow_approximate: false,
        }
    }
}

/// An imported model: the Caffe net (with its weights) and what became of
/// each node.
#[derive(Debug)]
pub struct Imported {
    pub net: Net,
    pub report: Report,
    /// The graph inputs: Caffe blob name and shape.
    pub inputs: Vec<(String, Vec<usize>)>,
    /// The graph outputs' Caffe blob names (their ONNX names, sanitized).
    pub outputs: Vec<String>,
    /// The opset of the model's default domain.
    pub opset: i64,
    /// Every graph input (not an initializer): ONNX name and shape.
    pub graph_inputs: Vec<(String, Vec<usize>)>,
    /// Graph inputs the Caffe net does not have: nothing reads their values
    /// (only their shapes were read, and folded at import).
    pub dropped_inputs: Vec<String>,
}

impl Imported {
    /// Writes the prototxt and the caffemodel (each atomically; if the
    /// second fails, the first is removed, so that no half-pair is left).
    pub fn save(&self, prototxt: &Path, caffemodel: &Path) -> Result<()> {
        caffe_io::write_prototxt(prototxt, &self.net.to_proto()).map_err(graph_ir::Error::from)?;
        if let Err(e) = self.net.save_weights(caffemodel) {
            let _ = std::fs::remove_file(prototxt);
            return Err(e.into());
        }
        Ok(())
    }
}

/// Reads an ONNX file (external data included) and imports it.
pub fn import_file(path: impl AsRef<Path>, options: &ImportOptions) -> Result<Imported> {
    let path = path.as_ref();
    let model = onnx_export::read_model(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source: Box::new(source),
    })?;
    import(&model, options)
}

fn static_dims(info: &ValueInfoProto) -> std::result::Result<Vec<usize>, String> {
    let Some(type_proto::Value::TensorType(t)) = info.r#type.as_ref().and_then(|t| t.value.as_ref()) else {
        return Err("is not a tensor".into());
    };
    if t.elem_type() != 1 {
        return Err(format!(
            "has element type {}; Caffe blobs are float (FLOAT, 1)",
            t.elem_type()
        ));
    }
    let Some(shape) = &t.shape else {
        return Err("has no shape; give one with --input NAME=DIMS".into());
    };
    shape
        .dim
        .iter()
        .map(|d| match &d.value {
            Some(dimension::Value::DimValue(v)) if *v > 0 => Ok(*v as usize),
            Some(dimension::Value::DimParam(p)) => Err(format!(
                "has the symbolic dim '{p}'; fix it with --input {}=DIMS",
                info.name()
            )),
            _ => Err(format!("has an unknown dim; fix it with --input {}=DIMS", info.name())),
        })
        .collect()
}

/// Imports a decoded ONNX model.
pub fn import(model: &ModelProto, options: &ImportOptions) -> Result<Imported> {
    let opset = model
        .opset_import
        .iter()
        .find(|o| o.domain().is_empty() || o.domain() == "ai.onnx")
        .map(|o| o.version())
        .ok_or_else(|| Error::Model("imports no version of the default ONNX domain".into()))?;
    if !OPSETS.contains(&opset) {
        return Err(Error::Model(format!(
            "uses opset {opset}; the importer reads opsets {} to {}",
            OPSETS.start(),
            OPSETS.end()
        )));
    }
    let graph = model
        .graph
        .as_ref()
        .ok_or_else(|| Error::Model("has no graph".into()))?;

    let mut names: Vec<String> = graph.input.iter().map(|i| i.name().to_string()).collect();
    names.extend(graph.node.iter().flat_map(|n| n.output.iter().cloned()));
    let mut cx = Cx::new(options.dialect, names);
    cx.allow_approximate = options.allow_approximate;
    for name in graph
        .node
        .iter()
        .flat_map(|n| n.input.iter())
        .map(String::as_str)
        .chain(graph.output.iter().map(|o| o.name()))
    {
        *cx.uses.entry(name.to_string()).or_default() += 1;
    }

    for init in &graph.initializer {
        let c = constant::from_tensor(init)
            .map_err(|m| Error::Model(format!("has an unreadable initializer '{}': {m}", init.name())))?;
        cx.values.insert(init.name().to_string(), Value::Const(c));
    }

    // Graph inputs (those that are not initializers) become Input layers.
    let mut inputs = Vec::new();
    let mut graph_inputs = Vec::new();
    let overrides: HashMap<&str, &Vec<usize>> = options.input_shapes.iter().map(|(n, d)| (n.as_str(), d)).collect();
    for (name, _) in &options.input_shapes {
        if !graph.input.iter().any(|i| i.name() == name) {
            let known: Vec<&str> = graph.input.iter().map(|i| i.name()).collect();
            return Err(Error::Input {
                input: name.clone(),
                message: format!("is not a graph input (inputs: {})", known.join(", ")),
            });
        }
    }
    for info in &graph.input {
        if cx.values.contains_key(info.name()) {
            continue;
        }
        let dims = match overrides.get(info.name()) {
            Some(d) => (*d).clone(),
            None => static_dims(info).map_err(|message| Error::Input {
                input: info.name().to_string(),
                message,
            })?,
        };
        if dims.is_empty() || dims.contains(&0) {
            return Err(Error::Input {
                input: info.name().to_string(),
                message: format!("shape {dims:?}: Caffe blobs need at least one dim and no empty one"),
            });
        }
        let blob = Blob {
            name: sanitize(info.name()),
            shape: dims.clone(),
        };
        let shape = BlobShape {
            dim: dims.iter().map(|&d| d as i64).collect(),
        };
        cx.layers.push(caffe_io::proto::LayerParameter {
            name: Some(blob.name.clone()),
            r#type: Some("Input".into()),
            top: vec![blob.name.clone()],
            input_param: Some(InputParameter { shape: vec![shape] }),
            ..Default::default()
        });
        inputs.push((blob.name.clone(), dims.clone()));
        graph_inputs.push((info.name().to_string(), dims));
        cx.values.insert(info.name().to_string(), Value::Blob(blob));
    }

    let mut report = Report::default();
    let renamed_at_end = |report: &mut Report, renamed: &[(String, String)]| {
        for n in &mut report.nodes {
            for l in &mut n.layers {
                if let Some((_, new)) = renamed.iter().find(|(old, _)| old == l) {
                    *l = new.clone();
                }
            }
        }
    };
    let mut refusals = Vec::new();
    let mut node_names = std::collections::HashSet::new();
    let planned = crate::fuse::plan(graph, opset);
    for (index, planned) in planned.iter().enumerate() {
        let proto: &NodeProto = &planned.node;
        if let Some(into) = &planned.merged_into {
            report.nodes.push(NodeReport {
                node: if proto.name().is_empty() {
                    format!("{}_{index}", proto.op_type())
                } else {
                    proto.name().to_string()
                },
                op_type: proto.op_type().to_string(),
                how: How::Merged,
                layers: vec![],
                note: format!("part of the softmax pattern fused into the Softmax '{into}'"),
                max_error: None,
            });
            continue;
        }
        let opset = planned.opset;
        let mut generated;
        let name: &str = if proto.name().is_empty() || !node_names.insert(proto.name().to_string()) {
            generated = format!("{}_{index}", proto.op_type());
            while !node_names.insert(generated.clone()) {
                generated.push('_');
            }
            &generated
        } else {
            proto.name()
        };
        let node = Node { proto, opset, name };
        let refuse = |reason: String| Refusal {
            node: name.to_string(),
            op_type: proto.op_type().to_string(),
            reason,
        };
        let entry = |how: How, layers: Vec<String>, note: String| NodeReport {
            node: name.to_string(),
            op_type: proto.op_type().to_string(),
            how,
            layers,
            note,
            max_error: None,
        };
        let mut input_values = Vec::with_capacity(proto.input.len());
        for input in &proto.input {
            if input.is_empty() {
                input_values.push(None);
                continue;
            }
            match cx.values.get(input) {
                Some(v) => input_values.push(Some(v)),
                None => {
                    return Err(Error::Node {
                        node: name.to_string(),
                        op_type: proto.op_type().to_string(),
                        message: format!("reads '{input}', which no input, initializer or earlier node defines"),
                    })
                }
            }
        }
        if input_values.iter().any(|v| matches!(v, Some(Value::Unavailable))) {
            for o in &proto.output {
                cx.values.insert(o.clone(), Value::Unavailable);
            }
            report
                .nodes
                .push(entry(How::Refused, vec![], "downstream of a refused node".into()));
            continue;
        }
        if !(proto.domain().is_empty() || proto.domain() == "ai.onnx") {
            refusals.push(refuse(format!(
                "the custom domain '{}' has no Caffe layers",
                proto.domain()
            )));
            report
                .nodes
                .push(entry(How::Refused, vec![], refusals.last().unwrap().reason.clone()));
            for o in &proto.output {
                cx.values.insert(o.clone(), Value::Unavailable);
            }
            continue;
        }
        let invalid = |message: String| Error::Node {
            node: name.to_string(),
            op_type: proto.op_type().to_string(),
            message,
        };
        if let Some(folded) = fold::try_fold(&node, &input_values) {
            let values = folded.map_err(|e| match e {
                OpError::Invalid(m) | OpError::Refuse(m) => invalid(m),
            })?;
            let shapes: Vec<String> = values.iter().map(|v| format!("{:?}", v.shape())).collect();
            for (o, v) in proto.output.iter().zip(values) {
                cx.values.insert(o.clone(), Value::Const(v));
            }
            report.nodes.push(entry(
                How::Folded,
                vec![],
                format!("constant of shape {}", shapes.join(", ")),
            ));
            continue;
        }
        let Some(map) = options.ops.get(proto.op_type()) else {
            refusals.push(refuse(
                "the op type has no mapping to Caffe layers (the README lists the ops mapped)".to_string(),
            ));
            report.nodes.push(entry(
                How::Refused,
                vec![],
                format!("no mapping for {}", proto.op_type()),
            ));
            for o in &proto.output {
                cx.values.insert(o.clone(), Value::Unavailable);
            }
            continue;
        };
        cx.node_layers.clear();
        let layers_before = cx.layers.len();
        let expected_before = cx.expected.len();
        match map(&mut cx, &node) {
            Ok(mapped) => {
                let layers = std::mem::take(&mut cx.node_layers);
                let mut e = entry(mapped.how, layers, mapped.note);
                e.max_error = cx.approximation.take();
                report.nodes.push(e);
            }
            Err(OpError::Refuse(reason)) => {
                // Nothing a refused node emitted stays.
                cx.layers.truncate(layers_before);
                cx.expected.truncate(expected_before);
                report.nodes.push(entry(How::Refused, vec![], reason.clone()));
                refusals.push(refuse(reason));
                for o in &proto.output {
                    cx.values.insert(o.clone(), Value::Unavailable);
                }
            }
            Err(OpError::Invalid(message)) => return Err(invalid(message)),
        }
    }

    // Graph outputs: blobs named after the ONNX outputs.
    let mut outputs = Vec::new();
    let output_names: Vec<String> = graph.output.iter().map(|o| sanitize(o.name())).collect();
    for (out, onnx_name) in output_names.iter().zip(graph.output.iter().map(|o| o.name())) {
        match cx.values.get(onnx_name).cloned() {
            None => {
                return Err(Error::Model(format!(
                    "names the output '{onnx_name}', which nothing defines"
                )))
            }
            Some(Value::Unavailable) => {
                if refusals.is_empty() {
                    refusals.push(Refusal {
                        node: onnx_name.to_string(),
                        op_type: "graph output".into(),
                        reason: "the output depends on a value with no Caffe form (e.g. a Dropout mask)".into(),
                    });
                }
            }
            Some(Value::Const(_)) => refusals.push(Refusal {
                node: onnx_name.to_string(),
                op_type: "graph output".into(),
                reason: "the output is a constant; a Caffe net computes its outputs from its inputs".into(),
            }),
            Some(Value::Padded { node, .. }) => refusals.push(Refusal {
                node,
                op_type: "Pad".into(),
                reason: "a zero Pad whose output is a graph output has no Caffe layer".into(),
            }),
            Some(Value::Blob(b)) => {
                if &b.name != out {
                    name_output(&mut cx, &b, out, &output_names, &inputs);
                }
                outputs.push(out.clone());
            }
        }
    }
    if !refusals.is_empty() {
        return Err(Error::Refused {
            dialect: options.dialect.name(),
            refusals: Refusals(refusals),
        });
    }
    // Inputs Caffe would never read (only their shape was, at import) go:
    // an unread Input layer's top would be a net output in Caffe.
    let mut dropped_inputs = Vec::new();
    let read: std::collections::HashSet<String> = cx.layers.iter().flat_map(|l| l.bottom.iter().cloned()).collect();
    cx.layers.retain(|l| {
        let unread = l.r#type() == "Input" && l.top.iter().all(|t| !read.contains(t) && !outputs.contains(t));
        if unread {
            dropped_inputs.extend(l.top.iter().cloned());
        }
        !unread
    });
    inputs.retain(|(n, _)| !dropped_inputs.contains(n));
    single_top_outputs(&mut cx, &outputs);
    renamed_at_end(&mut report, &cx.renamed_layers);

    let param = NetParameter {
        name: Some(if graph.name().is_empty() {
            "onnx".into()
        } else {
            graph.name().to_string()
        }),
        layer: std::mem::take(&mut cx.layers),
        ..Default::default()
    };
    let load = LoadOptions::default();
    let net = Net::from_proto_with(param, None, &load)?;
    let mut lint = Vec::new();
    for (blob, onnx, node, op_type) in &cx.expected {
        let caffe = net.blob_shape(blob)?;
        if caffe != onnx.as_slice() {
            return Err(Error::ShapeMismatch {
                node: node.clone(),
                op_type: op_type.clone(),
                message: format!("Caffe gives blob '{blob}' the shape {caffe:?}, ONNX {onnx:?}"),
            });
        }
        if onnx.len() > options.dialect.max_rank() {
            lint.push(Refusal {
                node: node.clone(),
                op_type: op_type.clone(),
                reason: format!(
                    "blob '{blob}' has rank {}; the '{}' dialect takes at most {}",
                    onnx.len(),
                    options.dialect,
                    options.dialect.max_rank()
                ),
            });
        }
    }
    if options.dialect == Dialect::Nnie && outputs.len() > 16 {
        lint.push(Refusal {
            node: outputs[16].clone(),
            op_type: "graph output".into(),
            reason: format!("the net has {} outputs; NNIE's mapper takes at most 16", outputs.len()),
        });
    }
    if !lint.is_empty() {
        return Err(Error::Refused {
            dialect: options.dialect.name(),
            refusals: Refusals(lint),
        });
    }
    Ok(Imported {
        net,
        report,
        inputs,
        outputs,
        opset,
        graph_inputs,
        dropped_inputs,
    })
}

/// Gives the graph output `out` its ONNX name: the blob `b` (an alias, e.g.
/// through Identity) is renamed where it is made, or copied by a Split
/// layer when it is an input or another output too.
fn name_output(cx: &mut Cx, b: &Blob, out: &str, outputs: &[String], inputs: &[(String, Vec<usize>)]) {
    let is_input = inputs.iter().any(|(n, _)| n == &b.name);
    let is_output = outputs.iter().any(|o| o == &b.name);
    if !is_input && !is_output {
        for layer in &mut cx.layers {
            for t in layer.top.iter_mut().chain(layer.bottom.iter_mut()) {
                if t == &b.name {
                    *t = out.to_string();
                }
            }
        }
        for e in &mut cx.expected {
            if e.0 == b.name {
                e.0 = out.to_string();
            }
        }
        // Later outputs aliasing the same blob see the new name.
        for v in cx.values.values_mut() {
            if let Value::Blob(x) = v {
                if x.name == b.name {
                    x.name = out.to_string();
                }
            }
        }
        return;
    }
    cx.expected
        .push((out.to_string(), b.shape.clone(), out.to_string(), "graph output".into()));
    cx.layers.push(caffe_io::proto::LayerParameter {
        name: Some(format!("{out}/copy")),
        r#type: Some("Split".into()),
        bottom: vec![b.name.clone()],
        top: vec![out.to_string()],
        ..Default::default()
    });
}

/// The layer making each graph output is named after it, and each graph
/// output made by a layer with several tops (Slice) is moved to
/// a Split layer of one top, appended at the end: OpenCV's importer finds a
/// blob by name only as the top of a single-top layer, and Caffe's Split
/// shares the data (no copy).
fn single_top_outputs(cx: &mut Cx, outputs: &[String]) {
    for out in outputs {
        let Some(index) = cx.layers.iter().position(|l| l.top.iter().any(|t| t == out)) else {
            continue;
        };
        if cx.layers[index].top.len() == 1 {
            // OpenCV's importer finds a blob by the name of the layer that
            // makes it (or, for a Convolution, by its top): the layer takes
            // the output's name where no other layer has it.
            if !cx.layers.iter().any(|l| l.name() == out) {
                let old = cx.layers[index].name().to_string();
                cx.layers[index].name = Some(out.clone());
                cx.renamed_layers.push((old, out.clone()));
            }
            continue;
        }
        let piece = {
            let mut name = format!("{out}/piece");
            while cx.blob_names.contains(&name) {
                name.push('_');
            }
            cx.blob_names.insert(name.clone());
            name
        };
        for layer in &mut cx.layers {
            for t in layer.top.iter_mut().chain(layer.bottom.iter_mut()) {
                if t == out {
                    *t = piece.clone();
                }
            }
        }
        let shape = cx
            .expected
            .iter()
            .find(|e| &e.0 == out)
            .map(|e| (e.1.clone(), e.2.clone()));
        if let Some((shape, node)) = shape {
            cx.expected.push((piece.clone(), shape, node, "graph output".into()));
        }
        cx.layers.push(caffe_io::proto::LayerParameter {
            name: Some(out.clone()),
            r#type: Some("Split".into()),
            bottom: vec![piece],
            top: vec![out.clone()],
            ..Default::default()
        });
    }
}
