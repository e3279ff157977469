//! Axpy (SE-Net's fork, hujie-frank/SENet `axpy_layer.cpp`):
//! `top = a * x + y` per channel, with bottoms `a` of shape (N, C) or
//! (N, C, 1, 1) (the squeeze-excitation weights), `x` (N, C, H, W) and `y` of
//! `x`'s shape; the top has `x`'s shape. No params.
//!
//! OpenCV's importer wires the two last bottoms the other way round
//! (`a * bottom[2] + bottom[1]`): this follows the fork's own code.

use caffe_io::proto::LayerParameter;

use super::{LayerCtx, Setup};
use crate::error::Result;
use crate::registry::{Arity, AxisFlow, LayerOp, LayerType};
use crate::shape::Shape;

/// `Axpy`: bottoms `a`, `x`, `y`; one top.
#[derive(Debug, Clone, PartialEq)]
pub struct Axpy;

/// Three bottoms, one top.
pub(crate) const TYPE: LayerType = LayerType::new(&["Axpy"], setup).bottoms(Arity::Exactly(3));

impl LayerOp for Axpy {
    /// The top is `x`'s shape.
    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        Some(flow.same_as_bottom(1))
    }
}

fn setup(ctx: &LayerCtx<'_>, _layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    let Some(inputs) = bottoms else {
        return Ok(Setup::unknown(Axpy, ctx.num_tops));
    };
    let (a, x, y) = (&inputs[0], &inputs[1], &inputs[2]);
    if x.len() != 4 {
        return Err(ctx.shape_error(inputs, "x (bottom 1) must be N x C x H x W"));
    }
    let a_fits = (a.len() == 2 || (a.len() == 4 && a[2] == 1 && a[3] == 1)) && a[..2] == x[..2];
    if !a_fits {
        return Err(ctx.shape_error(inputs, "a (bottom 0) must be N x C or N x C x 1 x 1, with x's N and C"));
    }
    if y != x {
        return Err(ctx.shape_error(inputs, "y (bottom 2) must have x's shape"));
    }
    Ok(Setup::known(Axpy, vec![x.clone()], Vec::new()))
}
