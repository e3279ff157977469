//! Flatten and Reshape -> `Reshape` to the top shape the net inferred (Caffe's
//! `0` = copy and `-1` = infer are already resolved there).

use graph_ir::ops::{Flatten, ReshapeParams};

use super::LayerCx;
use crate::error::Result;

pub(super) fn flatten(cx: &mut LayerCx<'_, '_>, _op: &Flatten) -> Result<()> {
    reshape_to_top(cx)
}

pub(super) fn reshape(cx: &mut LayerCx<'_, '_>, _op: &ReshapeParams) -> Result<()> {
    reshape_to_top(cx)
}

/// Both layers give the top the shape the net inferred for it.
fn reshape_to_top(cx: &mut LayerCx<'_, '_>) -> Result<()> {
    let (x, out) = (cx.inputs[0].clone(), cx.out(0));
    let (x_shape, shape) = (cx.in_shapes[0].clone(), cx.out_shapes[0].clone());
    cx.require_fixed(0, 0..x_shape.len(), "its target shape is fixed at export")?;
    cx.reshape(&x, &x_shape, &shape, Some(&out)).map(|_| ())
}
