//! `ROIPooling`: ONNX's `MaxRoiPool`, whose rule is py-faster-rcnn's (region
//! corners scaled and rounded, `+ 1` cells, bins `floor(i * h / pooled)` to
//! `ceil((i + 1) * h / pooled)` from the region's start, clamped to the map,
//! an empty bin 0), with regions as (R, 5) `[batch index, x1, y1, x2, y2]`.
//! onnxruntime runs it; tract has no `MaxRoiPool`, so a net with ROIPooling
//! is checked in onnxruntime only.

use graph_ir::ops::RoiPooling;

use super::LayerCx;
use crate::attr;
use crate::error::Result;

pub(super) fn roi_pooling(cx: &mut LayerCx<'_, '_>, op: &RoiPooling) -> Result<()> {
    let (features, out) = (cx.inputs[0].clone(), cx.out(0));
    let mut rois = cx.inputs[1].clone();
    if cx.in_shapes[1].len() != 2 {
        // The fork reads each region as its 5 values, whatever the axes.
        let r = cx.in_shapes[1][0];
        let shape = cx.in_shapes[1].clone();
        rois = cx.reshape(&rois, &shape, &[r, 5], None)?;
    }
    cx.node(
        "MaxRoiPool",
        &[&features, &rois],
        &[&out],
        vec![
            attr::ints("pooled_shape", &[op.pooled[0] as i64, op.pooled[1] as i64]),
            attr::float("spatial_scale", op.spatial_scale),
        ],
    )
}
