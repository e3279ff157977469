//! Pooling with Caffe's output size and divisor. The net gives the output size
//! (ceil or floor, with Caffe's clip of a last window starting past the
//! padding); ONNX pooling then runs in floor mode with the end padding chosen
//! so its output is exactly that size, which no runtime's ceil-mode rules can
//! change.
//!
//! MAX ignores padding in both. AVE divides by `min(hs + k, H + p) - hs`
//! (`hs = o*s - p`): padding inside `[-p, H + p)` counts, the overhang past
//! `H + p` does not. `AveragePool(count_include_pad=1)` divides by `k` for
//! every window, so where Caffe's divisor is smaller the result is multiplied
//! by `k / divisor` (a small constant map). Stochastic pooling at test time is
//! the probability-weighted average `sum(x^2) / sum(x)`, two average pools of
//! the same windows.

use graph_ir::ops::{PoolMethod, PoolParams};
use ndarray::{Array, IxDyn};

use super::{i64s, pads, LayerCx};
use crate::attr;
use crate::error::Result;

pub(super) fn pooling(cx: &mut LayerCx<'_, '_>, p: &PoolParams) -> Result<()> {
    let in_shape = cx.in_shapes[0].clone();
    let out_shape = cx.out_shapes[0].clone();
    if in_shape.len() != 4 {
        return Err(cx.unsupported(format!("pooling needs a 4-D input, found {in_shape:?}")));
    }
    let (x, out) = (cx.inputs[0].clone(), cx.out(0));
    if p.global {
        return match p.method {
            PoolMethod::Max => cx.node("GlobalMaxPool", &[&x], &[&out], vec![]),
            PoolMethod::Ave => cx.node("GlobalAveragePool", &[&x], &[&out], vec![]),
            PoolMethod::Stochastic => stochastic(cx, &x, &out, &in_shape[2..], &[1, 1], &[0, 0], &[0, 0]),
        };
    }
    let spatial_in = &in_shape[2..];
    let spatial_out = &out_shape[2..];
    let end: Vec<usize> = (0..2)
        .map(|a| {
            let covered = (spatial_out[a] - 1) * p.stride[a] + p.kernel[a];
            covered.saturating_sub(spatial_in[a] + p.pad[a])
        })
        .collect();
    let window = |op: &str| {
        let mut attrs = vec![
            attr::ints("kernel_shape", &i64s(&p.kernel)),
            attr::ints("strides", &i64s(&p.stride)),
            pads(&p.pad, &end),
        ];
        if op == "AveragePool" {
            attrs.push(attr::int("count_include_pad", 1));
        }
        attrs
    };
    match p.method {
        PoolMethod::Max => cx.node("MaxPool", &[&x], &[&out], window("MaxPool")),
        PoolMethod::Ave => {
            let correction = divisor_correction(spatial_in, spatial_out, p);
            match correction {
                None => cx.node("AveragePool", &[&x], &[&out], window("AveragePool")),
                Some(c) => {
                    let avg = cx.tmp("AveragePool", "average", &[&x], window("AveragePool"))?;
                    let c = cx.owned("divisor_correction", c)?;
                    cx.node("Mul", &[&avg, &c], &[&out], vec![])
                }
            }
        }
        PoolMethod::Stochastic => stochastic(cx, &x, &out, &p.kernel, &p.stride, &p.pad, &end),
    }
}

/// `k / caffe_divisor` per output position, shape `(1, 1, OH, OW)`, or None
/// when Caffe divides every window by the full kernel area.
fn divisor_correction(input: &[usize], output: &[usize], p: &PoolParams) -> Option<ndarray::ArrayD<f32>> {
    let divisors: Vec<Vec<i64>> = (0..2)
        .map(|a| {
            let (h, k, s, pad) = (input[a] as i64, p.kernel[a] as i64, p.stride[a] as i64, p.pad[a] as i64);
            (0..output[a] as i64)
                .map(|o| {
                    let hs = o * s - pad;
                    (hs + k).min(h + pad) - hs
                })
                .collect()
        })
        .collect();
    let full = |a: usize| divisors[a].iter().all(|&d| d == p.kernel[a] as i64);
    if full(0) && full(1) {
        return None;
    }
    let area = (p.kernel[0] * p.kernel[1]) as f64;
    let map = Array::from_shape_fn(IxDyn(&[1, 1, output[0], output[1]]), |i| {
        (area / (divisors[0][i[2]] * divisors[1][i[3]]) as f64) as f32
    });
    Some(map)
}

/// Caffe's test-time stochastic pooling: `sum(x^2) / sum(x)` per window (no
/// padding: Caffe allows none).
fn stochastic(
    cx: &mut LayerCx<'_, '_>,
    x: &str,
    out: &str,
    kernel: &[usize],
    stride: &[usize],
    pad: &[usize],
    end: &[usize],
) -> Result<()> {
    if pad.iter().any(|&p| p != 0) {
        return Err(cx.unsupported("stochastic pooling with padding"));
    }
    // Zeros in the end padding add nothing to either sum, and the common
    // divisor cancels.
    let attrs = || {
        vec![
            attr::ints("kernel_shape", &i64s(kernel)),
            attr::ints("strides", &i64s(stride)),
            pads(pad, end),
        ]
    };
    let sq = cx.tmp("Mul", "square", &[x, x], vec![])?;
    let num = cx.tmp("AveragePool", "sum_sq", &[&sq], attrs())?;
    let den = cx.tmp("AveragePool", "sum", &[x], attrs())?;
    cx.node("Div", &[&num, &den], &[out], vec![])
}
