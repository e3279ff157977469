//! ShuffleChannel: `Reshape` to N x group x C/group x (H*W), `Transpose` the
//! two channel axes, `Reshape` back to the input's own (possibly symbolic)
//! shape.

use graph_ir::ops::ShuffleChannel;

use super::LayerCx;
use crate::attr;
use crate::error::Result;

pub(super) fn shuffle_channel(cx: &mut LayerCx<'_, '_>, op: &ShuffleChannel) -> Result<()> {
    let group = op.group;
    let (x, out) = (cx.inputs[0].clone(), cx.out(0));
    let channels = cx.in_shapes[0][1];
    if cx.in_free[0].get(1) == Some(&true) {
        return Err(cx.unsupported("the channel count must be fixed to regroup the channels"));
    }
    // 0 copies the batch, -1 takes whatever H * W is.
    let grouped = cx.ints("grouped", &[0, group as i64, (channels / group) as i64, -1])?;
    let r = cx.tmp("Reshape", "grouped", &[&x, &grouped], vec![])?;
    let t = cx.tmp("Transpose", "shuffled", &[&r], vec![attr::ints("perm", &[0, 2, 1, 3])])?;
    let shape = cx.tmp("Shape", "shape", &[&x], vec![])?;
    cx.node("Reshape", &[&t, &shape], &[&out], vec![])
}
