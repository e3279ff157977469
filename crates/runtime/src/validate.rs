//! Checks a decoded ONNX model for what tract 0.23 takes on trust and would
//! panic on (found by fuzzing `netsurgeon run`): tensor data in a field its type
//! cannot use, a graph output that nothing defines, convolution and pooling
//! attributes whose lengths disagree with the kernel's rank, zero strides.
//! Each refusal names the node or tensor.

use std::collections::HashSet;

use tract_onnx::pb::{AttributeProto, GraphProto, NodeProto, TensorProto};

/// Deepest nesting of subgraphs (If/Loop/Scan bodies) accepted.
const MAX_GRAPH_DEPTH: usize = 32;

/// Ops whose `kernel_shape`, `strides`, `dilations` and `pads` tract indexes by spatial axis.
const WINDOWED_OPS: &[&str] = &[
    "Conv",
    "ConvTranspose",
    "ConvInteger",
    "QLinearConv",
    "MaxPool",
    "AveragePool",
    "LpPool",
];

/// `Err` with a description of the first problem.
pub(crate) fn check_model(model: &tract_onnx::pb::ModelProto) -> Result<(), String> {
    match &model.graph {
        Some(graph) => check_graph(graph, &HashSet::new(), 0),
        None => Err("the model has no graph".to_string()),
    }
}

fn check_graph(graph: &GraphProto, outer: &HashSet<&str>, depth: usize) -> Result<(), String> {
    if depth > MAX_GRAPH_DEPTH {
        return Err(format!("subgraphs nest more than {MAX_GRAPH_DEPTH} deep"));
    }
    for tensor in &graph.initializer {
        check_tensor(tensor).map_err(|e| format!("initializer '{}': {e}", tensor.name))?;
    }
    // Names visible in this graph: the enclosing graphs', then its own.
    let mut defined: HashSet<&str> = outer.clone();
    defined.extend(graph.input.iter().map(|i| i.name.as_str()));
    defined.extend(graph.initializer.iter().map(|t| t.name.as_str()));
    defined.extend(graph.node.iter().flat_map(|n| n.output.iter().map(String::as_str)));
    for node in &graph.node {
        let what = || format!("node '{}' ({})", node.name, node.op_type);
        if WINDOWED_OPS.contains(&node.op_type.as_str()) {
            check_window(node, graph).map_err(|e| format!("{}: {e}", what()))?;
        }
        for attr in &node.attribute {
            for tensor in attr.t.iter().chain(&attr.tensors) {
                check_tensor(tensor).map_err(|e| format!("{}, attribute '{}': {e}", what(), attr.name))?;
            }
            for sub in attr.g.iter().chain(&attr.graphs) {
                check_graph(sub, &defined, depth + 1)?;
            }
        }
    }
    for output in &graph.output {
        if !defined.contains(output.name.as_str()) {
            return Err(format!(
                "graph output '{}' is not a graph input, an initializer or the output of any node",
                output.name
            ));
        }
    }
    Ok(())
}

fn check_tensor(tensor: &TensorProto) -> Result<(), String> {
    use tract_onnx::pb::tensor_proto::DataType;
    let data_type = DataType::try_from(tensor.data_type).ok();
    if data_type == Some(DataType::String) && !tensor.raw_data.is_empty() {
        return Err("a STRING tensor with raw_data (ONNX keeps strings in string_data)".to_string());
    }
    Ok(())
}

fn ints<'a>(node: &'a NodeProto, name: &str) -> Option<&'a [i64]> {
    node.attribute
        .iter()
        .find(|a: &&AttributeProto| a.name == name)
        .map(|a| a.ints.as_slice())
}

/// The window attributes agree with one spatial rank: `kernel_shape`'s, or
/// (a Conv without it) the weight initializer's rank minus 2.
fn check_window(node: &NodeProto, graph: &GraphProto) -> Result<(), String> {
    let kernel = ints(node, "kernel_shape");
    let weight_rank = || {
        let weight = node.input.get(1)?;
        let init = graph.initializer.iter().find(|t| &t.name == weight)?;
        init.dims.len().checked_sub(2)
    };
    let rank = kernel.map(<[i64]>::len).or_else(weight_rank);
    if let Some(k) = kernel {
        if k.iter().any(|&d| d <= 0) {
            return Err(format!("kernel_shape {k:?} has a dimension that is not positive"));
        }
    }
    let per_axis = [
        ("strides", 1),
        ("dilations", 1),
        ("output_padding", 1),
        ("output_shape", 1),
        ("pads", 2),
    ];
    for (name, per) in per_axis {
        let Some(values) = ints(node, name) else { continue };
        match rank {
            Some(r) if values.len() != per * r => {
                return Err(format!(
                    "{name} has {} values, but the kernel has {r} spatial axes (needs {})",
                    values.len(),
                    per * r
                ))
            }
            None if values.len() % per != 0 => {
                return Err(format!("{name} has an odd number of values ({})", values.len()))
            }
            _ => {}
        }
        let positive = matches!(name, "strides" | "dilations");
        if positive && values.iter().any(|&v| v <= 0) {
            return Err(format!("{name} {values:?} must be positive"));
        }
        if name == "pads" && values.iter().any(|&v| v < 0) {
            return Err(format!("pads {values:?} must not be negative"));
        }
    }
    Ok(())
}
