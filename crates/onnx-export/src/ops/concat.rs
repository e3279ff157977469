//! Concat -> `Concat`; Slice -> `Split` with the sizes between the cut points;
//! a Split layer written in the prototxt -> one `Identity` per top (Caffe's
//! automatic splits are aliases, handled by the export walk).

use graph_ir::ops::{Concat, SliceParams, Split};

use super::LayerCx;
use crate::attr;
use crate::error::Result;

pub(super) fn concat(cx: &mut LayerCx<'_, '_>, op: &Concat) -> Result<()> {
    let axis = cx.axis(op.axis, 0)?;
    let ndim = cx.in_shapes[0].len();
    for i in 1..cx.inputs.len() {
        cx.require_same_free(i, 0..axis, 0)?;
        cx.require_same_free(i, axis + 1..ndim, axis + 1)?;
    }
    let inputs = cx.inputs.clone();
    let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
    let out = cx.out(0);
    cx.node("Concat", &refs, &[&out], vec![attr::int("axis", axis as i64)])
}

pub(super) fn slice(cx: &mut LayerCx<'_, '_>, p: &SliceParams) -> Result<()> {
    let axis = cx.axis(p.axis, 0)?;
    cx.fixed_axis(axis, "Slice")?;
    cx.require_fixed(0, axis..axis + 1, "the cut points are fixed")?;
    let sizes: Vec<i64> = cx.out_shapes.iter().map(|s| s[axis] as i64).collect();
    let x = cx.inputs[0].clone();
    let outputs = cx.outputs.clone();
    if outputs.len() == 1 {
        return cx.identity(&x, &outputs[0]);
    }
    let split = cx.ints("split", &sizes)?;
    let refs: Vec<&str> = outputs.iter().map(String::as_str).collect();
    cx.node("Split", &[&x, &split], &refs, vec![attr::int("axis", axis as i64)])
}

pub(super) fn split(cx: &mut LayerCx<'_, '_>, _op: &Split) -> Result<()> {
    let x = cx.inputs[0].clone();
    for out in cx.outputs.clone() {
        cx.identity(&x, &out)?;
    }
    Ok(())
}
