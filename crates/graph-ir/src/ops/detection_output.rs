//! `DetectionOutput` (the SSD fork, weiliu89/caffe `detection_output_layer.cpp`
//! and `bbox_util.cpp`), at test time. Bottoms: `loc` (N, P * 4) box offsets
//! (shared by every class), `conf` (N, P * classes) class scores (already
//! soft-maxed), `prior` (1, 2, P * 4) the prior boxes and their variances.
//! Each prior is decoded with its offsets (`code_type` CORNER, CENTER_SIZE or
//! CORNER_SIZE; variances of 1 when `variance_encoded_in_target`); per class
//! but the background, the candidates scoring above `confidence_threshold`
//! (every one when unset) are cut to the `top_k` best (stable order) and
//! greedily kept while their overlap (IoU, no +1) with every kept box is at
//! most `nms_threshold`; of all kept, the `keep_top_k` best. The top is
//! (1, 1, K, 7), a row `[image, label, score, xmin, ymin, xmax, ymax]` per
//! detection, labels ascending and scores descending within a label, boxes
//! unclipped; with none, one row `[image, -1, -1, -1, -1, -1, -1]` per image.
//! K depends on the data: the shape here is Caffe's setup shape (1, 1, 1, 7),
//! and an export gives the rows axis no fixed size. OpenCV's `clip: true`
//! (its res10 face detector) clamps the decoded boxes to [0, 1] before NMS;
//! its `normalized_bbox: false` (pixel boxes, +1 sizes) is refused at export.

use caffe_io::proto::detection_output_parameter::CodeType as ProtoCodeType;
use caffe_io::proto::{DetectionOutputParameter, LayerParameter};

use super::{LayerCtx, Setup};
use crate::error::Result;
use crate::registry::{Arity, AxisFlow, LayerOp, LayerType};
use crate::shape::Shape;

/// How a prior and its offsets make a box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeType {
    Corner,
    CenterSize,
    CornerSize,
}

/// A resolved `DetectionOutput`.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectionOutput {
    pub num_classes: usize,
    pub share_location: bool,
    pub background_label_id: i32,
    pub code_type: CodeType,
    pub variance_encoded_in_target: bool,
    /// `None`: every prior is a candidate (the fork's -FLT_MAX).
    pub confidence_threshold: Option<f32>,
    pub nms_threshold: f32,
    /// Candidates per class before NMS; `None` for all (the fork's -1).
    pub top_k: Option<usize>,
    pub eta: f32,
    /// Detections per image after NMS; `None` for all (the fork's -1).
    pub keep_top_k: Option<usize>,
    /// OpenCV's `clip`: decoded boxes clamped to [0, 1].
    pub clip: bool,
    /// OpenCV's `normalized_bbox` (true by default); false (pixel boxes,
    /// sizes + 1) loads and inspects, and its export is refused.
    pub normalized_bbox: bool,
    /// The number of priors (0 before the inputs are known).
    pub num_priors: usize,
}

/// loc, conf, prior; one top. Reads the `detection_output_param` block.
pub(crate) const TYPE: LayerType = LayerType::new(&["DetectionOutput"], setup)
    .bottoms(Arity::Exactly(3))
    .fork_fields(&["detection_output_param"]);

impl LayerOp for DetectionOutput {
    /// The rows depend on the data and the batch is fixed: no symbolic axis
    /// can pass through (`None` when a bottom has one).
    fn symbolic_axes(&self, _flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        None
    }
}

fn setup(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    let p: DetectionOutputParameter = match caffe_io::kept::find(&layer.kept_field, "detection_output_param") {
        Some(b) => b.parse_block("DetectionOutputParameter").map_err(|e| ctx.invalid(e))?,
        None => return Err(ctx.invalid("detection_output_param (with num_classes) is required")),
    };
    if p.num_classes.is_none() || p.num_classes() == 0 {
        return Err(ctx.invalid("detection_output_param.num_classes must be given and positive"));
    }
    let nms = p.nms_param.unwrap_or_default();
    if nms.nms_threshold() < 0.0 {
        return Err(ctx.invalid("nms_param.nms_threshold must be non-negative"));
    }
    if !(nms.eta() > 0.0 && nms.eta() <= 1.0) {
        return Err(ctx.invalid("nms_param.eta must be in (0, 1]"));
    }
    let count = |v: Option<i32>| v.filter(|&k| k > -1).map(|k| k as usize);
    let mut op = DetectionOutput {
        num_classes: p.num_classes() as usize,
        share_location: p.share_location(),
        background_label_id: p.background_label_id(),
        code_type: match p.code_type() {
            ProtoCodeType::Corner => CodeType::Corner,
            ProtoCodeType::CenterSize => CodeType::CenterSize,
            ProtoCodeType::CornerSize => CodeType::CornerSize,
        },
        variance_encoded_in_target: p.variance_encoded_in_target(),
        confidence_threshold: p.confidence_threshold,
        nms_threshold: nms.nms_threshold(),
        top_k: count(nms.top_k),
        eta: nms.eta(),
        keep_top_k: count(p.keep_top_k),
        clip: p.clip(),
        normalized_bbox: p.normalized_bbox(),
        num_priors: 0,
    };
    let Some(inputs) = bottoms else {
        return Ok(Setup::unknown(op, ctx.num_tops));
    };
    let (loc, conf, prior) = (&inputs[0], &inputs[1], &inputs[2]);
    if prior.len() != 3 || prior[1] != 2 || prior[2] % 4 != 0 {
        return Err(ctx.shape_error(
            inputs,
            "prior (bottom 2) must be 1 x 2 x (priors * 4), as PriorBox gives",
        ));
    }
    let priors = prior[2] / 4;
    let loc_classes = if op.share_location { 1 } else { op.num_classes };
    let per_image = |s: &Shape| s[1..].iter().product::<usize>();
    if loc.len() < 2 || per_image(loc) != priors * loc_classes * 4 {
        return Err(ctx.shape_error(
            inputs,
            format!("loc (bottom 0) must hold {priors} priors x {loc_classes} x 4 values per image"),
        ));
    }
    if conf.len() < 2 || per_image(conf) != priors * op.num_classes || conf[0] != loc[0] {
        return Err(ctx.shape_error(
            inputs,
            format!(
                "conf (bottom 1) must hold {priors} priors x {} classes per image, loc's images",
                op.num_classes
            ),
        ));
    }
    op.num_priors = priors;
    Ok(Setup::known(op, vec![vec![1, 1, 1, 7]], Vec::new()))
}
