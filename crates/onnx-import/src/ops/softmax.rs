//! Softmax -> Softmax over one axis (opset 13's meaning). Before opset 13,
//! ONNX normalizes over all axes from `axis` on (the input flattened to 2-D
//! at `axis`): the same layer when `axis` is the last, else composed
//! exactly as Reshape to 2-D, Softmax (axis 1), Reshape back.

use caffe_io::proto::SoftmaxParameter;

use crate::cx::{Blob, Cx};
use crate::error::OpResult;
use crate::node::{normalize_axis, Node};
use crate::registry::Mapped;

fn softmax_layer(cx: &mut Cx, node: &Node, part: &str, x: &Blob, axis: usize, out: &Blob) {
    cx.layer(node, part, "Softmax", &[x], &[out], vec![], |l| {
        l.softmax_param = Some(SoftmaxParameter {
            axis: (axis != 1).then_some(axis as i32),
            ..Default::default()
        })
    });
}

fn reshape_layer(cx: &mut Cx, node: &Node, part: &str, x: &Blob, out: &Blob) {
    let dims: Vec<i64> = out.shape.iter().map(|&d| d as i64).collect();
    cx.layer(node, part, "Reshape", &[x], &[out], vec![], |l| {
        l.reshape_param = Some(super::reshape_param(dims))
    });
}

pub fn softmax(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    node.arity(1, 1, Some(1))?;
    let x = cx.blob(node, 0)?;
    let rank = x.rank();
    if node.opset >= 13 {
        let axis = normalize_axis(node.int("axis", -1)?, rank)?;
        let out = cx.output_blob(node, 0, x.shape.clone());
        softmax_layer(cx, node, "", &x, axis, &out);
        return Mapped::exact(format!("Softmax over axis {axis}"));
    }
    let axis = normalize_axis(node.int("axis", 1)?, rank)?;
    let inner: usize = x.shape[axis..].iter().product();
    if inner == x.shape[axis] {
        let out = cx.output_blob(node, 0, x.shape.clone());
        softmax_layer(cx, node, "", &x, axis, &out);
        return Mapped::exact(format!("Softmax over axis {axis} (the axes after it are of size 1)"));
    }
    let outer: usize = x.shape[..axis].iter().product();
    let flat = cx.part(node, "flat", vec![outer, inner]);
    reshape_layer(cx, node, "flatten", &x, &flat);
    let soft = cx.part(node, "softmax", vec![outer, inner]);
    softmax_layer(cx, node, "softmax", &flat, 1, &soft);
    let out = cx.output_blob(node, 0, x.shape.clone());
    reshape_layer(cx, node, "", &soft, &out);
    Mapped::composed(format!(
        "opset {} Softmax normalizes axes {axis}.. together: Reshape to [{outer}, {inner}], Softmax (axis 1), Reshape back",
        node.opset
    ))
}
