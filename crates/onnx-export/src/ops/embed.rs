//! Embed: `Cast` the input to int64 (truncation toward zero, as Caffe's
//! `static_cast<int>`), `Gather` rows of the `(input_dim, num_output)` table,
//! `Add` the bias.

use graph_ir::ops::Embed;

use super::LayerCx;
use crate::attr;
use crate::error::Result;
use crate::onnx::tensor_proto::DataType;

pub(super) fn embed(cx: &mut LayerCx<'_, '_>, op: &Embed) -> Result<()> {
    let bias_term = op.bias_term;
    let (x, out) = (cx.inputs[0].clone(), cx.out(0));
    let indices = cx.tmp("Cast", "indices", &[&x], vec![attr::int("to", DataType::Int64 as i64)])?;
    let table = cx.param(0, "weight", None)?;
    if !bias_term {
        return cx.node("Gather", &[&table, &indices], &[&out], vec![attr::int("axis", 0)]);
    }
    let rows = cx.tmp("Gather", "rows", &[&table, &indices], vec![attr::int("axis", 0)])?;
    let bias = cx.param(1, "bias", None)?;
    cx.node("Add", &[&rows, &bias], &[&out], vec![])
}
