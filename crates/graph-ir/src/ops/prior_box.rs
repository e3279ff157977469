//! PriorBox (SSD fork of Caffe): the default boxes of one feature map, a
//! constant of shape `(1, 2, H * W * num_priors * 4)`: channel 0 holds each
//! box's (xmin, ymin, xmax, ymax) relative to the image, channel 1 its
//! variances. For every position, row-major, and every `min_size`: the square
//! box of that size, then (with `max_size`) the square of side
//! `sqrt(min * max)`, then per extra aspect ratio `ar` the box
//! `min * sqrt(ar)` wide and `min / sqrt(ar)` high (some later forks scale
//! `sqrt(min * max)` there; the SSD fork and OpenCV do not). The fork
//! truncates the sizes to integers and mixes float and double arithmetic;
//! [`PriorBoxParams::priors`] follows it step by step. The image size and the step default to the second
//! bottom's size and the ratio of the two.

use caffe_io::proto::LayerParameter;

use super::{LayerCtx, Setup};
use crate::error::Result;
use crate::registry::{Arity, AxisFlow, LayerOp, LayerType};
use crate::shape::Shape;

/// `prior_box_param` checked and expanded as in Caffe's `LayerSetUp`.
#[derive(Debug, Clone, PartialEq)]
pub struct PriorBoxParams {
    pub min_sizes: Vec<f32>,
    pub max_sizes: Vec<f32>,
    /// 1 first, then each distinct ratio given (and its inverse with `flip`).
    pub aspect_ratios: Vec<f32>,
    pub clip: bool,
    /// One variance for all four coordinates, or four.
    pub variance: Vec<f32>,
    /// The image size, `None` to take the second bottom's.
    pub img_hw: Option<(usize, usize)>,
    /// The step between positions in pixels, `None` for image / feature size.
    pub step_hw: Option<(f32, f32)>,
    pub offset: f32,
}

impl PriorBoxParams {
    /// Boxes per feature-map position.
    pub fn num_priors(&self) -> usize {
        self.aspect_ratios.len() * self.min_sizes.len() + self.max_sizes.len()
    }

    /// The layer's output, `2 * layer_h * layer_w * num_priors * 4` values
    /// (boxes, then variances), for a feature map of `layer_h x layer_w` and
    /// an image of `img_h x img_w` (used unless the params fix it).
    pub fn priors(&self, layer_h: usize, layer_w: usize, img_h: usize, img_w: usize) -> Vec<f32> {
        let (img_h, img_w) = self.img_hw.unwrap_or((img_h, img_w));
        let (img_h, img_w) = (img_h as f64, img_w as f64);
        let (step_h, step_w) = self
            .step_hw
            .unwrap_or((img_h as f32 / layer_h as f32, img_w as f32 / layer_w as f32));
        let dim = layer_h * layer_w * self.num_priors() * 4;
        let mut out = Vec::with_capacity(2 * dim);
        // Caffe: float centre and box sides, `side / 2.` and the division by
        // the image size in double, stored as float.
        let mut push_box = |cx: f32, cy: f32, bw: f32, bh: f32| {
            out.push(((cx as f64 - bw as f64 / 2.0) / img_w) as f32);
            out.push(((cy as f64 - bh as f64 / 2.0) / img_h) as f32);
            out.push(((cx as f64 + bw as f64 / 2.0) / img_w) as f32);
            out.push(((cy as f64 + bh as f64 / 2.0) / img_h) as f32);
        };
        for h in 0..layer_h {
            for w in 0..layer_w {
                let cx = (w as f32 + self.offset) * step_w;
                let cy = (h as f32 + self.offset) * step_h;
                for (s, &min_size) in self.min_sizes.iter().enumerate() {
                    let min = min_size as i32; // Caffe: `int min_size_ = min_sizes_[s]`
                    push_box(cx, cy, min as f32, min as f32);
                    let max = self.max_sizes.get(s).map(|&m| m as i32);
                    if let Some(max) = max {
                        let side = ((min as i64 * max as i64) as f64).sqrt() as f32;
                        push_box(cx, cy, side, side);
                    }
                    for &ar in &self.aspect_ratios {
                        if (ar - 1.0).abs() < 1e-6 {
                            continue;
                        }
                        // The ratio boxes scale the min size (an int times a float
                        // sqrt: float arithmetic), with or without a max size.
                        push_box(cx, cy, min as f32 * ar.sqrt(), min as f32 / ar.sqrt());
                    }
                }
            }
        }
        if self.clip {
            out.iter_mut().for_each(|v| *v = v.clamp(0.0, 1.0));
        }
        match self.variance.as_slice() {
            [v] => out.extend(std::iter::repeat_n(*v, dim)),
            four => out.extend(four.iter().copied().cycle().take(dim)),
        }
        out
    }
}

