//! Softmax: as Caffe's `SoftmaxLayer`, normalizes along `axis` (default 1)
//! only; the output keeps the input's shape.

use caffe_io::proto::LayerParameter;

use super::{LayerCtx, Setup};
use crate::error::Result;
use crate::registry::{AxisFlow, LayerOp, LayerType};
use crate::shape::Shape;

/// `Softmax` along `axis` only (resolved when the shapes are known).
#[derive(Debug, Clone, PartialEq)]
pub struct Softmax {
    pub axis: i32,
}

/// `Softmax`: one bottom, one top.
pub(crate) const TYPE: LayerType = LayerType::new(&["Softmax"], setup);

impl LayerOp for Softmax {
    fn computes_in_place(&self) -> bool {
        true
    }
    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        Some(flow.same_as_bottom(0))
    }
}

pub(crate) fn setup(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    let axis = layer.softmax_param.unwrap_or_default().axis();
    let Some(inputs) = bottoms else {
        return Ok(Setup::unknown(Softmax { axis }, ctx.num_tops));
    };
    let axis = ctx.axis(axis, inputs, 0, "softmax_param.axis")? as i32;
    Ok(Setup::known(Softmax { axis }, vec![inputs[0].clone()], Vec::new()))
}
