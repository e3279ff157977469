//! Parameter: as Caffe's `ParameterLayer`, no bottom; its one top is its one
//! learnable blob, of `parameter_param.shape` (zeros until weights are loaded).

use caffe_io::proto::LayerParameter;

use super::{Fill, LayerCtx, ParamInit, Setup};
use crate::error::Result;
use crate::registry::{Arity, AxisFlow, LayerOp, LayerType};
use crate::shape::Shape;

/// `Parameter`: its learnable blob, of `shape`, as its top.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    pub shape: Vec<usize>,
}

/// `Parameter`: no bottom, one top.
pub(crate) const TYPE: LayerType = LayerType::new(&["Parameter"], setup).bottoms(Arity::Exactly(0));

impl LayerOp for Parameter {
    fn param_count(&self) -> usize {
        1
    }
    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        Some(flow.fixed())
    }
}

fn setup(ctx: &LayerCtx<'_>, layer: &LayerParameter, _bottoms: Option<&[Shape]>) -> Result<Setup> {
    let Some(shape) = layer.parameter_param.as_ref().and_then(|p| p.shape.as_ref()) else {
        return Err(ctx.invalid("parameter_param.shape is required"));
    };
    let shape: Shape = shape
        .dim
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| ctx.invalid(format!("parameter_param.shape has a negative dim {d}"))))
        .collect::<Result<_>>()?;
    let op = Parameter { shape: shape.clone() };
    Ok(Setup::known(
        op,
        vec![shape.clone()],
        vec![ParamInit {
            shape,
            fill: Fill::Constant(0.0),
        }],
    ))
}
