//! ShuffleChannel (ShuffleNet's fork of Caffe): views the C channels as a
//! `group x C/group` matrix and transposes it, so that channel
//! `g * (C/group) + i` moves to `i * group + g`; `group` (default 1) must
//! divide C. The input is read as N x C x H x W.

use caffe_io::proto::LayerParameter;

use super::{LayerCtx, Setup};
use crate::error::Result;
use crate::registry::{AxisFlow, LayerOp, LayerType};
use crate::shape::Shape;

/// `ShuffleChannel` (ShuffleNet fork): channels regrouped, `group` x `C / group` transposed.
#[derive(Debug, Clone, PartialEq)]
pub struct ShuffleChannel {
    pub group: usize,
}

/// `ShuffleChannel`: one bottom, one top.
pub(crate) const TYPE: LayerType = LayerType::new(&["ShuffleChannel"], setup);

impl LayerOp for ShuffleChannel {
    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        Some(flow.same_as_bottom(0))
    }
}

pub(crate) fn setup(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    let group = layer.shuffle_channel_param.unwrap_or_default().group() as usize;
    if group == 0 {
        return Err(ctx.invalid("shuffle_channel_param.group must be positive"));
    }
    let op = ShuffleChannel { group };
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
