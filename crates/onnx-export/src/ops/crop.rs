//! Crop -> `Slice`: every axis from `axis` on takes bottom 1's size, starting
//! at its offset.

use graph_ir::ops::CropParams;

use super::LayerCx;
use crate::error::Result;

pub(super) fn crop(cx: &mut LayerCx<'_, '_>, p: &CropParams) -> Result<()> {
    let axis = cx.axis(p.axis, 0)?;
    cx.fixed_axis(axis, "Crop")?;
    let ndim = cx.in_shapes[0].len();
    let out_shape = cx.out_shapes[0].clone();
    let offsets: Vec<usize> = match p.offsets.len() {
        0 => vec![0; ndim - axis],
        1 => vec![p.offsets[0]; ndim - axis],
        _ => p.offsets.clone(),
    };
    if offsets.len() != ndim - axis {
        return Err(cx.unsupported(format!("{} offsets for {} cropped axes", offsets.len(), ndim - axis)));
    }
    let starts: Vec<i64> = offsets.iter().map(|&o| o as i64).collect();
    let ends: Vec<i64> = offsets
        .iter()
        .zip(&out_shape[axis..])
        .map(|(&o, &d)| (o + d) as i64)
        .collect();
    let axes: Vec<i64> = (axis..ndim).map(|a| a as i64).collect();
    let starts = cx.ints("starts", &starts)?;
    let ends = cx.ints("ends", &ends)?;
    let axes = cx.ints("axes", &axes)?;
    let (x, out) = (cx.inputs[0].clone(), cx.out(0));
    cx.node("Slice", &[&x, &starts, &ends, &axes], &[&out], vec![])
}
