//! PriorBox (SSD fork): the boxes depend only on the sizes of the feature map
//! and the image, so the layer is a constant computed at export time by
//! graph-ir's transcription of the fork's arithmetic. With a symbolic height
//! or width the boxes are unknown and the layer is refused.

use graph_ir::ops::PriorBoxParams;
use ndarray::{ArrayD, IxDyn};

use super::LayerCx;
use crate::error::Result;

pub(super) fn prior_box(cx: &mut LayerCx<'_, '_>, p: &PriorBoxParams) -> Result<()> {
    if cx.in_free.iter().any(|f| f.iter().skip(2).any(|&free| free)) {
        return Err(cx.unsupported(
            "PriorBox's boxes are fixed by the feature map's and the image's sizes; export with fixed spatial dims",
        ));
    }
    let (feature, image) = (&cx.in_shapes[0], &cx.in_shapes[1]);
    let priors = p.priors(feature[2], feature[3], image[2], image[3]);
    let shape = cx.out_shapes[0].clone();
    let array = ArrayD::from_shape_vec(IxDyn(&shape), priors)
        .map_err(|e| cx.unsupported(format!("prior boxes do not fill the top's shape {shape:?}: {e}")))?;
    let boxes = cx.owned("priors", array)?;
    let out = cx.out(0);
    cx.identity(&boxes, &out)
}
