//! Scale and Bias: as Caffe's `ScaleLayer` and `BiasLayer`. With one bottom
//! the factor (or offset) is a learned param of shape
//! `input[axis .. axis + num_axes]` (defaults axis 1, num_axes 1; -1 = to the
//! end); with two bottoms the second bottom is the factor (offset), matched
//! against the first from `axis` (from 0 when it is a scalar). Scale's
//! `bias_term` adds a learned offset of the factor's extent. The output keeps
//! the first input's shape. Scale's factor starts at 1 unless a filler says.

use caffe_io::proto::LayerParameter;

use super::{filler_value, LayerCtx, ParamInit, Setup};
use crate::error::Result;
use crate::registry::{Arity, AxisFlow, LayerOp, LayerType};
use crate::shape::{fmt_shape, Shape};

/// Resolved Scale parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct ScaleParams {
    /// First axis of the input the factor applies to.
    pub axis: i32,
    /// Axes the learned factor spans (-1: to the end); unused with two bottoms.
    pub num_axes: i32,
    /// The factor is param 0 (one bottom) rather than bottom 1.
    pub learned_scale: bool,
    /// A learned offset follows the factor (the last param).
    pub bias_term: bool,
}

/// Resolved Bias parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct BiasParams {
    pub axis: i32,
    /// Axes the learned offset spans (-1: to the end); unused with two bottoms.
    pub num_axes: i32,
    /// The offset is param 0 (one bottom) rather than bottom 1.
    pub learned: bool,
}

/// The extent `input[axis .. axis + num_axes]` of a learned factor/offset.
fn learned_shape(ctx: &LayerCtx<'_>, inputs: &[Shape], axis: usize, num_axes: i32) -> Result<Shape> {
    let input = &inputs[0];
    if num_axes < -1 {
        return Err(ctx.invalid(format!(
            "num_axes must be non-negative, or -1 to extend to the end of bottom[0] (got {num_axes})"
        )));
    }
    let end = if num_axes == -1 {
        input.len()
    } else {
        axis + num_axes as usize
    };
    if end > input.len() {
        return Err(ctx.shape_error(
            inputs,
            format!("a {num_axes}-axis param from axis {axis} extends past bottom 0"),
        ));
    }
    Ok(input[axis..end].to_vec())
}

/// Checks that `operand` (param or bottom 1) matches `input` from `axis`
/// (axis 0 when the operand is a scalar), as both layers' `Reshape`.
fn check_operand(ctx: &LayerCtx<'_>, inputs: &[Shape], raw_axis: i32, operand: &[usize]) -> Result<()> {
    let input = &inputs[0];
    let axis = if operand.is_empty() {
        0
    } else {
        ctx.axis(raw_axis, inputs, 0, "axis")?
    };
    let fits = axis + operand.len() <= input.len() && input[axis..axis + operand.len()] == *operand;
    if !fits {
        return Err(ctx.shape_error(
            inputs,
            format!(
                "the operand of shape {} does not match bottom 0 {} from axis {axis}",
                fmt_shape(operand),
                fmt_shape(input)
            ),
        ));
    }
    Ok(())
}

pub(crate) fn setup_scale(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    let p = layer.scale_param.clone().unwrap_or_default();
    let mut params = ScaleParams {
        axis: p.axis(),
        num_axes: p.num_axes(),
        learned_scale: ctx.num_bottoms == 1,
        bias_term: p.bias_term(),
    };
    let Some(inputs) = bottoms else {
        return Ok(Setup::unknown(params, ctx.num_tops));
    };
    let axis = ctx.axis(params.axis, inputs, 0, "scale_param.axis")?;
    let mut inits = Vec::new();
    let factor = if params.learned_scale {
        let shape = learned_shape(ctx, inputs, axis, params.num_axes)?;
        inits.push(ParamInit {
            shape: shape.clone(),
            fill: filler_value(p.filler.as_ref(), 1.0),
        });
        shape
    } else {
        inputs[1].clone()
    };
    check_operand(ctx, inputs, params.axis, &factor)?;
    if params.bias_term {
        // Caffe builds an inner Bias layer spanning the factor's axes from `axis`.
        let bias_axes = if params.learned_scale {
            params.num_axes
        } else {
            inputs[1].len() as i32
        };
        let shape = learned_shape(ctx, inputs, axis, bias_axes)?;
        inits.push(ParamInit {
            shape,
            fill: filler_value(p.bias_filler.as_ref(), 0.0),
        });
    }
    params.axis = axis as i32;
    Ok(Setup::known(params, vec![inputs[0].clone()], inits))
}

pub(crate) fn setup_bias(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    let p = layer.bias_param.clone().unwrap_or_default();
    let mut params = BiasParams {
        axis: p.axis(),
        num_axes: p.num_axes(),
        learned: ctx.num_bottoms == 1,
    };
    let Some(inputs) = bottoms else {
        return Ok(Setup::unknown(params, ctx.num_tops));
    };
    let axis = ctx.axis(params.axis, inputs, 0, "bias_param.axis")?;
    let mut inits = Vec::new();
    let offset = if params.learned {
        let shape = learned_shape(ctx, inputs, axis, params.num_axes)?;
        inits.push(ParamInit {
            shape: shape.clone(),
            fill: filler_value(p.filler.as_ref(), 0.0),
        });
        shape
    } else {
        inputs[1].clone()
    };
    check_operand(ctx, inputs, params.axis, &offset)?;
    params.axis = axis as i32;
    Ok(Setup::known(params, vec![inputs[0].clone()], inits))
}

/// `Scale`: the input, and optionally the scale as a second bottom.
pub(crate) const SCALE: LayerType = LayerType::new(&["Scale"], setup_scale).bottoms(Arity::Between(1, 2));
/// `Bias`: the input, and optionally the bias as a second bottom.
pub(crate) const BIAS: LayerType = LayerType::new(&["Bias"], setup_bias).bottoms(Arity::Between(1, 2));

impl LayerOp for ScaleParams {
    fn param_count(&self) -> usize {
        usize::from(self.learned_scale) + usize::from(self.bias_term)
    }
    fn computes_in_place(&self) -> bool {
        true
    }
    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        Some(flow.same_as_bottom(0))
    }
}

impl LayerOp for BiasParams {
    fn param_count(&self) -> usize {
        usize::from(self.learned)
    }
    fn computes_in_place(&self) -> bool {
        true
    }
    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        Some(flow.same_as_bottom(0))
    }
}
