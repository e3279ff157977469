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
//!
//! With a symbolic height and width (`size_independent`) no size may be
//! baked in, and ONNX pads are attributes. But Caffe's count of windows is a
//! floor-mode count for a fixed end padding. Let `C = ceil((H + 2p - k) / s)`
//! plus one, Caffe's count before the clip; the clip keeps the windows that
//! start before `H + p`, so Caffe has `min(C, ceil((H + p) / s))` windows.
//! Floor mode with end padding `E` has `floor((H + p + E - k) / s) + 1`,
//! which is `C` for `E = p + s - 1`, `ceil((H + p) / s)` for `E = k - 1`,
//! and monotone in `E`. So `E = min(p + s - 1, k - 1)` (padded) or `s - 1`
//! (unpadded: no clip) is exact at every `H`, and `E < k` as onnxruntime
//! requires. FLOOR rounding never clips: `E = p`. The AVE divisor only
//! differs from `k` where a window reaches past `H + p`, which needs `E > p`;
//! it is then computed at run time, as the same average pool of a map of
//! ones covering `[-p, H + p)`. The unit test checks the counts against
//! graph-ir's Caffe shape rule for every small `H`, kernel, stride and pad.

use graph_ir::ops::{PoolMethod, PoolParams, RoundMode};
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
    let with_mask = cx.out_shapes.len() == 2;
    if cx.in_free[0][2..].contains(&true) {
        if with_mask {
            return Err(cx.unsupported("the argmax mask top needs a fixed input height and width"));
        }
        return size_independent(cx, p, &x, &out);
    }
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
            let covered = spatial_out[a].saturating_sub(1) * p.stride[a] + p.kernel[a];
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
        PoolMethod::Max if with_mask => {
            // Caffe's mask holds, as a float, each maximum's index h * W + w
            // in its own input plane; ONNX's indices count over the whole
            // tensor (row-major), so the plane's offset goes with a Mod.
            let indices = cx.fresh_name("indices");
            cx.node("MaxPool", &[&x], &[&out, &indices], window("MaxPool"))?;
            let plane = cx.ints("plane", &[(spatial_in[0] * spatial_in[1]) as i64])?;
            let in_plane = cx.tmp("Mod", "in_plane", &[&indices, &plane], vec![])?;
            let mask = cx.out(1);
            cx.node(
                "Cast",
                &[&in_plane],
                &[&mask],
                vec![attr::int("to", crate::onnx::tensor_proto::DataType::Float as i64)],
            )
        }
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

/// Pooling whose nodes hold at every input height and width (see the module
/// doc): fixed end pads that give Caffe's window count at any size, and
/// AVE's divisor from the runtime shape where it can differ from `k`.
fn size_independent(cx: &mut LayerCx<'_, '_>, p: &PoolParams, x: &str, out: &str) -> Result<()> {
    if p.global {
        return match p.method {
            PoolMethod::Max => cx.node("GlobalMaxPool", &[x], &[out], vec![]),
            PoolMethod::Ave => cx.node("GlobalAveragePool", &[x], &[out], vec![]),
            PoolMethod::Stochastic => {
                let sq = cx.tmp("Mul", "square", &[x, x], vec![])?;
                let num = cx.tmp("GlobalAveragePool", "sum_sq", &[&sq], vec![])?;
                let den = cx.tmp("GlobalAveragePool", "sum", &[x], vec![])?;
                cx.node("Div", &[&num, &den], &[out], vec![])
            }
        };
    }
    let end = match size_independent_end_pads(p) {
        Ok(end) => end,
        Err(axis) => {
            return Err(cx.unsupported(format!(
                "with a symbolic input size: stride {} exceeds kernel {} without padding on spatial axis {axis}, so \
                 at some sizes Caffe's last window starts past the input (an empty window) and at others not; \
                 ONNX pooling cannot follow that",
                p.stride[axis], p.kernel[axis]
            )))
        }
    };
    let window = |op: &str, begin: &[usize], end: &[usize]| {
        let mut attrs = vec![
            attr::ints("kernel_shape", &i64s(&p.kernel)),
            attr::ints("strides", &i64s(&p.stride)),
            pads(begin, end),
        ];
        if op == "AveragePool" {
            attrs.push(attr::int("count_include_pad", 1));
        }
        attrs
    };
    match p.method {
        PoolMethod::Max => cx.node("MaxPool", &[x], &[out], window("MaxPool", &p.pad, &end)),
        PoolMethod::Ave if (0..2).all(|a| end[a] <= p.pad[a]) => {
            // No window reaches past H + p: Caffe divides by k everywhere.
            cx.node("AveragePool", &[x], &[out], window("AveragePool", &p.pad, &end))
        }
        PoolMethod::Ave => {
            // Caffe's divisor / k per window: the average of a map of ones
            // over [-p, H + min(p, E)) (zeros past it), pooled as x is.
            let reach: Vec<usize> = (0..2).map(|a| p.pad[a] + end[a].min(p.pad[a])).collect();
            let past: Vec<usize> = (0..2).map(|a| end[a].saturating_sub(p.pad[a])).collect();
            let shape = cx.tmp("Shape", "input_shape", &[x], vec![])?;
            let from = cx.ints("hw_from", &[2])?;
            let to = cx.ints("hw_to", &[4])?;
            let zero = cx.ints("hw_axis", &[0])?;
            let hw = cx.tmp("Slice", "input_hw", &[&shape, &from, &to, &zero], vec![])?;
            let reach = cx.ints("ones_reach", &[reach[0] as i64, reach[1] as i64])?;
            let hw = cx.tmp("Add", "ones_hw", &[&hw, &reach], vec![])?;
            let lead = cx.ints("ones_lead", &[1, 1])?;
            let ones_shape = cx.tmp("Concat", "ones_shape", &[&lead, &hw], vec![attr::int("axis", 0)])?;
            let ones = cx.tmp("ConstantOfShape", "ones", &[&ones_shape], vec![super::f32_fill(1.0)?])?;
            let cover = cx.tmp(
                "AveragePool",
                "divisor",
                &[&ones],
                window("AveragePool", &[0, 0], &past),
            )?;
            let avg = cx.tmp("AveragePool", "average", &[x], window("AveragePool", &p.pad, &end))?;
            cx.node("Div", &[&avg, &cover], &[out], vec![])
        }
        PoolMethod::Stochastic => stochastic(cx, x, out, &p.kernel, &p.stride, &p.pad, &end),
    }
}

