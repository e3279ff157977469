//! ReduceMean, ReduceMax, ReduceMin, ReduceSum, ReduceSumSquare, ReduceL1,
//! ReduceL2. Mean or Max over H and W of an NCHW blob: a global AVE/MAX
//! Pooling (then Flatten when keepdims is 0). Any other axes, one at a
//! time: Max and Mean as a Pooling whose window is the whole axis (the blob
//! reshaped to `(P, 1, len, S)`, so the axis is the window's height; AVE
//! divides the sum by `len` as ONNX does), Min as the Max of `-x` negated
//! back; Sum as a 1x1 Convolution with weights of ones along the axis
//! (`linear_map::along`), SumSquare as the Sum of `x * x` (Eltwise PROD),
//! L1 as the Sum of AbsVal, L2 as the square root (Power 0.5) of the
//! SumSquare. Caffe's Reduction layer is not used: it reduces only trailing
//! axes, and OpenCV lacks it.

use caffe_io::proto::{eltwise_parameter::EltwiseOp, pooling_parameter::PoolMethod, PoolingParameter};
use ndarray::Array2;

use super::activation::{power, Power};
use super::clip::eltwise;
use super::{linear_map, reshape_param};
use crate::adapt;
use crate::cx::{Blob, Cx, Value};
use crate::error::OpResult;
use crate::node::Node;
use crate::refuse;
use crate::registry::Mapped;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Mean,
    Max,
    Min,
    Sum,
    SumSquare,
    L1,
    L2,
}

/// The opset from which the axes are an input (13 for ReduceSum, 18 for
/// the others).
fn axes_input_since(kind: Kind) -> i64 {
    if kind == Kind::Sum {
        13
    } else {
        18
    }
}

/// A Pooling over the whole of `axis` (MAX or AVE), keeping it as 1.
pub(crate) fn pool_axis(cx: &mut Cx, node: &Node, x: &Blob, axis: usize, max: bool) -> Blob {
    let len = x.shape[axis];
    let p: usize = x.shape[..axis].iter().product();
    let s: usize = x.shape[axis + 1..].iter().product();
    let part = format!("axis{axis}");
    let window = cx.part(node, &format!("{part}_window"), vec![p, 1, len, s]);
    cx.layer(
        node,
        &format!("{part}_window"),
        "Reshape",
        &[x],
        &[&window],
        vec![],
        |l| l.reshape_param = Some(reshape_param([p as i64, 1, len as i64, s as i64])),
    );
    let pooled = cx.part(node, &format!("{part}_pooled"), vec![p, 1, 1, s]);
    cx.layer(
        node,
        &format!("{part}_pooled"),
        "Pooling",
        &[&window],
        &[&pooled],
        vec![],
        |l| {
            l.pooling_param = Some(PoolingParameter {
                pool: Some(if max { PoolMethod::Max } else { PoolMethod::Ave } as i32),
                kernel_h: Some(len as u32),
                kernel_w: Some(1),
                ..Default::default()
            })
        },
    );
    let mut kept = x.shape.clone();
    kept[axis] = 1;
    let back = cx.part(node, &part, kept.clone());
    cx.layer(node, &part, "Reshape", &[&pooled], &[&back], vec![], |l| {
        l.reshape_param = Some(reshape_param(kept.iter().map(|&d| d as i64)))
    });
    back
}

fn negate(cx: &mut Cx, node: &Node, x: &Blob, part: &str) -> Blob {
    let out = cx.part(node, part, x.shape.clone());
    power(cx, node, part, x, &out, Power::affine(-1.0, 0.0));
    out
}

/// `x` reduced over `axes` (keepdims), in part blobs.
fn reduce_axes(cx: &mut Cx, node: &Node, kind: Kind, x: &Blob, axes: &[usize]) -> OpResult<Blob> {
    let mut cur = match kind {
        Kind::Min => negate(cx, node, x, "negated"),
        Kind::SumSquare | Kind::L2 => {
            let sq = cx.part(node, "squared", x.shape.clone());
            eltwise(cx, node, "squared", EltwiseOp::Prod, &[x, x], vec![], &sq);
            sq
        }
        Kind::L1 => {
            let a = cx.part(node, "abs", x.shape.clone());
            cx.layer(node, "abs", "AbsVal", &[x], &[&a], vec![], |_| {});
            a
        }
        _ => x.clone(),
    };
    for &axis in axes {
        cur = match kind {
            Kind::Max | Kind::Min => pool_axis(cx, node, &cur, axis, true),
            Kind::Mean => pool_axis(cx, node, &cur, axis, false),
            Kind::Sum | Kind::SumSquare | Kind::L1 | Kind::L2 => {
                let ones = Array2::ones((1, cur.shape[axis]));
                linear_map::along(cx, node, &cur, axis, ones, &format!("sum_axis{axis}"), None)?
            }
        };
    }
    Ok(match kind {
        Kind::Min => negate(cx, node, &cur, "min"),
        Kind::L2 => {
            let r = cx.part(node, "root", cur.shape.clone());
            power(cx, node, "root", &cur, &r, Power::pow(0.5));
            r
        }
        _ => cur,
    })
}

