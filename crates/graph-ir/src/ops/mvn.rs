//! MVN: as Caffe's `MVNLayer`, subtracts the mean of each channel of each
//! image (of each image with `across_channels`) and, with
//! `normalize_variance` (the default), divides by the standard deviation
//! plus `eps`: `(x - E[x]) / (sqrt(E[(x - E[x])^2]) + eps)`. Caffe adds `eps`
//! after the square root (OpenCV's importer adds it inside). The layer reads
//! its input through Caffe's legacy 4-axis accessors, so inputs of more than
//! four axes are refused as Caffe refuses them.

use caffe_io::proto::LayerParameter;

use super::{LayerCtx, Setup};
use crate::error::Result;
use crate::registry::{AxisFlow, LayerOp, LayerType};
use crate::shape::Shape;

/// `mvn_param` with Caffe's defaults applied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MvnParams {
    pub normalize_variance: bool,
    pub across_channels: bool,
    pub eps: f32,
}

impl MvnParams {
    /// The axes one mean is taken over for an input of `ndim` axes: from the
    /// channel axis (across channels) or from the first spatial axis on.
    pub fn reduced_axes(&self, ndim: usize) -> std::ops::Range<usize> {
        let from = if self.across_channels { 1 } else { 2 };
        from.min(ndim)..ndim
    }
}

pub(crate) fn setup(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    let p = layer.mvn_param.unwrap_or_default();
    let params = MvnParams {
        normalize_variance: p.normalize_variance(),
        across_channels: p.across_channels(),
        eps: p.eps(),
    };
    let Some(inputs) = bottoms else {
        return Ok(Setup::unknown(params, ctx.num_tops));
    };
    if inputs[0].len() > 4 {
        return Err(ctx.shape_error(inputs, "MVN reads its input as N x C x H x W: at most 4 axes"));
    }
    Ok(Setup::known(params, vec![inputs[0].clone()], Vec::new()))
}

/// `MVN`: one bottom, one top.
pub(crate) const TYPE: LayerType = LayerType::new(&["MVN"], setup);

impl LayerOp for MvnParams {
    fn computes_in_place(&self) -> bool {
        true
    }
    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        Some(flow.same_as_bottom(0))
    }
}
