//! Reduction: as Caffe's `ReductionLayer`, reduces all the axes from `axis`
//! (default 0) on, keeping the ones before (so `axis: 0` gives a scalar), with
//! SUM (default), ASUM (sum of |x|), SUMSQ (sum of x^2) or MEAN, then scales
//! by `coeff` (default 1). Caffe computes MEAN as SUM with `coeff / count`.

use caffe_io::proto::reduction_parameter::ReductionOp as ProtoOp;
use caffe_io::proto::LayerParameter;

use super::{LayerCtx, Setup};
use crate::error::Result;
use crate::registry::{AxisFlow, LayerOp, LayerType};
use crate::shape::Shape;

/// The reduction applied to each group of values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReductionOp {
    Sum,
    Asum,
    Sumsq,
    Mean,
}

/// `reduction_param` with Caffe's defaults applied; `axis` is resolved when
/// the input shape is known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReductionParams {
    pub operation: ReductionOp,
    pub axis: i32,
    pub coeff: f32,
}

pub(crate) fn setup(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    let p = layer.reduction_param.unwrap_or_default();
    let operation = match p.operation() {
        ProtoOp::Sum => ReductionOp::Sum,
        ProtoOp::Asum => ReductionOp::Asum,
        ProtoOp::Sumsq => ReductionOp::Sumsq,
        ProtoOp::Mean => ReductionOp::Mean,
    };
    let mut params = ReductionParams {
        operation,
        axis: p.axis(),
        coeff: p.coeff(),
    };
    let Some(inputs) = bottoms else {
        return Ok(Setup::unknown(params, ctx.num_tops));
    };
    let axis = ctx.axis(params.axis, inputs, 0, "reduction_param.axis")?;
    params.axis = axis as i32;
    let top = inputs[0][..axis].to_vec();
    Ok(Setup::known(params, vec![top], Vec::new()))
}

/// `Reduction`: one bottom, one top.
pub(crate) const TYPE: LayerType = LayerType::new(&["Reduction"], setup);

impl LayerOp for ReductionParams {
    /// The axes before `axis` are kept.
    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        Some(flow.leading_of_bottom(0))
    }
}
