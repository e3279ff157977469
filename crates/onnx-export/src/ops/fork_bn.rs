//! The forks' `BN` (graph-ir's `ForkBatchNorm`), as each fork computes it:
//! SegNet's INFERENCE mode `Mul(x, scale) + shift`; SegNet's LEARN mode
//! with the batch's statistics (`ReduceMean` over N, H, W of `x` and of
//! `x * x`, the variance `E[x^2] - mean^2`, then
//! `(x - mean) / Sqrt(var + 1e-9) * scale + shift`); PSPNet's
//! `(x - mean) * Pow(var + eps, -0.5) * slope + bias` (the fork raises to
//! the power -0.5 rather than dividing by a square root).

use graph_ir::ops::fork_bn::SEGNET_EPS;
use graph_ir::ops::ForkBatchNorm;

use super::{reduce, LayerCx};
use crate::error::Result;

pub(super) fn fork_bn(cx: &mut LayerCx<'_, '_>, op: &ForkBatchNorm) -> Result<()> {
    let (x, out) = (cx.inputs[0].clone(), cx.out(0));
    let dims = [1, cx.in_shapes[0][1], 1, 1];
    match *op {
        ForkBatchNorm::SegNetInference => {
            let scale = cx.param(0, "scale", Some(&dims))?;
            let shift = cx.param(1, "shift", Some(&dims))?;
            let scaled = cx.tmp("Mul", "scaled", &[&x, &scale], vec![])?;
            cx.node("Add", &[&scaled, &shift], &[&out], vec![])
        }
        ForkBatchNorm::SegNetBatchStatistics => {
            let scale = cx.param(0, "scale", Some(&dims))?;
            let shift = cx.param(1, "shift", Some(&dims))?;
            let mean = reduce(cx, "ReduceMean", &x, &[0, 2, 3], "mean")?;
            let square = cx.tmp("Mul", "square", &[&x, &x], vec![])?;
            let mean_square = reduce(cx, "ReduceMean", &square, &[0, 2, 3], "mean_square")?;
            let mean_squared = cx.tmp("Mul", "mean_squared", &[&mean, &mean], vec![])?;
            let var = cx.tmp("Sub", "var", &[&mean_square, &mean_squared], vec![])?;
            let eps = cx.scalar("eps", SEGNET_EPS)?;
            let var_eps = cx.tmp("Add", "var_eps", &[&var, &eps], vec![])?;
            let std = cx.tmp("Sqrt", "std", &[&var_eps], vec![])?;
            let centred = cx.tmp("Sub", "centred", &[&x, &mean], vec![])?;
            let normed = cx.tmp("Div", "normed", &[&centred, &std], vec![])?;
            let scaled = cx.tmp("Mul", "scaled", &[&normed, &scale], vec![])?;
            cx.node("Add", &[&scaled, &shift], &[&out], vec![])
        }
        ForkBatchNorm::PspNet { eps } => {
            let slope = cx.param(0, "slope", Some(&dims))?;
            let bias = cx.param(1, "bias", Some(&dims))?;
            let mean = cx.param(2, "mean", Some(&dims))?;
            let var = cx.param(3, "var", Some(&dims))?;
            let eps = cx.scalar("eps", eps)?;
            let var_eps = cx.tmp("Add", "var_eps", &[&var, &eps], vec![])?;
            let half = cx.scalar("minus_half", -0.5)?;
            let inv_std = cx.tmp("Pow", "inv_std", &[&var_eps, &half], vec![])?;
            let centred = cx.tmp("Sub", "centred", &[&x, &mean], vec![])?;
            let normed = cx.tmp("Mul", "normed", &[&centred, &inv_std], vec![])?;
            let scaled = cx.tmp("Mul", "scaled", &[&normed, &slope], vec![])?;
            cx.node("Add", &[&scaled, &bias], &[&out], vec![])
        }
    }
}