fn reduce(cx: &mut Cx, node: &Node, kind: Kind) -> OpResult<Mapped> {
    node.arity(1, 2, Some(1))?;
    let x = cx.blob(node, 0)?;
    let rank = x.rank() as i64;
    let given = adapt::axes(node, axes_input_since(kind), cx.constant(node, 1)?);
    let noop_when_empty = node.opset >= 18 && node.int("noop_with_empty_axes", 0)? != 0;
    let mut axes: Vec<usize> = match given.filter(|a| !a.is_empty()) {
        Some(a) => a
            .iter()
            .map(|&a| crate::node::normalize_axis(a, x.rank()))
            .collect::<OpResult<_>>()?,
        None if noop_when_empty => {
            cx.set_output(node, 0, Value::Blob(x));
            return Mapped::removed("no axes with noop_with_empty_axes: the identity");
        }
        None => (0..rank as usize).collect(),
    };
    axes.sort_unstable();
    axes.dedup();
    let keep = node.int("keepdims", 1)? != 0;
    let mut kept = x.shape.clone();
    for &a in &axes {
        kept[a] = 1;
    }
    let squeezed: Vec<usize> = (0..x.rank())
        .filter(|a| !axes.contains(a))
        .map(|a| x.shape[a])
        .collect();
    if !keep && squeezed.is_empty() {
        refuse!("a reduction of every axis with keepdims 0: Caffe blobs have at least one axis");
    }
    let global = rank == 4 && axes == [2, 3] && matches!(kind, Kind::Mean | Kind::Max);
    if global {
        let pooled_shape = vec![x.shape[0], x.shape[1], 1, 1];
        let max = kind == Kind::Max;
        if keep {
            let out = cx.output_blob(node, 0, pooled_shape);
            super::pool::global(cx, node, "", &x, max, &out);
            return Mapped::exact("Pooling with global_pooling");
        }
        let pooled = cx.part(node, "pooled", pooled_shape);
        super::pool::global(cx, node, "pool", &x, max, &pooled);
        let out = cx.output_blob(node, 0, vec![x.shape[0], x.shape[1]]);
        cx.layer(node, "", "Flatten", &[&pooled], &[&out], vec![], |_| {});
        return Mapped::composed("Pooling with global_pooling, then Flatten (keepdims 0)");
    }
    let reduced = reduce_axes(cx, node, kind, &x, &axes)?;
    let shape = if keep { kept } else { squeezed };
    let out = cx.output_blob(node, 0, shape.clone());
    cx.layer(node, "", "Reshape", &[&reduced], &[&out], vec![], |l| {
        l.reshape_param = Some(reshape_param(shape.iter().map(|&d| d as i64)))
    });
    let how = match kind {
        Kind::Max | Kind::Mean => "a Pooling over the whole axis",
        Kind::Min => "the MAX Pooling of -x over the whole axis, negated",
        Kind::Sum => "a 1x1 Convolution of ones along the axis",
        Kind::SumSquare => "x * x (Eltwise PROD), then a 1x1 Convolution of ones along the axis",
        Kind::L1 => "AbsVal, then a 1x1 Convolution of ones along the axis",
        Kind::L2 => "the square root (Power 0.5) of the sum of x * x by a 1x1 Convolution of ones",
    };
    Mapped::composed(format!("over axes {axes:?}, per axis: {how}"))
}

pub fn reduce_mean(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    reduce(cx, node, Kind::Mean)
}

pub fn reduce_max(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    reduce(cx, node, Kind::Max)
}

pub fn reduce_min(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    reduce(cx, node, Kind::Min)
}

pub fn reduce_sum(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    reduce(cx, node, Kind::Sum)
}

pub fn reduce_sum_square(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    reduce(cx, node, Kind::SumSquare)
}

pub fn reduce_l1(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    reduce(cx, node, Kind::L1)
}

pub fn reduce_l2(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    reduce(cx, node, Kind::L2)
}
