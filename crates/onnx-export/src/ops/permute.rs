//! Permute (SSD fork): ONNX `Transpose` with the layer's full axis order.

use graph_ir::ops::Permute;

use super::{i64s, LayerCx};
use crate::attr;
use crate::error::Result;

pub(super) fn permute(cx: &mut LayerCx<'_, '_>, op: &Permute) -> Result<()> {
    let order = &op.order;
    let (x, out) = (cx.inputs[0].clone(), cx.out(0));
    if order.len() != cx.in_shapes[0].len() {
        return Err(cx.unsupported("the permutation does not name every axis"));
    }
    cx.node("Transpose", &[&x], &[&out], vec![attr::ints("perm", &i64s(order))])
}
