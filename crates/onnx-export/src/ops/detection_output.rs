//! `DetectionOutput` with ONNX's detection operators, one image:
//!
//! 1. Decoding: the priors and variances are columns of `prior` viewed as
//!    2 x P x 4, the offsets of `loc` viewed as P x 4; each code type's
//!    arithmetic in the fork's order (CENTER_SIZE: `v0 * t0 * w + cx`,
//!    `exp(v2 * t2) * w`, then the corners `cx -/+ w / 2`).
//!    OpenCV's `clip` clamps them to [0, 1] here.
//! 2. Scores as 1 x classes x P, the background class left out (`Gather`).
//!    The fork's `top_k` candidates per class (`TopK`, ties to the lower
//!    index as its stable sort) are marked with `ScatterElements`, the others
//!    scored `-inf`, below any threshold.
//! 3. `NonMaxSuppression` (corners, IoU without +1, a box suppressed when its
//!    overlap exceeds `nms_threshold`, candidates scoring above
//!    `confidence_threshold`, or above -FLT_MAX when unset) gives, class by
//!    class in ascending order, the kept boxes by descending score: the
//!    fork's row order.
//! 4. `keep_top_k`: the best scores (`TopK` of the scores padded with -inf
//!    to a fixed k), kept in that order (`NonZero`, `Gather`).
//! 5. Rows `[0, label, score, xmin, ymin, xmax, ymax]`; with no detection,
//!    the fork's single row `[0, -1, -1, -1, -1, -1, -1]`. The rows axis has
//!    no fixed size.
//!
//! Refused, naming the way on: more than one image, `share_location: false`,
//! `eta` < 1 (its adaptive threshold has no ONNX operator), and OpenCV's
//! `normalized_bbox: false`.

use graph_ir::ops::detection_output::CodeType;
use graph_ir::ops::DetectionOutput;

use super::LayerCx;
use crate::attr;
use crate::error::Result;
use crate::onnx::tensor_proto::DataType;