fn params_from_layer(ctx: &LayerCtx<'_>, layer: &LayerParameter) -> Result<PriorBoxParams> {
    let Some(p) = layer.prior_box_param.as_ref() else {
        return Err(ctx.invalid("prior_box_param with at least one min_size is required"));
    };
    if p.min_size.is_empty() {
        return Err(ctx.invalid("prior_box_param.min_size is required"));
    }
    if let Some(bad) = p.min_size.iter().find(|&&m| !(m > 0.0 && m < 1e6)) {
        return Err(ctx.invalid(format!("min_size must be positive (and below 1e6), got {bad}")));
    }
    if !p.max_size.is_empty() {
        if p.max_size.len() != p.min_size.len() {
            return Err(ctx.invalid(format!(
                "{} max_size for {} min_size: give one per min_size or none",
                p.max_size.len(),
                p.min_size.len()
            )));
        }
        for (&min, &max) in p.min_size.iter().zip(&p.max_size) {
            if !(max > min && max < 1e6) {
                return Err(ctx.invalid(format!(
                    "max_size {max} must be greater than min_size {min} (and below 1e6)"
                )));
            }
        }
    }
    let mut aspect_ratios = vec![1.0f32];
    for &ar in &p.aspect_ratio {
        if !(ar > 0.0 && ar.is_finite()) {
            return Err(ctx.invalid(format!("aspect_ratio must be positive, got {ar}")));
        }
        if aspect_ratios.iter().any(|&r| (ar - r).abs() < 1e-6) {
            continue;
        }
        aspect_ratios.push(ar);
        if p.flip() {
            aspect_ratios.push((1.0 / ar as f64) as f32);
        }
    }
    let variance = match p.variance.len() {
        0 => vec![0.1],
        1 | 4 => p.variance.clone(),
        n => return Err(ctx.invalid(format!("give 1 or 4 variance values, not {n}"))),
    };
    if let Some(bad) = variance.iter().find(|&&v| v.is_nan() || v <= 0.0) {
        return Err(ctx.invalid(format!("variance must be positive, got {bad}")));
    }
    let img_hw = if p.img_h.is_some() || p.img_w.is_some() {
        if p.img_size.is_some() {
            return Err(ctx.invalid("give img_size or img_h/img_w, not both"));
        }
        match (p.img_h(), p.img_w()) {
            (h, w) if h > 0 && w > 0 => Some((h as usize, w as usize)),
            (h, w) => return Err(ctx.invalid(format!("img_h and img_w must be positive, got {h} and {w}"))),
        }
    } else {
        match p.img_size {
            Some(0) => return Err(ctx.invalid("img_size must be positive")),
            Some(s) => Some((s as usize, s as usize)),
            None => None,
        }
    };
    let step_hw = if p.step_h.is_some() || p.step_w.is_some() {
        if p.step.is_some() {
            return Err(ctx.invalid("give step or step_h/step_w, not both"));
        }
        match (p.step_h(), p.step_w()) {
            (h, w) if h > 0.0 && w > 0.0 => Some((h, w)),
            (h, w) => return Err(ctx.invalid(format!("step_h and step_w must be positive, got {h} and {w}"))),
        }
    } else {
        match p.step {
            Some(s) if s.is_nan() || s <= 0.0 => return Err(ctx.invalid(format!("step must be positive, got {s}"))),
            Some(s) => Some((s, s)),
            None => None,
        }
    };
    Ok(PriorBoxParams {
        min_sizes: p.min_size.clone(),
        max_sizes: p.max_size.clone(),
        aspect_ratios,
        clip: p.clip(),
        variance,
        img_hw,
        step_hw,
        offset: p.offset(),
    })
}

pub(crate) fn setup(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    let params = params_from_layer(ctx, layer)?;
    let Some(inputs) = bottoms else {
        return Ok(Setup::unknown(params, ctx.num_tops));
    };
    if inputs.iter().any(|s| s.len() != 4) {
        return Err(ctx.shape_error(inputs, "PriorBox takes a feature map and an image, both N x C x H x W"));
    }
    let count = inputs[0][2]
        .checked_mul(inputs[0][3])
        .and_then(|n| n.checked_mul(params.num_priors() * 4))
        .filter(|&n| n > 0)
        .ok_or_else(|| ctx.shape_error(inputs, "the feature map gives no (or too many) prior boxes"))?;
    Ok(Setup::known(params, vec![vec![1, 2, count]], Vec::new()))
}

/// `PriorBox` (SSD fork): the feature map and the image, one top.
pub(crate) const TYPE: LayerType = LayerType::new(&["PriorBox"], setup).bottoms(Arity::Exactly(2));

impl LayerOp for PriorBoxParams {
    /// Fixed: the boxes are a constant of the export-time sizes (the
    /// exporter refuses symbolic sizes).
    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        Some(flow.fixed())
    }
}
