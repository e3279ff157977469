//! BatchNorm: `(x - mean) / sqrt(var + eps)` per channel, no affine part (a
//! following Scale layer has it). The stored blobs are `mean * s`, `var * s`
//! and `s`; like Caffe the export divides by `s` (0 if `s` is 0) and adds eps
//! and takes the square root in f32, then subtracts and divides, so the
//! rounding is Caffe's. With `use_global_stats: false` Caffe normalizes with
//! the batch's own statistics even at test time: ReduceMean over every axis
//! but the channel.

use graph_ir::ops::BatchNormParams;
use ndarray::{ArrayD, IxDyn};

use super::{broadcast_dims, LayerCx};
use crate::error::Result;

pub(super) fn batch_norm(cx: &mut LayerCx<'_, '_>, p: &BatchNormParams) -> Result<()> {
    let shape = cx.in_shapes[0].clone();
    if shape.len() < 2 {
        return Err(cx.unsupported("BatchNorm needs a channel axis"));
    }
    let c = shape[1];
    let dims = broadcast_dims(&[c], 1, shape.len());
    let (x, out) = (cx.inputs[0].clone(), cx.out(0));
    if p.use_global_stats {
        let params = cx.layer.params();
        if params.len() < 3 {
            return Err(cx.unsupported(format!("expected 3 params, found {}", params.len())));
        }
        let (mean_s, var_s, s) = (&params[0], &params[1], &params[2]);
        if mean_s.len() != c || var_s.len() != c || s.is_empty() {
            return Err(cx.unsupported("param shapes do not match the channels"));
        }
        let s0 = s.iter().next().copied().unwrap_or(0.0);
        let factor = if s0 == 0.0 { 0.0 } else { 1.0 / s0 };
        let mean: Vec<f32> = mean_s.iter().map(|&m| m * factor).collect();
        let std: Vec<f32> = var_s.iter().map(|&v| (v * factor + p.eps).sqrt()).collect();
        let mean = ArrayD::from_shape_vec(IxDyn(&dims), mean).expect("c values");
        let std = ArrayD::from_shape_vec(IxDyn(&dims), std).expect("c values");
        let mean = cx.owned("mean", mean)?;
        let std = cx.owned("std", std)?;
        let centered = cx.tmp("Sub", "centered", &[&x, &mean], vec![])?;
        cx.node("Div", &[&centered, &std], &[&out], vec![])
    } else {
        let axes: Vec<i64> = (0..shape.len()).filter(|&a| a != 1).map(|a| a as i64).collect();
        let mean = reduce_mean(cx, &x, &axes, "batch_mean")?;
        let centered = cx.tmp("Sub", "centered", &[&x, &mean], vec![])?;
        let sq = cx.tmp("Mul", "centered_sq", &[&centered, &centered], vec![])?;
        let var = reduce_mean(cx, &sq, &axes, "batch_var")?;
        let eps = cx.scalar("eps", p.eps)?;
        let var_eps = cx.tmp("Add", "var_eps", &[&var, &eps], vec![])?;
        let std = cx.tmp("Sqrt", "std", &[&var_eps], vec![])?;
        cx.node("Div", &[&centered, &std], &[&out], vec![])
    }
}

fn reduce_mean(cx: &mut LayerCx<'_, '_>, x: &str, axes: &[i64], what: &str) -> Result<String> {
    super::reduce(cx, "ReduceMean", x, axes, what)
}
