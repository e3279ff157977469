//! `Interp`: the crop of `pad_beg`/`pad_end` as a `Slice`, then `Resize`
//! (linear, `align_corners`) to the output plane, which is the fork's
//! `(in - 1) / (out - 1)` sampling rule.

use graph_ir::ops::Interp;

use super::LayerCx;
use crate::attr;
use crate::error::Result;

pub(super) fn interp(cx: &mut LayerCx<'_, '_>, op: &Interp) -> Result<()> {
    if cx.opset() < 11 {
        return Err(cx.unsupported("align-corners Resize needs opset 11 or later"));
    }
    let (mut x, out) = (cx.inputs[0].clone(), cx.out(0));
    let shape = cx.in_shapes[0].clone();
    if op.pad_beg != 0 || op.pad_end != 0 {
        // The fork crops -pad_beg rows and columns at the start, -pad_end at the end.
        let (beg, end) = (i64::from(-op.pad_beg), i64::from(-op.pad_end));
        let starts = cx.ints("crop_starts", &[beg, beg])?;
        let ends = cx.ints("crop_ends", &[shape[2] as i64 - end, shape[3] as i64 - end])?;
        let axes = cx.ints("crop_axes", &[2, 3])?;
        x = cx.tmp("Slice", "cropped", &[&x, &starts, &ends, &axes], vec![])?;
    }
    let sizes = super::leading_dims_then(cx, &x, 2, &[op.out[0] as i64, op.out[1] as i64], "sizes")?;
    cx.node(
        "Resize",
        &[&x, "", "", &sizes],
        &[&out],
        vec![
            attr::string("mode", "linear"),
            attr::string("coordinate_transformation_mode", "align_corners"),
        ],
    )
}
