//! Crop -> `Slice`: every axis from `axis` on takes bottom 1's size, starting
//! at its offset. Where bottom 1's size is symbolic the ends are computed
//! from its runtime shape (`offset + Shape(bottom 1)`), so the crop follows
//! the input size as Caffe's does.

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
    let axes: Vec<i64> = (axis..ndim).map(|a| a as i64).collect();
    let starts_t = cx.ints("starts", &starts)?;
    let ends = if cx.out_free[0][axis..].contains(&true) {
        // ends = offsets + shape(bottom 1)[axis..]
        let reference = cx.inputs[1].clone();
        let shape = cx.tmp("Shape", "reference_shape", &[&reference], vec![])?;
        let from = cx.ints("shape_from", &[axis as i64])?;
        let to = cx.ints("shape_to", &[ndim as i64])?;
        let zero = cx.ints("shape_axis", &[0])?;
        let sizes = cx.tmp("Slice", "reference_sizes", &[&shape, &from, &to, &zero], vec![])?;
        let offsets = cx.ints("offsets", &starts)?;
        cx.tmp("Add", "ends", &[&sizes, &offsets], vec![])?
    } else {
        let ends: Vec<i64> = offsets
            .iter()
            .zip(&out_shape[axis..])
            .map(|(&o, &d)| (o + d) as i64)
            .collect();
        cx.ints("ends", &ends)?
    };
    let axes = cx.ints("axes", &axes)?;
    let (x, out) = (cx.inputs[0].clone(), cx.out(0));
    cx.node("Slice", &[&x, &starts_t, &ends, &axes], &[&out], vec![])
}
