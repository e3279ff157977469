//! Reduction: Caffe reduces every axis from `axis` on and drops them, which
//! is an ONNX reduction with `keepdims = 0` (SUM `ReduceSum`, ASUM
//! `ReduceL1`, SUMSQ `ReduceSumSquare`, MEAN `ReduceMean`), then a `Mul` by
//! `coeff` unless it is 1. A reduction from axis 0 gives a scalar, as in Caffe.

use graph_ir::ops::{ReductionOp, ReductionParams};

use super::{reduce_into, LayerCx};
use crate::error::Result;

pub(super) fn reduction(cx: &mut LayerCx<'_, '_>, p: &ReductionParams) -> Result<()> {
    let axis = cx.axis(p.axis, 0)?;
    let (x, out) = (cx.inputs[0].clone(), cx.out(0));
    let axes: Vec<i64> = (axis..cx.in_shapes[0].len()).map(|a| a as i64).collect();
    let op = match p.operation {
        ReductionOp::Sum => "ReduceSum",
        ReductionOp::Asum => "ReduceL1",
        ReductionOp::Sumsq => "ReduceSumSquare",
        ReductionOp::Mean => "ReduceMean",
    };
    let reduced = if p.coeff == 1.0 {
        out.clone()
    } else {
        cx.g.fresh_name(&format!("{}/reduced", cx.name()))
    };
    reduce_into(cx, op, &x, &axes, false, "reduced", &reduced)?;
    if p.coeff == 1.0 {
        return Ok(());
    }
    let coeff = cx.scalar("coeff", p.coeff)?;
    cx.node("Mul", &[&reduced, &coeff], &[&out], vec![])
}
