//! Eltwise: as Caffe's `EltwiseLayer`, PROD, SUM (default, one optional
//! `coeff` per bottom) or MAX over inputs of identical shape.

use caffe_io::proto::eltwise_parameter::EltwiseOp as ProtoOp;
use caffe_io::proto::LayerParameter;

use super::{check_same_shapes, LayerCtx, Setup};
use crate::error::Result;
use crate::registry::{Arity, AxisFlow, LayerOp, LayerType};
use crate::shape::Shape;

/// The element-wise operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EltwiseOp {
    Prod,
    Sum,
    Max,
}

/// Resolved Eltwise parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct EltwiseParams {
    pub operation: EltwiseOp,
    /// One coefficient per bottom (all 1 unless given; only SUM may set them).
    pub coeffs: Vec<f32>,
}

impl EltwiseParams {
    /// Parses `eltwise_param` for a layer with `num_bottoms` inputs.
    pub fn from_layer(ctx: &LayerCtx<'_>, layer: &LayerParameter) -> Result<Self> {
        let p = layer.eltwise_param.clone().unwrap_or_default();
        let operation = match p.operation() {
            ProtoOp::Prod => EltwiseOp::Prod,
            ProtoOp::Sum => EltwiseOp::Sum,
            ProtoOp::Max => EltwiseOp::Max,
        };
        if !p.coeff.is_empty() && p.coeff.len() != ctx.num_bottoms {
            return Err(ctx.invalid(format!(
                "Eltwise takes one coefficient per bottom: {} coeff for {} bottoms",
                p.coeff.len(),
                ctx.num_bottoms
            )));
        }
        if operation == EltwiseOp::Prod && !p.coeff.is_empty() {
            return Err(ctx.invalid("Eltwise only takes coefficients for summation"));
        }
        let coeffs = if p.coeff.is_empty() {
            vec![1.0; ctx.num_bottoms]
        } else {
            p.coeff.clone()
        };
        Ok(EltwiseParams { operation, coeffs })
    }
}

pub(crate) fn setup(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    let params = EltwiseParams::from_layer(ctx, layer)?;
    let Some(inputs) = bottoms else {
        return Ok(Setup::unknown(params, ctx.num_tops));
    };
    check_same_shapes(ctx, inputs)?;
    Ok(Setup::known(params, vec![inputs[0].clone()], Vec::new()))
}

/// `Eltwise`: two or more bottoms of one shape, one top.
pub(crate) const TYPE: LayerType = LayerType::new(&["Eltwise"], setup).bottoms(Arity::AtLeast(2));

impl LayerOp for EltwiseParams {
    /// An axis of the top is symbolic when that axis of any bottom is.
    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        Some(flow.any_bottom())
    }
}
