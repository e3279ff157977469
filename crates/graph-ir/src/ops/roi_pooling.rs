//! `ROIPooling` (py-faster-rcnn's fork, rbgirshick/caffe-fast-rcnn
//! `roi_pooling_layer.cpp`): max pooling of each region of interest into a
//! `pooled_h x pooled_w` grid. Bottom 0 is the feature map (N, C, H, W),
//! bottom 1 the regions (R, 5): `[batch index, x1, y1, x2, y2]` in input
//! image coordinates, scaled by `spatial_scale` and rounded (half away from
//! zero); the region spans `max(end - start + 1, 1)` cells, bin `(i, j)` rows
//! `floor(i * h / pooled_h)` to `ceil((i + 1) * h / pooled_h)` from its start,
//! clamped to the map; an empty bin is 0. The top is (R, C, pooled_h, pooled_w).

use caffe_io::proto::{LayerParameter, RoiPoolingParameter};

use super::{LayerCtx, Setup};
use crate::error::Result;
use crate::registry::{Arity, AxisFlow, LayerOp, LayerType};
use crate::shape::Shape;

/// A resolved `ROIPooling`.
#[derive(Debug, Clone, PartialEq)]
pub struct RoiPooling {
    pub pooled: [usize; 2],
    pub spatial_scale: f32,
}

/// Features and regions; one top (the fork's optional argmax top is not modelled).
pub(crate) const TYPE: LayerType = LayerType::new(&["ROIPooling"], setup)
    .bottoms(Arity::Exactly(2))
    .fork_fields(&["roi_pooling_param"]);

impl LayerOp for RoiPooling {
    /// The region count follows the regions' first axis; C the map's.
    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        let rois = flow.bottom_flags(1, 2);
        let map = flow.bottom_flags(0, 4);
        Some(vec![vec![rois[0], map[1], false, false]])
    }
}

fn setup(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    let p: RoiPoolingParameter = match caffe_io::kept::find(&layer.kept_field, "roi_pooling_param") {
        Some(b) => b.parse_block("ROIPoolingParameter").map_err(|e| ctx.invalid(e))?,
        None => RoiPoolingParameter::default(),
    };
    if p.pooled_h() == 0 || p.pooled_w() == 0 {
        return Err(ctx.invalid("roi_pooling_param: pooled_h and pooled_w must be positive"));
    }
    let op = RoiPooling {
        pooled: [p.pooled_h() as usize, p.pooled_w() as usize],
        spatial_scale: p.spatial_scale(),
    };
    let Some(inputs) = bottoms else {
        return Ok(Setup::unknown(op, ctx.num_tops));
    };
    let (map, rois) = (&inputs[0], &inputs[1]);
    if map.len() != 4 {
        return Err(ctx.shape_error(inputs, "the feature map (bottom 0) must be N x C x H x W"));
    }
    // The fork reads each region as bottom[1]->count(1) values: 5 of them.
    if rois.len() < 2 || rois[1..].iter().product::<usize>() != 5 {
        return Err(ctx.shape_error(
            inputs,
            "the regions (bottom 1) must be R x 5: [batch index, x1, y1, x2, y2]",
        ));
    }
    let top = vec![rois[0], map[1], op.pooled[0], op.pooled[1]];
    Ok(Setup::known(op, vec![top], Vec::new()))
}
