//! LRN: as Caffe's `LRNLayer`, a 4-D input normalized across channels or
//! within each channel; `local_size` must be odd; the output keeps the
//! input's shape. Defaults: local_size 5, alpha 1, beta 0.75, k 1.

use caffe_io::proto::lrn_parameter::NormRegion as ProtoRegion;
use caffe_io::proto::LayerParameter;

use super::{LayerCtx, Setup};
use crate::error::Result;
use crate::registry::{AxisFlow, LayerOp, LayerType};
use crate::shape::Shape;

/// Which neighbourhood LRN sums over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NormRegion {
    /// `y = x * (k + alpha/n * sum_{n channels} x^2) ^ -beta`.
    AcrossChannels,
    /// `y = x * (1 + alpha/n^2 * sum_{n x n window} x^2) ^ -beta` (k unused).
    WithinChannel,
}

/// LRN parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct LrnParams {
    pub local_size: usize,
    pub alpha: f32,
    pub beta: f32,
    pub k: f32,
    pub region: NormRegion,
}

impl LrnParams {
    /// Parses `lrn_param` with Caffe's defaults; `local_size` must be odd.
    pub fn from_layer(ctx: &LayerCtx<'_>, layer: &LayerParameter) -> Result<Self> {
        let p = layer.lrn_param.unwrap_or_default();
        let local_size = p.local_size() as usize;
        if local_size % 2 != 1 {
            return Err(ctx.invalid(format!(
                "LRN only supports odd values for local_size (got {local_size})"
            )));
        }
        Ok(LrnParams {
            local_size,
            alpha: p.alpha(),
            beta: p.beta(),
            k: p.k(),
            region: match p.norm_region() {
                ProtoRegion::AcrossChannels => NormRegion::AcrossChannels,
                ProtoRegion::WithinChannel => NormRegion::WithinChannel,
            },
        })
    }

    /// The input's shape; the input must be 4-D.
    pub fn output_shape(&self, ctx: &LayerCtx<'_>, inputs: &[Shape]) -> Result<Shape> {
        if inputs[0].len() != 4 {
            return Err(ctx.shape_error(inputs, "input must have 4 axes (num, channels, height, width)"));
        }
        Ok(inputs[0].clone())
    }
}

pub(crate) fn setup(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    let params = LrnParams::from_layer(ctx, layer)?;
    let Some(inputs) = bottoms else {
        return Ok(Setup::unknown(params, ctx.num_tops));
    };
    let top = params.output_shape(ctx, inputs)?;
    Ok(Setup::known(params, vec![top], Vec::new()))
}

/// `LRN`: one bottom, one top.
pub(crate) const TYPE: LayerType = LayerType::new(&["LRN"], setup);

impl LayerOp for LrnParams {
    fn computes_in_place(&self) -> bool {
        true
    }
    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        Some(flow.same_as_bottom(0))
    }
}
