//! Softmax along one axis: ONNX `Softmax` from opset 13 on has exactly this
//! meaning (before 13 it flattened the trailing axes).

use super::LayerCx;
use crate::attr;
use crate::error::Result;

pub(super) fn softmax(cx: &mut LayerCx<'_, '_>, axis: i32) -> Result<()> {
    let axis = cx.axis(axis, 0)?;
    let (x, out) = (cx.inputs[0].clone(), cx.out(0));
    cx.node("Softmax", &[&x], &[&out], vec![attr::int("axis", axis as i64)])
}
