//! Normalize (SSD fork of Caffe): L2-normalizes each image
//! (`across_spatial`, the default) or each spatial position over the
//! channels, `x / sqrt(sum x^2 + eps)`, then multiplies by a learned scale:
//! one value (`channel_shared`, the default; shape `()`) or one per channel
//! (`(C,)`), filled with 1 unless `scale_filler` says otherwise. The input is
//! read through Caffe's legacy 4-axis accessors: 2 to 4 axes.

use caffe_io::proto::LayerParameter;

use super::{filler_value, LayerCtx, ParamInit, Setup};
use crate::error::Result;
use crate::registry::{AxisFlow, LayerOp, LayerType};
use crate::shape::Shape;

/// `norm_param` with the SSD fork's defaults applied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NormalizeParams {
    pub across_spatial: bool,
    pub channel_shared: bool,
    pub eps: f32,
}

pub(crate) fn setup(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    let p = layer.norm_param.clone().unwrap_or_default();
    let params = NormalizeParams {
        across_spatial: p.across_spatial(),
        channel_shared: p.channel_shared(),
        eps: p.eps(),
    };
    let Some(inputs) = bottoms else {
        return Ok(Setup::unknown(params, ctx.num_tops));
    };
    let input = &inputs[0];
    if !(2..=4).contains(&input.len()) {
        return Err(ctx.shape_error(inputs, "Normalize reads its input as N x C x H x W: 2 to 4 axes"));
    }
    let scale = ParamInit {
        shape: if params.channel_shared {
            Vec::new()
        } else {
            vec![input[1]]
        },
        fill: filler_value(p.scale_filler.as_ref(), 1.0),
    };
    Ok(Setup::known(params, vec![input.clone()], vec![scale]))
}

/// `Normalize` (SSD fork): one bottom, one top, one scale param.
pub(crate) const TYPE: LayerType = LayerType::new(&["Normalize"], setup);

impl LayerOp for NormalizeParams {
    fn param_count(&self) -> usize {
        1
    }
    fn computes_in_place(&self) -> bool {
        true
    }
    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        Some(flow.same_as_bottom(0))
    }
}
