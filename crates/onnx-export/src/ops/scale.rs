//! Scale and Bias: `x * factor (+ bias)` / `x + offset`, the factor or offset
//! spanning `shape[axis .. axis + num_axes]` and broadcast over the rest. A
//! learned one is a param, declared with trailing 1s so ONNX broadcasting
//! lines it up (same bytes); a second bottom is reshaped the same way.

use graph_ir::ops::{BiasParams, ScaleParams};

use super::{broadcast_dims, LayerCx};
use crate::error::Result;

/// The axes `[axis, axis + num_axes)` of input 0 (`num_axes` -1: to the end).
fn span(cx: &LayerCx<'_, '_>, axis: i32, num_axes: i32) -> Result<(usize, Vec<usize>)> {
    let shape = &cx.in_shapes[0];
    let axis = if shape.is_empty() && axis == 0 {
        0
    } else {
        cx.axis(axis, 0)?
    };
    let inner = if cx.in_shapes.len() > 1 {
        cx.in_shapes[1].clone()
    } else if num_axes < 0 {
        shape[axis..].to_vec()
    } else {
        let end = (axis + num_axes as usize).min(shape.len());
        shape[axis..end].to_vec()
    };
    Ok((axis, inner))
}

/// The operand: bottom 1 reshaped to broadcast, or learned param `index`.
fn operand(cx: &mut LayerCx<'_, '_>, axis: usize, inner: &[usize], index: usize, what: &str) -> Result<String> {
    let ndim = cx.in_shapes[0].len();
    let dims = broadcast_dims(inner, axis, ndim);
    if cx.inputs.len() > 1 {
        let y = cx.inputs[1].clone();
        let y_shape = cx.in_shapes[1].clone();
        cx.require_same_free(1, axis..axis + inner.len(), 0)?;
        if dims == y_shape {
            Ok(y)
        } else {
            cx.require_fixed(
                1,
                0..y_shape.len(),
                "the second bottom is reshaped to a fixed shape to broadcast",
            )?;
            cx.reshape(&y, &y_shape, &dims, None)
        }
    } else {
        cx.require_fixed(
            0,
            axis..axis + inner.len(),
            "the learned operand has the export-time size",
        )?;
        cx.param(index, what, Some(&dims))
    }
}

pub(super) fn scale(cx: &mut LayerCx<'_, '_>, p: &ScaleParams) -> Result<()> {
    let (axis, inner) = span(cx, p.axis, p.num_axes)?;
    let factor = operand(cx, axis, &inner, 0, "scale")?;
    let (x, out) = (cx.inputs[0].clone(), cx.out(0));
    if !p.bias_term {
        return cx.node("Mul", &[&x, &factor], &[&out], vec![]);
    }
    let bias_index = usize::from(p.learned_scale);
    cx.require_fixed(0, axis..axis + inner.len(), "the learned bias has the export-time size")?;
    let dims = broadcast_dims(&inner, axis, cx.in_shapes[0].len());
    let bias = cx.param(bias_index, "bias", Some(&dims))?;
    let scaled = cx.tmp("Mul", "scaled", &[&x, &factor], vec![])?;
    cx.node("Add", &[&scaled, &bias], &[&out], vec![])
}

pub(super) fn bias(cx: &mut LayerCx<'_, '_>, p: &BiasParams) -> Result<()> {
    let (axis, inner) = span(cx, p.axis, p.num_axes)?;
    let offset = operand(cx, axis, &inner, 0, "bias")?;
    let (x, out) = (cx.inputs[0].clone(), cx.out(0));
    cx.node("Add", &[&x, &offset], &[&out], vec![])
}
