//! Reduction: Caffe reduces every axis from `axis` on and drops them, which
//! is an ONNX reduction with `keepdims = 0` (SUM `ReduceSum`, ASUM
//! `ReduceL1`, SUMSQ `ReduceSumSquare`), then a `Mul` by `coeff` unless that
//! is one. MEAN is not `ReduceMean`: Caffe's `Reshape` turns it into SUM with the
//! float coefficient `coeff / dim` (`coeff_ /= dim_`), and `sum * f32(1 / 3)`
//! is not always `sum / 3`, so it is `ReduceSum` times that coefficient
//! (computed from the input's shape at run time when a reduced axis is
//! symbolic). A reduction from axis 0 gives a scalar, as in Caffe.

use graph_ir::ops::{ReductionOp, ReductionParams};

use super::{reduce_into, LayerCx};
use crate::error::Result;
use crate::onnx::tensor_proto::DataType;

pub(super) fn reduction(cx: &mut LayerCx<'_, '_>, p: &ReductionParams) -> Result<()> {
    let axis = cx.axis(p.axis, 0)?;
    let (x, out) = (cx.inputs[0].clone(), cx.out(0));
    let axes: Vec<i64> = (axis..cx.in_shapes[0].len()).map(|a| a as i64).collect();
    let op = match p.operation {
        ReductionOp::Sum | ReductionOp::Mean => "ReduceSum",
        ReductionOp::Asum => "ReduceL1",
        ReductionOp::Sumsq => "ReduceSumSquare",
    };
    if p.operation == ReductionOp::Mean {
        return mean(cx, p, &x, &axes, &out);
    }
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

/// MEAN as Caffe computes it: the sum times `f32(coeff) / f32(dim)`.
fn mean(cx: &mut LayerCx<'_, '_>, p: &ReductionParams, x: &str, axes: &[i64], out: &str) -> Result<()> {
    let axis = axes.first().map_or(cx.in_shapes[0].len(), |&a| a as usize);
    let dim: usize = cx.in_shapes[0][axis..].iter().product();
    // A symbolic spatial axis, or the batch when it is symbolic and reduced.
    let symbolic = cx.in_free[0][axis..].contains(&true) || (axis == 0 && cx.batch.is_some());
    if dim == 1 && !symbolic {
        // Caffe leaves coeff_ as it is (and skips the scaling when it is 1).
        return sum_times_coeff(cx, p.coeff, x, axes, out);
    }
    let reduced = cx.fresh_name("reduced");
    reduce_into(cx, "ReduceSum", x, axes, false, "reduced", &reduced)?;
    let coeff = if symbolic {
        // dim from the input's shape, converted to float as C++ does.
        let shape = cx.tmp("Shape", "shape", &[x], vec![])?;
        let start = cx.ints("reduced_from", &[axis as i64])?;
        let end = cx.ints("reduced_to", &[i64::MAX])?;
        let dims = cx.tmp("Slice", "reduced_dims", &[&shape, &start, &end], vec![])?;
        let count = cx.tmp("ReduceProd", "count", &[&dims], vec![crate::attr::int("keepdims", 0)])?;
        let count = cx.tmp(
            "Cast",
            "count_f",
            &[&count],
            vec![crate::attr::int("to", DataType::Float as i64)],
        )?;
        let c = cx.scalar("coeff", p.coeff)?;
        cx.tmp("Div", "mean_coeff", &[&c, &count], vec![])?
    } else {
        cx.scalar("mean_coeff", p.coeff / dim as f32)?
    };
    cx.node("Mul", &[&reduced, &coeff], &[out], vec![])
}

fn sum_times_coeff(cx: &mut LayerCx<'_, '_>, coeff: f32, x: &str, axes: &[i64], out: &str) -> Result<()> {
    if coeff == 1.0 {
        return reduce_into(cx, "ReduceSum", x, axes, false, "reduced", out);
    }
    let reduced = cx.fresh_name("reduced");
    reduce_into(cx, "ReduceSum", x, axes, false, "reduced", &reduced)?;
    let c = cx.scalar("coeff", coeff)?;
    cx.node("Mul", &[&reduced, &c], &[out], vec![])
}
