//! Slice -> Caffe 1.0 layers, per axis: the range the slice reads is cut
//! out with Slice layers (the pieces outside it silenced); then the steps.
//! Positive steps over H and W of a 4-D blob (YOLOv5's Focus:
//! `x[..., ::2, ::2]`) are a MAX Pooling with a 1x1 kernel and the steps as
//! strides (each window is one sample: a copy). Any other step (reversals,
//! an RGB -> BGR flip of the channels, steps over other axes or ranks) is a
//! one-hot selection along its axis (`linear_map::along`).

use caffe_io::proto::{pooling_parameter::PoolMethod, PoolingParameter};

use super::linear_map;
use crate::adapt;
use crate::cx::{Cx, Value};
use crate::error::OpResult;
use crate::node::{normalize_axis, Node};
use crate::registry::Mapped;
use crate::{invalid, refuse};

/// One sliced axis: the contiguous range `[lo, lo + len)` the slice reads,
/// then every `step`-th sample of it (from its end when `step` < 0).
#[derive(Debug, Clone, Copy)]
struct Cut {
    axis: usize,
    lo: usize,
    len: usize,
    step: i64,
    count: usize,
}

pub fn slice(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    node.arity(1, 5, Some(1))?;
    let x = cx.blob(node, 0)?;
    let spec = adapt::slice_spec(node, |i| cx.constant(node, i))?;
    let axes: Vec<i64> = spec
        .axes
        .clone()
        .unwrap_or_else(|| (0..spec.starts.len() as i64).collect());
    if axes.len() != spec.starts.len() || spec.ends.len() != spec.starts.len() {
        invalid!("starts, ends and axes differ in length");
    }
    let mut cuts: Vec<Cut> = Vec::new();
    for (k, &a) in axes.iter().enumerate() {
        let axis = normalize_axis(a, x.rank())?;
        let step = spec.steps.as_ref().map_or(1, |s| s[k]);
        let (s, e, st) = adapt::slice_range(spec.starts[k], spec.ends[k], step, x.shape[axis])?;
        let span = if st > 0 { e - s } else { s - e };
        let count = ((span + st.abs() - 1) / st.abs()) as usize;
        if count == 0 {
            refuse!("an empty slice on axis {axis}: Caffe blobs have no empty axis");
        }
        let reach = (count as i64 - 1) * st.abs();
        let lo = if st > 0 { s } else { s - reach };
        cuts.push(Cut {
            axis,
            lo: lo as usize,
            len: (reach + 1) as usize,
            step: st,
            count,
        });
    }
    cuts.retain(|c| c.lo > 0 || c.len < x.shape[c.axis] || c.step != 1);
    if cuts.is_empty() {
        cx.set_output(node, 0, Value::Blob(x));
        return Mapped::removed("the slice is the whole tensor");
    }
    let ranges: Vec<(usize, usize, usize)> = cuts.iter().map(|c| (c.axis, c.lo, c.len)).collect();
    let strided: Vec<Cut> = cuts.iter().copied().filter(|c| c.step != 1).collect();
    if strided.is_empty() {
        super::crop(cx, node, x, &ranges, true);
        let how = format!(
            "Slice on axes {:?}, the rest silenced",
            ranges.iter().map(|r| r.0).collect::<Vec<_>>()
        );
        return if ranges.len() == 1 {
            Mapped::exact(how)
        } else {
            Mapped::composed(how)
        };
    }
    let mut cur = super::crop(cx, node, x, &ranges, false);
    // Positive steps over H and W of a 4-D blob: one Pooling; every other
    // step: a selection along its axis.
    let pooled = |c: &Cut| cur.rank() == 4 && c.axis >= 2 && c.step > 0;
    let pooled_cuts: Vec<Cut> = strided.iter().copied().filter(|c| pooled(c)).collect();
    let selected: Vec<Cut> = strided.iter().copied().filter(|c| !pooled(c)).collect();
    let mut steps = Vec::new();
    for (i, c) in selected.iter().enumerate() {
        let last = pooled_cuts.is_empty() && i + 1 == selected.len();
        let start = if c.step > 0 { 0 } else { c.len - 1 };
        let pick = linear_map::selection(c.len, start, c.step, c.count)?;
        let out = last.then(|| {
            let mut shape = cur.shape.clone();
            shape[c.axis] = c.count;
            cx.output_blob(node, 0, shape)
        });
        cur = linear_map::along(cx, node, &cur, c.axis, pick, &format!("step_axis{}", c.axis), out)?;
        steps.push(format!(
            "step {} on axis {} as a one-hot 1x1 Convolution",
            c.step, c.axis
        ));
    }
    if !pooled_cuts.is_empty() {
        let stride = |axis: usize| pooled_cuts.iter().find(|c| c.axis == axis).map_or(1, |c| c.step as u32);
        let mut shape = cur.shape.clone();
        for c in &pooled_cuts {
            shape[c.axis] = c.count;
        }
        let out = cx.output_blob(node, 0, shape);
        cx.layer(node, "stride", "Pooling", &[&cur], &[&out], vec![], |l| {
            l.pooling_param = Some(PoolingParameter {
                pool: Some(PoolMethod::Max as i32),
                kernel_h: Some(1),
                kernel_w: Some(1),
                stride_h: Some(stride(2)),
                stride_w: Some(stride(3)),
                ..Default::default()
            })
        });
        steps.push(format!(
            "H, W strides [{}, {}] as a 1x1 MAX Pooling",
            stride(2),
            stride(3)
        ));
    }
    Mapped::composed(format!(
        "Slice layers for the ranges, then {} (every output a copy of one input)",
        steps.join(", ")
    ))
}
