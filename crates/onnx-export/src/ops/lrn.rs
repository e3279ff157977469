//! LRN. ACROSS_CHANNELS is ONNX `LRN` (`bias` = Caffe's `k`, same window and
//! `alpha / size` scaling). WITHIN_CHANNEL has no ONNX operator; Caffe builds
//! it from layers and so does this: `x * (1 + alpha * avgpool_{n x n}(x^2))^-beta`
//! with the pool padded by `(n - 1) / 2`, where every window's divisor is the
//! full `n * n` (stride 1 never overhangs). Caffe ignores `k` there.

use graph_ir::ops::{LrnParams, NormRegion};

use super::{pads, LayerCx};
use crate::attr;
use crate::error::Result;

pub(super) fn lrn(cx: &mut LayerCx<'_, '_>, p: &LrnParams) -> Result<()> {
    let (x, out) = (cx.inputs[0].clone(), cx.out(0));
    match p.region {
        NormRegion::AcrossChannels => cx.node(
            "LRN",
            &[&x],
            &[&out],
            vec![
                attr::int("size", p.local_size as i64),
                attr::float("alpha", p.alpha),
                attr::float("beta", p.beta),
                attr::float("bias", p.k),
            ],
        ),
        NormRegion::WithinChannel => {
            if cx.in_shapes[0].len() != 4 {
                return Err(cx.unsupported("WITHIN_CHANNEL needs a 4-D input"));
            }
            let n = p.local_size;
            let pad = (n - 1) / 2;
            let sq = cx.tmp("Mul", "square", &[&x, &x], vec![])?;
            let avg = cx.tmp(
                "AveragePool",
                "window_mean",
                &[&sq],
                vec![
                    attr::ints("kernel_shape", &[n as i64, n as i64]),
                    attr::ints("strides", &[1, 1]),
                    pads(&[pad, pad], &[pad, pad]),
                    attr::int("count_include_pad", 1),
                ],
            )?;
            let alpha = cx.scalar("alpha", p.alpha)?;
            let one = cx.scalar("one", 1.0)?;
            let minus_beta = cx.scalar("minus_beta", -p.beta)?;
            let scaled = cx.tmp("Mul", "scaled", &[&avg, &alpha], vec![])?;
            let shifted = cx.tmp("Add", "shifted", &[&scaled, &one], vec![])?;
            let factor = cx.tmp("Pow", "factor", &[&shifted, &minus_beta], vec![])?;
            cx.node("Mul", &[&x, &factor], &[&out], vec![])
        }
    }
}
