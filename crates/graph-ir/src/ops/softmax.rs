//! Softmax: as Caffe's `SoftmaxLayer`, normalizes along `axis` (default 1)
//! only; the output keeps the input's shape.

use caffe_io::proto::LayerParameter;

use super::{LayerCtx, Op, Setup};
use crate::error::Result;
use crate::shape::Shape;

pub(crate) fn setup(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    let axis = layer.softmax_param.unwrap_or_default().axis();
    let Some(inputs) = bottoms else {
        return Ok(Setup::unknown(Op::Softmax { axis }, ctx.num_tops));
    };
    let axis = ctx.axis(axis, inputs, 0, "softmax_param.axis")? as i32;
    Ok(Setup::known(Op::Softmax { axis }, vec![inputs[0].clone()], Vec::new()))
}
