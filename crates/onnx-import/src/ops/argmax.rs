//! ArgMax, ArgMin, TopK -> Caffe's ArgMax (with `axis`; `out_max_val` for
//! TopK's values). Caffe sorts (value, index) pairs in descending order, so
//! among equal values the largest index comes first: that is ONNX's ArgMax
//! with `select_last_index` 1. ONNX's default (the first index among ties,
//! and TopK's lower-index-first order) is composed exactly: the axis is
//! reversed by a one-hot 1x1 Convolution, Caffe's ArgMax runs on that, and
//! Power maps each index r back to `len - 1 - r` (integers, so exact).
//! ArgMin and TopK(largest 0) negate first (Power scale -1). The indices
//! are float blobs (Caffe has no integers); the Cast ONNX models put after
//! them is removed. Only in the dialects whose consumers have ArgMax
//! (bvlc, ssd, nnie): OpenCV's importer has none.

use caffe_io::proto::ArgMaxParameter;

use super::activation::{power, Power};
use super::{linear_map, reshape_param};
use crate::cx::{Blob, Cx};
use crate::error::OpResult;
use crate::node::{normalize_axis, Node};
use crate::registry::Mapped;
use crate::{invalid, refuse};

/// `x` reversed along `axis` (an anti-diagonal `linear_map::along`).
fn reverse(cx: &mut Cx, node: &Node, x: &Blob, axis: usize, part: &str) -> OpResult<Blob> {
    let len = x.shape[axis];
    linear_map::along(
        cx,
        node,
        x,
        axis,
        linear_map::selection(len, len - 1, -1, len)?,
        part,
        None,
    )
}

/// Caffe's ArgMax of the `k` largest along `axis`: their values
/// (`out_max_val`) or their indices.
fn argmax_param(axis: usize, k: usize, values: bool) -> ArgMaxParameter {
    ArgMaxParameter {
        out_max_val: values.then_some(true),
        top_k: (k != 1).then_some(k as u32),
        axis: Some(axis as i32),
    }
}

/// Refused where the dialect's consumers have no ArgMax layer.
fn check_dialect(cx: &Cx) -> OpResult<()> {
    if !cx.dialect().has_argmax() {
        refuse!(
            "Caffe's ArgMax, which OpenCV's importer (and so the '{}' dialect) lacks; the bvlc, ssd and nnie dialects \
             have it",
            cx.dialect()
        );
    }
    Ok(())
}

fn argmax_layer(cx: &mut Cx, node: &Node, part: &str, x: &Blob, out: &Blob, param: ArgMaxParameter) {
    cx.layer(node, part, "ArgMax", &[x], &[out], vec![], |l| {
        l.argmax_param = Some(param)
    });
}

/// The indices of the `k` largest of `x` along `axis`, ties in ONNX's order
/// (`last`: the last index first, Caffe's own), into `out` (keepdims).
fn indices(cx: &mut Cx, node: &Node, x: &Blob, axis: usize, k: usize, last: bool, out: &Blob) -> OpResult<()> {
    if last {
        argmax_layer(cx, node, "indices", x, out, argmax_param(axis, k, false));
        return Ok(());
    }
    let len = x.shape[axis];
    let flipped = reverse(cx, node, x, axis, "reversed")?;
    let r = cx.part(node, "reversed_indices", out.shape.clone());
    argmax_layer(cx, node, "indices", &flipped, &r, argmax_param(axis, k, false));
    power(cx, node, "unreverse", &r, out, Power::affine(-1.0, (len - 1) as f32));
    Ok(())
}

/// `-x`, for the smallest values.
fn negated(cx: &mut Cx, node: &Node, x: &Blob) -> Blob {
    let neg = cx.part(node, "negated", x.shape.clone());
    power(cx, node, "negate", x, &neg, Power::affine(-1.0, 0.0));
    neg
}

fn arg(cx: &mut Cx, node: &Node, min: bool) -> OpResult<Mapped> {
    node.arity(1, 1, Some(1))?;
    check_dialect(cx)?;
    let x = cx.blob(node, 0)?;
    let axis = normalize_axis(node.int("axis", 0)?, x.rank())?;
    let keepdims = node.int("keepdims", 1)? != 0;
    let last = node.opset >= 12 && node.int("select_last_index", 0)? != 0;
    let mut kept = x.shape.clone();
    kept[axis] = 1;
    let mut squeezed = x.shape.clone();
    squeezed.remove(axis);
    if squeezed.is_empty() {
        refuse!("keepdims 0 over the only axis: Caffe blobs have at least one axis");
    }
    let x = if min { negated(cx, node, &x) } else { x };
    let out = if keepdims {
        cx.output_blob(node, 0, kept.clone())
    } else {
        cx.part(node, "kept", kept.clone())
    };
    indices(cx, node, &x, axis, 1, last, &out)?;
    if !keepdims {
        let squeezed_out = cx.output_blob(node, 0, squeezed.clone());
        cx.layer(node, "squeeze", "Reshape", &[&out], &[&squeezed_out], vec![], |l| {
            l.reshape_param = Some(reshape_param(squeezed.iter().map(|&d| d as i64)))
        });
    }
    Mapped::composed(format!(
        "Caffe's ArgMax along axis {axis}{}{}",
        if min { " of -x" } else { "" },
        if last {
            " (select_last_index: Caffe's order of ties)"
        } else {
            ", the first index among ties by reversing the axis"
        }
    ))
}

pub fn argmax(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    arg(cx, node, false)
}

pub fn argmin(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    arg(cx, node, true)
}

/// TopK: values by ArgMax with `out_max_val`, indices as above; sorted
/// (ONNX leaves the order free when `sorted` is 0).
pub fn top_k(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    node.arity(1, 2, Some(2))?;
    check_dialect(cx)?;
    let x = cx.blob(node, 0)?;
    let axis = normalize_axis(node.int("axis", -1)?, x.rank())?;
    let k = if node.opset >= 10 {
        cx.required_constant(node, 1)?.ints().first().copied().unwrap_or(0)
    } else {
        node.int("k", 0)?
    };
    if k < 1 || k as usize > x.shape[axis] {
        invalid!("k {k} along an axis of {}", x.shape[axis]);
    }
    let k = k as usize;
    let largest = node.opset < 11 || node.int("largest", 1)? != 0;
    let src = if largest { x } else { negated(cx, node, &x) };
    let mut shape = src.shape.clone();
    shape[axis] = k;
    if cx.output_read(node, 0) {
        let values = cx.output_blob(node, 0, shape.clone());
        if largest {
            argmax_layer(cx, node, "values", &src, &values, argmax_param(axis, k, true));
        } else {
            let v = cx.part(node, "negated_values", shape.clone());
            argmax_layer(cx, node, "values", &src, &v, argmax_param(axis, k, true));
            power(cx, node, "values_negate", &v, &values, Power::affine(-1.0, 0.0));
        }
    }
    if cx.output_read(node, 1) {
        let out = cx.output_blob(node, 1, shape);
        indices(cx, node, &src, axis, k, false, &out)?;
    }
    Mapped::composed(format!(
        "Caffe's ArgMax (top_k {k}, axis {axis}{}): values with out_max_val, indices lower-first among ties \
         by reversing the axis",
        if largest { "" } else { ", of -x" }
    ))
}
