//! Parameter: as Caffe's `ParameterLayer`, no bottom; its one top is its one
//! learnable blob, of `parameter_param.shape` (zeros until weights are loaded).

use caffe_io::proto::LayerParameter;

use super::{LayerCtx, Op, ParamInit, Setup};
use crate::error::Result;
use crate::shape::Shape;

pub(crate) fn setup(ctx: &LayerCtx<'_>, layer: &LayerParameter) -> Result<Setup> {
    let Some(shape) = layer.parameter_param.as_ref().and_then(|p| p.shape.as_ref()) else {
        return Err(ctx.invalid("parameter_param.shape is required"));
    };
    let shape: Shape = shape
        .dim
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| ctx.invalid(format!("parameter_param.shape has a negative dim {d}"))))
        .collect::<Result<_>>()?;
    let op = Op::Parameter { shape: shape.clone() };
    Ok(Setup::known(
        op,
        vec![shape.clone()],
        vec![ParamInit { shape, fill: 0.0 }],
    ))
}
