//! Node-building helpers the lowerings share: ONNX reductions (whose `axes`
//! moved from an attribute to an input in opset 13 for ReduceSum and 18 for
//! the others), i64 lists and `pads` as ONNX attributes take them, and shapes
//! that broadcast a per-channel parameter along the other axes.

use super::LayerCx;
use crate::attr;
use crate::error::Result;
use crate::onnx::AttributeProto;

/// A reduction over `axes` keeping them (size 1).
pub(crate) fn reduce(cx: &mut LayerCx<'_, '_>, op: &str, x: &str, axes: &[i64], what: &str) -> Result<String> {
    let output = cx.g.fresh_name(&format!("{}/{what}", cx.name()));
    reduce_into(cx, op, x, axes, true, what, &output)?;
    Ok(output)
}

/// A reduction over `axes` (non-empty) written to `output`, keeping the axes
/// or dropping them. The axes became an input in opset 13 for ReduceSum and
/// in opset 18 for the others.
pub(crate) fn reduce_into(
    cx: &mut LayerCx<'_, '_>,
    op: &str,
    x: &str,
    axes: &[i64],
    keepdims: bool,
    what: &str,
    output: &str,
) -> Result<()> {
    let keepdims = attr::int("keepdims", i64::from(keepdims));
    let axes_are_input = cx.g.opset() >= 18 || (op == "ReduceSum" && cx.g.opset() >= 13);
    if axes_are_input {
        let axes = cx.ints(&format!("{what}_axes"), axes)?;
        cx.node(op, &[x, &axes], &[output], vec![keepdims])
    } else {
        cx.node(op, &[x], &[output], vec![attr::ints("axes", axes), keepdims])
    }
}

/// `[a, b, ...]` as the i64 list ONNX attributes take.
/// `ConstantOfShape`'s `value` attribute for an f32 fill.
pub(crate) fn f32_fill(value: f32) -> Result<AttributeProto> {
    let fill = crate::tensor::raw_tensor(
        "value",
        crate::onnx::tensor_proto::DataType::Float,
        &[1],
        bytes::Bytes::copy_from_slice(&value.to_le_bytes()),
    )?;
    Ok(attr::tensor("value", fill))
}

/// A 1-D int64 shape: `x`'s first `keep` dims, read at run time (so that a
/// symbolic batch stays symbolic), then `tail`.
pub(crate) fn leading_dims_then(
    cx: &mut LayerCx<'_, '_>,
    x: &str,
    keep: i64,
    tail: &[i64],
    what: &str,
) -> Result<String> {
    let shape = cx.tmp("Shape", what, &[x], vec![])?;
    let start = cx.ints(&format!("{what}_start"), &[0])?;
    let end = cx.ints(&format!("{what}_end"), &[keep])?;
    let leading = cx.tmp("Slice", what, &[&shape, &start, &end], vec![])?;
    if tail.is_empty() {
        return Ok(leading);
    }
    let tail = cx.ints(&format!("{what}_tail"), tail)?;
    cx.tmp("Concat", what, &[&leading, &tail], vec![attr::int("axis", 0)])
}

pub(crate) fn i64s(values: &[usize]) -> Vec<i64> {
    values.iter().map(|&v| v as i64).collect()
}

/// ONNX `pads`: all begins, then all ends.
pub(crate) fn pads(begin: &[usize], end: &[usize]) -> AttributeProto {
    let mut v = i64s(begin);
    v.extend(i64s(end));
    attr::ints("pads", &v)
}

/// A rank-`n` shape of ones with `inner` at position `at` (for parameters
/// that broadcast along the remaining axes).
pub(crate) fn broadcast_dims(inner: &[usize], at: usize, ndim: usize) -> Vec<usize> {
    let mut dims = inner.to_vec();
    dims.extend(std::iter::repeat_n(1, ndim.saturating_sub(at + inner.len())));
    dims
}
