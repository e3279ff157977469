//! Crop: as Caffe's `CropLayer`, bottom 0 is cropped to bottom 1's size on
//! every axis from `axis` (default 2) on, at one offset for all those axes or
//! one per axis (default 0).

use caffe_io::proto::LayerParameter;

use super::{LayerCtx, Setup};
use crate::error::Result;
use crate::registry::{Arity, AxisFlow, LayerOp, LayerType};
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
        return Ok(Setup::unknown(params, ctx.num_tops));
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
    Ok(Setup::known(params, vec![top], Vec::new()))
}

/// `Crop`: bottom 0 cut to bottom 1's size on the axes from `axis` on.
pub(crate) const TYPE: LayerType = LayerType::new(&["Crop"], setup).bottoms(Arity::Exactly(2));

impl LayerOp for CropParams {
    /// The cropped axes take bottom 1's size, the others bottom 0's.
    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        Some(
            flow.out_shapes
                .iter()
                .map(|s| {
                    let from = crate::shape::canonical_axis(self.axis, s.len()).unwrap_or(0);
                    let (f0, f1) = (
                        flow.bottom_flags(0, s.len()),
                        flow.in_free.get(1).cloned().unwrap_or_default(),
                    );
                    (0..s.len())
                        .map(|a| if a >= from { f1.get(a) == Some(&true) } else { f0[a] })
                        .collect()
                })
                .collect(),
        )
    }
}
