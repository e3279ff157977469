//! Axpy: `Mul(a, x)` then `Add(., y)`, `a` viewed as N x C x 1 x 1 so that
//! it broadcasts over each channel's plane (as the fork's per-channel
//! `caffe_axpy`).

use graph_ir::ops::Axpy;

use super::LayerCx;
use crate::error::Result;

pub(super) fn axpy(cx: &mut LayerCx<'_, '_>, _op: &Axpy) -> Result<()> {
    let (a, x, y, out) = (
        cx.inputs[0].clone(),
        cx.inputs[1].clone(),
        cx.inputs[2].clone(),
        cx.out(0),
    );
    let a = if cx.in_shapes[0].len() == 2 {
        // 0 copies N and C from `a` itself, so a symbolic batch stays symbolic.
        let dims = cx.ints("per_channel", &[0, 0, 1, 1])?;
        cx.tmp("Reshape", "a", &[&a, &dims], vec![])?
    } else {
        a
    };
    let scaled = cx.tmp("Mul", "ax", &[&a, &x], vec![])?;
    cx.node("Add", &[&scaled, &y], &[&out], vec![])
}
