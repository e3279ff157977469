//! Parameter: Caffe's `ParameterLayer` outputs its learnable blob, so the
//! blob is an initializer copied to the top.

use graph_ir::ops::Parameter;

use super::LayerCx;
use crate::error::Result;

pub(super) fn parameter(cx: &mut LayerCx<'_, '_>, _op: &Parameter) -> Result<()> {
    let value = cx.param(0, "value", None)?;
    let out = cx.out(0);
    cx.identity(&value, &out)
}
