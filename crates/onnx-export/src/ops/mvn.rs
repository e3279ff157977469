//! MVN as Caffe computes it: `d = x - ReduceMean(x)` over each channel's
//! (or, across channels, each image's) values, then with
//! `normalize_variance` `d / (Sqrt(ReduceMean(d * d)) + eps)`: the epsilon
//! is added after the square root, not inside it. With nothing to average
//! over (a 2-axis input per channel) the mean is the value itself and Caffe's
//! result is `x - x`.

use graph_ir::ops::MvnParams;

use super::{i64s, reduce, LayerCx};
use crate::error::Result;

pub(super) fn mvn(cx: &mut LayerCx<'_, '_>, p: &MvnParams) -> Result<()> {
    let (x, out) = (cx.inputs[0].clone(), cx.out(0));
    let axes: Vec<usize> = p.reduced_axes(cx.in_shapes[0].len()).collect();
    if axes.is_empty() {
        return cx.node("Sub", &[&x, &x], &[&out], vec![]);
    }
    let axes = i64s(&axes);
    let mean = reduce(cx, "ReduceMean", &x, &axes, "mean")?;
    if !p.normalize_variance {
        return cx.node("Sub", &[&x, &mean], &[&out], vec![]);
    }
    let centred = cx.tmp("Sub", "centred", &[&x, &mean], vec![])?;
    let square = cx.tmp("Mul", "square", &[&centred, &centred], vec![])?;
    let variance = reduce(cx, "ReduceMean", &square, &axes, "variance")?;
    let std = cx.tmp("Sqrt", "std", &[&variance], vec![])?;
    let eps = cx.scalar("eps", p.eps)?;
    let divisor = cx.tmp("Add", "divisor", &[&std, &eps], vec![])?;
    cx.node("Div", &[&centred, &divisor], &[&out], vec![])
}
