//! ShuffleChannel (ShuffleNet's fork of Caffe): views the C channels as a
//! `group x C/group` matrix and transposes it, so that channel
//! `g * (C/group) + i` moves to `i * group + g`; `group` (default 1) must
//! divide C. The input is read as N x C x H x W.

use caffe_io::proto::LayerParameter;

use super::{LayerCtx, Op, Setup};
use crate::error::Result;
use crate::shape::Shape;

pub(crate) fn setup(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    let group = layer.shuffle_channel_param.unwrap_or_default().group() as usize;
    if group == 0 {
        return Err(ctx.invalid("shuffle_channel_param.group must be positive"));
    }
    let op = Op::ShuffleChannel { group };
    let Some(inputs) = bottoms else {
        return Ok(Setup::unknown(op, ctx.num_tops));
    };
    let input = &inputs[0];
    if input.len() != 4 {
        return Err(ctx.shape_error(inputs, "ShuffleChannel takes an N x C x H x W input"));
    }
    if input[1] % group != 0 {
        return Err(ctx.shape_error(
            inputs,
            format!("group {group} does not divide the {} channels", input[1]),
        ));
    }
    Ok(Setup::known(op, vec![input.clone()], Vec::new()))
}
