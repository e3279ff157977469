//! Normalize (SSD fork) as the fork computes it:
//! `x / Sqrt(ReduceSumSquare(x) + eps)`, summing over all of an image's
//! values (`across_spatial`) or over the channels at each position, then
//! `Mul` by the scale (one value, or one per channel broadcast over the
//! spatial axes).

use graph_ir::ops::NormalizeParams;

use super::{broadcast_dims, reduce, LayerCx};
use crate::error::Result;

pub(super) fn normalize(cx: &mut LayerCx<'_, '_>, p: &NormalizeParams) -> Result<()> {
    let (x, out) = (cx.inputs[0].clone(), cx.out(0));
    let shape = cx.in_shapes[0].clone();
    let axes: Vec<i64> = if p.across_spatial {
        (1..shape.len() as i64).collect()
    } else {
        vec![1]
    };
    let sum = reduce(cx, "ReduceSumSquare", &x, &axes, "sum_squares")?;
    let eps = cx.scalar("eps", p.eps)?;
    let shifted = cx.tmp("Add", "plus_eps", &[&sum, &eps], vec![])?;
    let norm = cx.tmp("Sqrt", "norm", &[&shifted], vec![])?;
    let normalized = cx.tmp("Div", "normalized", &[&x, &norm], vec![])?;
    let dims = if p.channel_shared {
        Vec::new()
    } else {
        broadcast_dims(&[shape[1]], 1, shape.len())
    };
    let scale = cx.param(0, "scale", Some(&dims))?;
    cx.node("Mul", &[&normalized, &scale], &[&out], vec![])
}
