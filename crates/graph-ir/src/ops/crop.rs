//! Crop: as Caffe's `CropLayer`, bottom 0 is cropped to bottom 1's size on
//! every axis from `axis` (default 2) on, at one offset for all those axes or
//! one per axis (default 0).

use caffe_io::proto::LayerParameter;

use super::{LayerCtx, Op, Setup};
use crate::error::Result;
use crate::shape::Shape;

/// Resolved Crop parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct CropParams {
    /// First cropped axis.
    pub axis: i32,
    /// One offset per cropped axis (`axis..ndim`) once the input is known;
    /// as written (0, 1 or one per axis) before.
    pub offsets: Vec<usize>,
}

pub(crate) fn setup(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    let p = layer.crop_param.clone().unwrap_or_default();
    let written: Vec<usize> = p.offset.iter().map(|&o| o as usize).collect();
    let Some(inputs) = bottoms else {
        let params = CropParams {
            axis: p.axis(),
            offsets: written,
        };
        return Ok(Setup::unknown(Op::Crop(params), ctx.num_tops));
    };
    let (data, reference) = (&inputs[0], &inputs[1]);
    let ndim = data.len();
    let axis = ctx.axis(p.axis(), inputs, 0, "crop_param.axis")?;
    if written.len() > 1 && axis + written.len() != ndim {
        return Err(ctx.shape_error(
            inputs,
            format!(
                "{} offsets given for the {} axes from axis {axis}: give one offset, or one per cropped axis",
                written.len(),
                ndim - axis
            ),
        ));
    }
    if reference.len() < ndim {
        return Err(ctx.shape_error(inputs, "bottom 1 has fewer axes than bottom 0"));
    }
    let mut top = data.clone();
    let mut offsets = Vec::with_capacity(ndim - axis);
    for i in axis..ndim {
        let offset = match written.len() {
            0 => 0,
            1 => written[0],
            _ => written[i - axis],
        };
        if data[i] < reference[i] + offset {
            return Err(ctx.shape_error(
                inputs,
                format!(
                    "the crop for axis {i} is out of bounds: size {} at offset {offset} does not fit in {}",
                    reference[i], data[i]
                ),
            ));
        }
        top[i] = reference[i];
        offsets.push(offset);
    }
    let params = CropParams {
        axis: axis as i32,
        offsets,
    };
    Ok(Setup::known(Op::Crop(params), vec![top], Vec::new()))
}
