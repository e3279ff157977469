//! ArgMax: Caffe outputs float indices (or values with `out_max_val`).
//! With an axis: `top_k` along it (values replace indices with
//! `out_max_val`). Without: each item is flattened and the output is
//! `(N, 1, top_k)`, or `(N, 2, top_k)` holding indices then values with
//! `out_max_val`. Caffe sorts (value, index) pairs in descending order, so
//! among equal values the larger index comes first. For `top_k` 1 with an
//! axis, ONNX `ArgMax` with `select_last_index` is that rule; `TopK` puts
//! the lower index first, so it runs on the axis reversed (a Slice with step
//! -1) and its indices `r` become `len - 1 - r`: Caffe's order, ties
//! included.

use graph_ir::ops::ArgMaxParams;

use super::LayerCx;
use crate::attr;
use crate::error::Result;
use crate::onnx::tensor_proto::DataType;

pub(super) fn argmax(cx: &mut LayerCx<'_, '_>, p: &ArgMaxParams) -> Result<()> {
    let (x, out) = (cx.inputs[0].clone(), cx.out(0));
    let in_shape = cx.in_shapes[0].clone();
    let out_shape = cx.out_shapes[0].clone();
    let to_float = || vec![attr::int("to", DataType::Float as i64)];
    match p.axis {
        Some(axis) => {
            let axis = cx.axis(axis, 0)?;
            cx.fixed_axis(axis, "ArgMax")?;
            let axis = axis as i64;
            if p.top_k == 1 && !p.out_max_val {
                let idx = cx.tmp(
                    "ArgMax",
                    "argmax",
                    &[&x],
                    vec![
                        attr::int("axis", axis),
                        attr::int("keepdims", 1),
                        attr::int("select_last_index", 1),
                    ],
                )?;
                return cx.node("Cast", &[&idx], &[&out], to_float());
            }
            let (values, indices) = top_k(cx, &x, p.top_k, axis, in_shape[axis as usize])?;
            if p.out_max_val {
                cx.identity(&values, &out)
            } else {
                cx.node("Cast", &[&indices], &[&out], to_float())
            }
        }
        None => {
            cx.require_fixed(
                0,
                0..in_shape.len(),
                "without an axis it flattens each item to a fixed size",
            )?;
            let n = in_shape.first().copied().unwrap_or(1);
            let d: usize = in_shape.iter().skip(1).product();
            let flat = cx.reshape(&x, &in_shape, &[n, d], None)?;
            let (values, indices) = top_k(cx, &flat, p.top_k, 1, d)?;
            let indices = cx.tmp("Cast", "indices", &[&indices], to_float())?;
            if p.out_max_val {
                let idx = cx.reshape(&indices, &[n, p.top_k], &[n, 1, p.top_k], None)?;
                let val = cx.reshape(&values, &[n, p.top_k], &[n, 1, p.top_k], None)?;
                let both = cx.tmp("Concat", "pairs", &[&idx, &val], vec![attr::int("axis", 1)])?;
                cx.reshape(&both, &[n, 2, p.top_k], &out_shape, Some(&out)).map(|_| ())
            } else {
                cx.reshape(&indices, &[n, p.top_k], &out_shape, Some(&out)).map(|_| ())
            }
        }
    }
}

/// The `k` largest along `axis` in Caffe's order (ties: larger index
/// first): TopK (largest, sorted) of the axis reversed, its int64 indices
/// mapped back. Returns (values, int64 indices).
fn top_k(cx: &mut LayerCx<'_, '_>, x: &str, k: usize, axis: i64, len: usize) -> Result<(String, String)> {
    let starts = cx.ints("rev_starts", &[-1])?;
    let ends = cx.ints("rev_ends", &[i64::MIN])?;
    let axes = cx.ints("rev_axes", &[axis])?;
    let steps = cx.ints("rev_steps", &[-1])?;
    let reversed = cx.tmp("Slice", "reversed", &[x, &starts, &ends, &axes, &steps], vec![])?;
    let k_tensor = cx.ints("k", &[k as i64])?;
    let values = cx.g.fresh_name(&format!("{}/topk_values", cx.name()));
    let reversed_indices = cx.g.fresh_name(&format!("{}/topk_reversed_indices", cx.name()));
    cx.node(
        "TopK",
        &[&reversed, &k_tensor],
        &[&values, &reversed_indices],
        vec![attr::int("axis", axis), attr::int("largest", 1), attr::int("sorted", 1)],
    )?;
    let last = cx.ints("last_index", &[len as i64 - 1])?;
    let indices = cx.tmp("Sub", "topk_indices", &[&last, &reversed_indices], vec![])?;
    Ok((values, indices))
}
