//! Patterns fused before mapping, where an exporter spelled out a layer
//! Caffe has as several ONNX ops: the numerically stable softmax
//! `exp(x - max(x)) / sum(exp(x - max(x)))` over one axis (what onnx-export
//! and some PyTorch exports write) is one Softmax layer.

use std::borrow::Cow;
use std::collections::HashMap;

use onnx_export::onnx::{attribute_proto::AttributeType, AttributeProto, GraphProto, NodeProto};

/// A node to map: the original, or a fused one standing for several.
pub(crate) struct Planned<'g> {
    pub node: Cow<'g, NodeProto>,
    /// The opset the node is read at (a fused Softmax has opset 13's meaning).
    pub opset: i64,
    /// For the nodes merged into a fused one: the fused node's name.
    pub merged_into: Option<String>,
}

fn axes_of(node: &NodeProto, opset_input: i64, opset: i64, inits: &HashMap<&str, Vec<i64>>) -> Option<Vec<i64>> {
    if opset >= opset_input {
        node.input.get(1).and_then(|n| inits.get(n.as_str()).cloned())
    } else {
        node.attribute
            .iter()
            .find(|a| a.name() == "axes")
            .map(|a| a.ints.clone())
    }
}

fn keepdims(node: &NodeProto) -> bool {
    node.attribute
        .iter()
        .find(|a| a.name() == "keepdims")
        .is_none_or(|a| a.i() != 0)
}

/// The graph's nodes, with the patterns above fused.
pub(crate) fn plan(graph: &GraphProto, opset: i64) -> Vec<Planned<'_>> {
    let mut consumers: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, n) in graph.node.iter().enumerate() {
        for input in &n.input {
            consumers.entry(input.as_str()).or_default().push(i);
        }
    }
    let outputs: std::collections::HashSet<&str> = graph.output.iter().map(|o| o.name()).collect();
    let inits: HashMap<&str, Vec<i64>> = graph
        .initializer
        .iter()
        .filter_map(|t| Some((t.name(), onnx_export::tensor::i64_values(t).ok()?)))
        .collect();
    let only = |name: &str, n: usize| -> Option<Vec<usize>> {
        let c = consumers.get(name)?;
        (c.len() == n && !outputs.contains(name)).then(|| c.clone())
    };
    let mut plan: Vec<Planned> = graph
        .node
        .iter()
        .map(|n| Planned {
            node: Cow::Borrowed(n),
            opset,
            merged_into: None,
        })
        .collect();
    for (i, max) in graph.node.iter().enumerate() {
        if max.op_type() != "ReduceMax" || !keepdims(max) || max.domain() != "" {
            continue;
        }
        let Some(axes) = axes_of(max, 18, opset, &inits) else {
            continue;
        };
        if axes.len() != 1 {
            continue;
        }
        let x = &max.input[0];
        let found = (|| {
            let sub_i = *only(&max.output[0], 1)?.first()?;
            let sub = &graph.node[sub_i];
            (sub.op_type() == "Sub" && sub.input[0] == *x && sub.input[1] == max.output[0]).then_some(())?;
            let exp_i = *only(&sub.output[0], 1)?.first()?;
            let exp = &graph.node[exp_i];
            (exp.op_type() == "Exp").then_some(())?;
            let users = only(&exp.output[0], 2)?;
            let sum_i = *users.iter().find(|&&u| graph.node[u].op_type() == "ReduceSum")?;
            let div_i = *users.iter().find(|&&u| graph.node[u].op_type() == "Div")?;
            let sum = &graph.node[sum_i];
            let div = &graph.node[div_i];
            (keepdims(sum) && axes_of(sum, 13, opset, &inits)? == axes).then_some(())?;
            (div.input[0] == exp.output[0] && div.input[1] == sum.output[0]).then_some(())?;
            only(&sum.output[0], 1)?;
            Some((sub_i, exp_i, sum_i, div_i))
        })();
        let Some((sub_i, exp_i, sum_i, div_i)) = found else {
            continue;
        };
        let div = &graph.node[div_i];
        let fused = NodeProto {
            name: div.name.clone(),
            op_type: Some("Softmax".into()),
            input: vec![x.clone()],
            output: div.output.clone(),
            attribute: vec![AttributeProto {
                name: Some("axis".into()),
                i: Some(axes[0]),
                r#type: Some(AttributeType::Int as i32),
                ..Default::default()
            }],
            ..Default::default()
        };
        let fused_name = if div.name().is_empty() {
            format!("Div_{div_i}")
        } else {
            div.name().to_string()
        };
        for j in [i, sub_i, exp_i, sum_i] {
            plan[j].merged_into = Some(fused_name.clone());
        }
        plan[div_i] = Planned {
            node: Cow::Owned(fused),
            opset: opset.max(13),
            merged_into: None,
        };
    }
    plan
}
