//! Softmax -> Softmax over one axis (opset 13's meaning). Before opset 13,
//! ONNX normalizes over all axes from `axis` on (the input flattened to 2-D
//! at `axis`): the same layer when `axis` is the last, else composed
//! exactly as Reshape to 2-D, Softmax (axis 1), Reshape back. LogSoftmax
//! (no Caffe layer; Log of Softmax would give -inf where the softmax
//! underflows) as ONNX defines it, `d - log(sum(exp(d)))` with
//! `d = x - max(x)`: the max by a Pooling over the axis, the sum by a 1x1
//! Convolution of ones, the statistics copied back along the axis.

use caffe_io::proto::{eltwise_parameter::EltwiseOp, SoftmaxParameter};
use ndarray::Array2;

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

/// `(x - max) - log(sum(exp(x - max)))` over `axis`, into `out`.
fn log_softmax_over(cx: &mut Cx, node: &Node, x: &Blob, axis: usize, out: &Blob) -> OpResult<()> {
    let max = super::reduce::pool_axis(cx, node, x, axis, true);
    let max_full = super::arith::expand(cx, node, &max, &x.shape, "max")?;
    let d = cx.part(node, "centred", x.shape.clone());
    super::clip::eltwise(
        cx,
        node,
        "centred",
        EltwiseOp::Sum,
        &[x, &max_full],
        vec![1.0, -1.0],
        &d,
    );
    let e = cx.part(node, "exp", x.shape.clone());
    cx.layer(node, "exp", "Exp", &[&d], &[&e], vec![], |_| {});
    let ones = Array2::ones((1, x.shape[axis]));
    let sum = super::linear_map::along(cx, node, &e, axis, ones, "sum", None)?;
    let log = cx.part(node, "log_sum", sum.shape.clone());
    cx.layer(node, "log_sum", "Log", &[&sum], &[&log], vec![], |_| {});
    let log_full = super::arith::expand(cx, node, &log, &x.shape, "log_sum")?;
    super::clip::eltwise(cx, node, "", EltwiseOp::Sum, &[&d, &log_full], vec![1.0, -1.0], out);
    Ok(())
}

pub fn log_softmax(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    node.arity(1, 1, Some(1))?;
    let x = cx.blob(node, 0)?;
    let rank = x.rank();
    let (axis, flat) = if node.opset >= 13 {
        (normalize_axis(node.int("axis", -1)?, rank)?, None)
    } else {
        let axis = normalize_axis(node.int("axis", 1)?, rank)?;
        let inner: usize = x.shape[axis..].iter().product();
        let outer: usize = x.shape[..axis].iter().product();
        (axis, (inner != x.shape[axis]).then_some([outer, inner]))
    };
    let out = cx.output_blob(node, 0, x.shape.clone());
    match flat {
        None => log_softmax_over(cx, node, &x, axis, &out)?,
        Some([outer, inner]) => {
            let f = cx.part(node, "flat", vec![outer, inner]);
            reshape_layer(cx, node, "flatten", &x, &f);
            let y = cx.part(node, "log_softmax", vec![outer, inner]);
            log_softmax_over(cx, node, &f, 1, &y)?;
            reshape_layer(cx, node, "unflatten", &y, &out);
        }
    }
    Mapped::composed(format!(
        "x - max - log(sum(exp(x - max))) over axis {axis}: Pooling (MAX), Eltwise, Exp, a 1x1 Convolution of ones, Log"
    ))
}