pub(super) fn detection_output(cx: &mut LayerCx<'_, '_>, op: &DetectionOutput) -> Result<()> {
    if cx.opset() < 11 {
        return Err(
            cx.unsupported("DetectionOutput is exported with NonMaxSuppression and GatherND: opset 11 or later")
        );
    }
    if cx.batch.is_some() {
        return Err(cx.unsupported("DetectionOutput is exported for one image; export with a fixed batch of 1"));
    }
    if cx.in_shapes[0][0] != 1 {
        return Err(cx.unsupported(format!(
            "the export handles one image ({} given): set the input's batch to 1",
            cx.in_shapes[0][0]
        )));
    }
    if !op.share_location {
        return Err(cx.unsupported(
            "share_location: false (a box per class) has no ONNX NonMaxSuppression form; cut the net before this \
             layer (convert --outputs) and run the detection step yourself",
        ));
    }
    if !op.normalized_bbox {
        return Err(cx.unsupported(
            "OpenCV's normalized_bbox: false (boxes in pixels, sizes counted + 1) is not modelled; cut the net before \
             this layer (its inputs are the locations, scores and priors)",
        ));
    }
    if op.eta < 1.0 {
        return Err(cx.unsupported(
            "nms_param.eta < 1 (the adaptive NMS threshold) has no ONNX operator; cut the net before this layer",
        ));
    }
    let (loc, conf, prior) = (cx.inputs[0].clone(), cx.inputs[1].clone(), cx.inputs[2].clone());
    let out = cx.out(0);
    let p = op.num_priors as i64;
    let classes = op.num_classes as i64;

    // 1. Decoding.
    let prior_dims = cx.ints("prior_dims", &[2, p, 4])?;
    let priors = cx.tmp("Reshape", "priors", &[&prior, &prior_dims], vec![])?;
    let loc_dims = cx.ints("loc_dims", &[p, 4])?;
    let offsets = cx.tmp("Reshape", "offsets", &[&loc, &loc_dims], vec![])?;
    let column = |cx: &mut LayerCx<'_, '_>, x: &str, plane: Option<i64>, i: i64, what: &str| -> Result<String> {
        // (P, 1): column i of x, or of plane `plane` of the 2 x P x 4 priors.
        let (starts, ends, axes) = match plane {
            Some(k) => (vec![k, 0, i], vec![k + 1, p, i + 1], vec![0, 1, 2]),
            None => (vec![0, i], vec![p, i + 1], vec![0, 1]),
        };
        let (s, e, a) = (
            cx.ints(&format!("{what}_starts"), &starts)?,
            cx.ints(&format!("{what}_ends"), &ends)?,
            cx.ints(&format!("{what}_axes"), &axes)?,
        );
        let sliced = cx.tmp("Slice", what, &[x, &s, &e, &a], vec![])?;
        let dims = cx.ints(&format!("{what}_column"), &[p, 1])?;
        cx.tmp("Reshape", what, &[&sliced, &dims], vec![])
    };
    let mut pr = Vec::new();
    let mut var = Vec::new();
    let mut t = Vec::new();
    for i in 0..4 {
        pr.push(column(cx, &priors, Some(0), i, &format!("prior{i}"))?);
        var.push(column(cx, &priors, Some(1), i, &format!("variance{i}"))?);
        t.push(column(cx, &offsets, None, i, &format!("offset{i}"))?);
    }
    // v * t, or t alone when the variances are in the targets.
    let encoded = op.variance_encoded_in_target;
    let mut vt = Vec::new();
    for i in 0..4 {
        vt.push(if encoded {
            t[i].clone()
        } else {
            cx.tmp("Mul", &format!("vt{i}"), &[&var[i], &t[i]], vec![])?
        });
    }
    let corners: [String; 4] = match op.code_type {
        CodeType::Corner => [
            cx.tmp("Add", "xmin", &[&pr[0], &vt[0]], vec![])?,
            cx.tmp("Add", "ymin", &[&pr[1], &vt[1]], vec![])?,
            cx.tmp("Add", "xmax", &[&pr[2], &vt[2]], vec![])?,
            cx.tmp("Add", "ymax", &[&pr[3], &vt[3]], vec![])?,
        ],
        CodeType::CenterSize | CodeType::CornerSize => {
            let pw = cx.tmp("Sub", "prior_width", &[&pr[2], &pr[0]], vec![])?;
            let ph = cx.tmp("Sub", "prior_height", &[&pr[3], &pr[1]], vec![])?;
            if op.code_type == CodeType::CornerSize {
                let dx0 = cx.tmp("Mul", "dxmin", &[&vt[0], &pw], vec![])?;
                let dy0 = cx.tmp("Mul", "dymin", &[&vt[1], &ph], vec![])?;
                let dx1 = cx.tmp("Mul", "dxmax", &[&vt[2], &pw], vec![])?;
                let dy1 = cx.tmp("Mul", "dymax", &[&vt[3], &ph], vec![])?;
                [
                    cx.tmp("Add", "xmin", &[&pr[0], &dx0], vec![])?,
                    cx.tmp("Add", "ymin", &[&pr[1], &dy0], vec![])?,
                    cx.tmp("Add", "xmax", &[&pr[2], &dx1], vec![])?,
                    cx.tmp("Add", "ymax", &[&pr[3], &dy1], vec![])?,
                ]
            } else {
                let half = cx.scalar("half", 0.5)?;
                let sx = cx.tmp("Add", "prior_x_sum", &[&pr[0], &pr[2]], vec![])?;
                let sy = cx.tmp("Add", "prior_y_sum", &[&pr[1], &pr[3]], vec![])?;
                let pcx = cx.tmp("Mul", "prior_center_x", &[&sx, &half], vec![])?;
                let pcy = cx.tmp("Mul", "prior_center_y", &[&sy, &half], vec![])?;
                let ox = cx.tmp("Mul", "offset_x", &[&vt[0], &pw], vec![])?;
                let oy = cx.tmp("Mul", "offset_y", &[&vt[1], &ph], vec![])?;
                let bcx = cx.tmp("Add", "center_x", &[&ox, &pcx], vec![])?;
                let bcy = cx.tmp("Add", "center_y", &[&oy, &pcy], vec![])?;
                let ew = cx.tmp("Exp", "exp_w", &[&vt[2]], vec![])?;
                let eh = cx.tmp("Exp", "exp_h", &[&vt[3]], vec![])?;
                let w = cx.tmp("Mul", "width", &[&ew, &pw], vec![])?;
                let h = cx.tmp("Mul", "height", &[&eh, &ph], vec![])?;
                let hw = cx.tmp("Mul", "half_width", &[&w, &half], vec![])?;
                let hh = cx.tmp("Mul", "half_height", &[&h, &half], vec![])?;
                [
                    cx.tmp("Sub", "xmin", &[&bcx, &hw], vec![])?,
                    cx.tmp("Sub", "ymin", &[&bcy, &hh], vec![])?,
                    cx.tmp("Add", "xmax", &[&bcx, &hw], vec![])?,
                    cx.tmp("Add", "ymax", &[&bcy, &hh], vec![])?,
                ]
            }
        }
    };
    let corner_refs: Vec<&str> = corners.iter().map(String::as_str).collect();
    let mut decoded = cx.tmp("Concat", "decoded", &corner_refs, vec![attr::int("axis", 1)])?;
    if op.clip {
        // OpenCV's clip: every coordinate into [0, 1], before NMS.
        let (lo, hi) = (cx.scalar("clip_min", 0.0)?, cx.scalar("clip_max", 1.0)?);
        decoded = cx.tmp("Clip", "clipped", &[&decoded, &lo, &hi], vec![])?;
    }
    let boxes_dims = cx.ints("boxes_dims", &[1, p, 4])?;
    let boxes = cx.tmp("Reshape", "boxes", &[&decoded, &boxes_dims], vec![])?;

    // 2. Scores of the foreground classes, 1 x F x P.
    let conf_dims = cx.ints("conf_dims", &[1, p, classes])?;
    let conf3 = cx.tmp("Reshape", "conf", &[&conf, &conf_dims], vec![])?;
    let by_class = cx.tmp("Transpose", "by_class", &[&conf3], vec![attr::ints("perm", &[0, 2, 1])])?;
    let foreground: Vec<i64> = (0..classes)
        .filter(|&c| c != i64::from(op.background_label_id))
        .collect();
    let f = foreground.len() as i64;
    let labels = cx.ints("labels", &foreground)?;
    let scores = cx.tmp("Gather", "scores", &[&by_class, &labels], vec![attr::int("axis", 1)])?;
    let candidates = match op.top_k {
        Some(k) if (k as i64) < p => {
            let kk = cx.ints("top_k", &[k as i64])?;
            let topk_out = cx.fresh_name("top_k_values");
            let topk_idx = cx.fresh_name("top_k_indices");
            cx.node(
                "TopK",
                &[&scores, &kk],
                &[&topk_out, &topk_idx],
                vec![attr::int("axis", 2)],
            )?;
            let shape = cx.ints("scores_shape", &[1, f, p])?;
            let zero = constant_of_shape(cx, &shape, 0.0, "not_top")?;
            let ones_shape = cx.ints("top_shape", &[1, f, k as i64])?;
            let ones = constant_of_shape(cx, &ones_shape, 1.0, "top")?;
            let marks = cx.tmp(
                "ScatterElements",
                "top_marks",
                &[&zero, &topk_idx, &ones],
                vec![attr::int("axis", 2)],
            )?;
            let half = cx.scalar("mark_half", 0.5)?;
            let is_top = cx.tmp("Greater", "is_top", &[&marks, &half], vec![])?;
            let low = cx.scalar("excluded", f32::NEG_INFINITY)?;
            cx.tmp("Where", "candidates", &[&is_top, &scores, &low], vec![])?
        }
        _ => scores.clone(),
    };

    // 3. NMS per class.
    let max_per_class = cx.ints("max_per_class", &[p])?;
    // One-element tensors, which tract requires and the standard allows.
    let iou = cx.owned("iou_threshold", ndarray::arr1(&[op.nms_threshold]).into_dyn())?;
    let lowest = op.confidence_threshold.unwrap_or(f32::MIN);
    let threshold = cx.owned("score_threshold", ndarray::arr1(&[lowest]).into_dyn())?;
    let selected = cx.tmp(
        "NonMaxSuppression",
        "selected",
        &[&boxes, &candidates, &max_per_class, &iou, &threshold],
        vec![attr::int("center_point_box", 0)],
    )?;
    let kept_scores = cx.tmp("GatherND", "kept_scores", &[&scores, &selected], vec![])?;
    let (c1, c2, c3) = (cx.ints("one", &[1])?, cx.ints("two", &[2])?, cx.ints("three", &[3])?);
    let axis1 = cx.ints("axis1", &[1])?;
    let class_col = cx.tmp("Slice", "class_index", &[&selected, &c1, &c2, &axis1], vec![])?;
    let box_col = cx.tmp("Slice", "box_index", &[&selected, &c2, &c3, &axis1], vec![])?;
    let zero1 = cx.ints("zero", &[0])?;
    let image_col = cx.tmp("Slice", "image_index", &[&selected, &zero1, &c1, &axis1], vec![])?;
    let image_box = cx.tmp(
        "Concat",
        "image_box",
        &[&image_col, &box_col],
        vec![attr::int("axis", 1)],
    )?;
    let kept_boxes = cx.tmp("GatherND", "kept_boxes", &[&boxes, &image_box], vec![])?;
    let flat = cx.ints("flat", &[-1])?;
    let class_flat = cx.tmp("Reshape", "class_flat", &[&class_col, &flat], vec![])?;
    let kept_labels = cx.tmp(
        "Gather",
        "kept_labels",
        &[&labels, &class_flat],
        vec![attr::int("axis", 0)],
    )?;

    // Rows in the fork's order: K x 7.
    let as_float = |cx: &mut LayerCx<'_, '_>, x: &str, what: &str| {
        cx.tmp("Cast", what, &[x], vec![attr::int("to", DataType::Float as i64)])
    };
    let image_f = as_float(cx, &image_col, "image")?;
    let labels_f = as_float(cx, &kept_labels, "label")?;
    let column_dims = cx.ints("column", &[-1, 1])?;
    let labels_c = cx.tmp("Reshape", "label_column", &[&labels_f, &column_dims], vec![])?;
    let scores_c = cx.tmp("Reshape", "score_column", &[&kept_scores, &column_dims], vec![])?;
    let mut rows = cx.tmp(
        "Concat",
        "rows",
        &[&image_f, &labels_c, &scores_c, &kept_boxes],
        vec![attr::int("axis", 1)],
    )?;

    // 4. keep_top_k: the best, back in row order. TopK takes a fixed k
    //    (tract needs one): the scores are padded with keep_top_k -inf, the
    //    best keep_top_k marked, and the marked rows kept in order.
    let count = super::leading_dims_then(cx, &kept_scores, 1, &[], "count")?;
    if let Some(keep) = op.keep_top_k {
        let pad = cx.owned(
            "keep_pad",
            ndarray::Array1::from_elem(keep, f32::NEG_INFINITY).into_dyn(),
        )?;
        let padded = cx.tmp(
            "Concat",
            "padded_scores",
            &[&kept_scores, &pad],
            vec![attr::int("axis", 0)],
        )?;
        let k = cx.ints("keep_top_k", &[keep as i64])?;
        let best_v = cx.fresh_name("best_scores");
        let best_i = cx.fresh_name("best");
        cx.node("TopK", &[&padded, &k], &[&best_v, &best_i], vec![attr::int("axis", 0)])?;
        let padded_shape = cx.tmp("Shape", "padded_shape", &[&padded], vec![])?;
        let zeros = constant_of_shape(cx, &padded_shape, 0.0, "unmarked")?;
        let ones_shape = cx.ints("marks_shape", &[keep as i64])?;
        let ones = constant_of_shape(cx, &ones_shape, 1.0, "marked")?;
        let marks = cx.tmp(
            "ScatterElements",
            "marks",
            &[&zeros, &best_i, &ones],
            vec![attr::int("axis", 0)],
        )?;
        let start = cx.ints("marks_start", &[0])?;
        let row_marks = cx.tmp("Slice", "row_marks", &[&marks, &start, &count], vec![])?;
        let half = cx.scalar("marks_half", 0.5)?;
        let chosen = cx.tmp("Greater", "chosen", &[&row_marks, &half], vec![])?;
        let where_chosen = cx.tmp("NonZero", "where_chosen", &[&chosen], vec![])?;
        let flat_chosen = cx.ints("chosen_flat", &[-1])?;
        let positions = cx.tmp("Reshape", "positions", &[&where_chosen, &flat_chosen], vec![])?;
        rows = cx.tmp("Gather", "best_rows", &[&rows, &positions], vec![attr::int("axis", 0)])?;
    }

    // 5. None kept: the fork's row of -1 after the image index.
    let none = cx.owned(
        "no_detection",
        ndarray::arr2(&[[0f32, -1., -1., -1., -1., -1., -1.]]).into_dyn(),
    )?;
    let with_none = cx.tmp("Concat", "with_none", &[&rows, &none], vec![attr::int("axis", 0)])?;
    let n_rows = super::leading_dims_then(cx, &rows, 1, &[], "rows_count")?;
    // The first max(K, 1) rows: the detections, or the sentinel alone.
    let one_i = cx.ints("one_row", &[1])?;
    let end = cx.tmp("Max", "end", &[&n_rows, &one_i], vec![])?;
    let zero_i = cx.ints("no_rows", &[0])?;
    let axis0 = cx.ints("axis0", &[0])?;
    let final_rows = cx.tmp("Slice", "final_rows", &[&with_none, &zero_i, &end, &axis0], vec![])?;
    let out_dims = cx.ints("out_dims", &[1, 1, -1, 7])?;
    cx.node("Reshape", &[&final_rows, &out_dims], &[&out], vec![])?;
    // The rows axis depends on the data.
    cx.out_free[0] = vec![false, false, true, false];
    Ok(())
}

fn constant_of_shape(cx: &mut LayerCx<'_, '_>, shape: &str, value: f32, what: &str) -> Result<String> {
    cx.tmp("ConstantOfShape", what, &[shape], vec![super::f32_fill(value)?])
}
