//! Softmax along one axis. Along the last axis (every trailing axis of size
//! 1 counts as last) it is ONNX `Softmax`, which from opset 13 on has
//! exactly this meaning. Along an inner axis (e.g. the class axis of a
//! fully convolutional net's `1 x 1000 x H x W` scores) it is composed as
//! Caffe computes it: `exp(x - max) / sum(exp(x - max))` over the axis. Both
//! runtimes run the composition faster there (CaffeNet full-conv's prob,
//! 1x1000x8x8, one thread: tract 4.0 -> 0.4 ms, onnxruntime 0.41 -> 0.19 ms);
//! tract folds a Transpose around a last-axis Softmax back into the slow
//! inner-axis one.

use graph_ir::ops::Softmax;

use super::{reduce, LayerCx};
use crate::attr;
use crate::error::Result;

pub(super) fn softmax(cx: &mut LayerCx<'_, '_>, op: &Softmax) -> Result<()> {
    let axis = cx.axis(op.axis, 0)?;
    let (x, out) = (cx.inputs[0].clone(), cx.out(0));
    let shape = &cx.in_shapes[0];
    let trailing_free = cx.in_free[0][axis + 1..].contains(&true);
    if !trailing_free && shape[axis + 1..].iter().all(|&d| d == 1) {
        return cx.node("Softmax", &[&x], &[&out], vec![attr::int("axis", axis as i64)]);
    }
    let max = reduce(cx, "ReduceMax", &x, &[axis as i64], "max")?;
    let shifted = cx.tmp("Sub", "shifted", &[&x, &max], vec![])?;
    let exp = cx.tmp("Exp", "exp", &[&shifted], vec![])?;
    let sum = reduce(cx, "ReduceSum", &exp, &[axis as i64], "sum")?;
    cx.node("Div", &[&exp, &sum], &[&out], vec![])
}