/// The end padding per spatial axis that makes floor-mode pooling produce
/// Caffe's windows at every input size, or the axis where none exists (an
/// unpadded CEIL pooling with stride > kernel).
fn size_independent_end_pads(p: &PoolParams) -> std::result::Result<[usize; 2], usize> {
    let padded = p.pad != [0, 0];
    let mut end = [0; 2];
    for (a, e) in end.iter_mut().enumerate() {
        let (k, s, pad) = (p.kernel[a], p.stride[a], p.pad[a]);
        *e = match p.round_mode {
            RoundMode::Floor => pad,
            RoundMode::Ceil if padded => (pad + s - 1).min(k - 1),
            RoundMode::Ceil if s <= k => s - 1,
            RoundMode::Ceil => return Err(a),
        };
    }
    Ok(end)
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

#[cfg(test)]
mod tests {
    use graph_ir::ops::pool::pooled_size;

    use super::*;

    /// Axis 0 has kernel `k`, stride `s`, pad `p`; axis 1 is padded when
    /// `padded` (Caffe's clip applies to both axes when either is padded).
    fn params(k: usize, s: usize, p: usize, padded: bool, round_mode: RoundMode) -> PoolParams {
        PoolParams {
            method: PoolMethod::Max,
            global: false,
            kernel: vec![k, 2],
            stride: vec![s, 1],
            pad: vec![p, usize::from(padded)],
            round_mode,
            odd_window_extra: false,
        }
    }

    /// The fixed end pads give Caffe's output size (graph-ir computes it as
    /// Caffe does) at every input size, never reach the kernel size
    /// (onnxruntime's limit), and only exceed the begin pad (so AVE needs a
    /// divisor correction) when a window can reach past `H + p`.
    #[test]
    fn size_independent_end_pads_give_caffes_output_size_at_every_size() {
        let mut checked = 0;
        for mode in [RoundMode::Ceil, RoundMode::Floor] {
            for k in 1..=7 {
                for s in 1..=7 {
                    for (pad, padded) in (0..k).flat_map(|p| [(p, p > 0), (p, true)]) {
                        let p = params(k, s, pad, padded, mode);
                        let end = match size_independent_end_pads(&p) {
                            Ok(end) => end[0],
                            Err(axis) => {
                                assert!(mode == RoundMode::Ceil && !padded && s > k && axis == 0);
                                continue;
                            }
                        };
                        assert!(end < k, "k {k} s {s} p {pad}: end {end}");
                        for h in 1..=80usize {
                            let Some(caffe) = pooled_size(h, k, s, pad, mode, padded) else {
                                continue;
                            };
                            if h + 2 * pad < k {
                                continue;
                            }
                            let floor = (h + pad + end - k) / s + 1;
                            assert_eq!(floor, caffe, "H {h} k {k} s {s} p {pad} {mode:?}: end {end}");
                            // The last window's reach past H + p, which AVE's divisor excludes.
                            let overhang = ((caffe - 1) * s + k).saturating_sub(h + 2 * pad);
                            assert!(overhang == 0 || end > pad, "H {h} k {k} s {s} p {pad}");
                            checked += 1;
                        }
                    }
                }
            }
        }
        assert!(checked > 40_000, "{checked}");
    }
}
