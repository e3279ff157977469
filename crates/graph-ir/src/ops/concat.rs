//! Concat, Slice and Split, as Caffe's `ConcatLayer`, `SliceLayer` and
//! `SplitLayer`: Concat joins inputs that agree on every axis but `axis`
//! (default 1; legacy `concat_dim` counts from 0 only); Slice cuts at
//! `slice_point`s or into equal parts; Split copies its input to every top.

use caffe_io::proto::LayerParameter;

use super::{LayerCtx, Setup};
use crate::error::Result;
use crate::registry::{Arity, AxisFlow, LayerOp, LayerType};
use crate::shape::{fmt_shape, Shape};

/// `Concat` along `axis` (resolved when the shapes are known).
#[derive(Debug, Clone, PartialEq)]
pub struct Concat {
    pub axis: i32,
}

/// `Split` written in the prototxt (Caffe's automatic splits are not layers here).
#[derive(Debug, Clone, PartialEq)]
pub struct Split;

/// Resolved Slice parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct SliceParams {
    pub axis: i32,
    /// Cut positions along `axis`, increasing; when the prototxt gives none,
    /// the equal-parts cuts once the input shape is known.
    pub points: Vec<usize>,
}

/// The axis from `axis` or the legacy unsigned `*_dim` field (not both).
fn legacy_axis(
    ctx: &LayerCtx<'_>,
    axis: Option<i32>,
    dim: Option<u32>,
    names: (&str, &str),
    inputs: Option<&[Shape]>,
) -> Result<i32> {
    if axis.is_some() && dim.is_some() {
        return Err(ctx.invalid(format!(
            "either {} or {} should be specified; not both",
            names.0, names.1
        )));
    }
    let Some(inputs) = inputs else {
        return Ok(dim.map_or(axis.unwrap_or(1), |d| d as i32));
    };
    match dim {
        Some(d) => {
            let ndim = inputs[0].len();
            if (d as usize) >= ndim {
                return Err(ctx.shape_error(inputs, format!("{} {d} is out of range", names.1)));
            }
            Ok(d as i32)
        }
        None => Ok(ctx.axis(axis.unwrap_or(1), inputs, 0, names.0)? as i32),
    }
}

pub(crate) fn setup_concat(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    let p = layer.concat_param.unwrap_or_default();
    let axis = legacy_axis(ctx, p.axis, p.concat_dim, ("axis", "concat_dim"), bottoms)?;
    let Some(inputs) = bottoms else {
        return Ok(Setup::unknown(Concat { axis }, ctx.num_tops));
    };
    let a = axis as usize;
    let mut top = inputs[0].clone();
    for (i, s) in inputs.iter().enumerate().skip(1) {
        let agrees = s.len() == top.len() && s.iter().zip(&inputs[0]).enumerate().all(|(j, (x, y))| j == a || x == y);
        if !agrees {
            return Err(ctx.shape_error(
                inputs,
                format!(
                    "all inputs must have the same shape except on the concat axis {a}: bottom {i} is {} but bottom 0 is {}",
                    fmt_shape(s),
                    fmt_shape(&inputs[0])
                ),
            ));
        }
        top[a] += s[a];
    }
    Ok(Setup::known(Concat { axis }, vec![top], Vec::new()))
}

pub(crate) fn setup_slice(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    let p = layer.slice_param.clone().unwrap_or_default();
    let axis = legacy_axis(ctx, p.axis, p.slice_dim, ("axis", "slice_dim"), bottoms)?;
    let written: Vec<usize> = p.slice_point.iter().map(|&v| v as usize).collect();
    let Some(inputs) = bottoms else {
        return Ok(Setup::unknown(SliceParams { axis, points: written }, ctx.num_tops));
    };
    let input = &inputs[0];
    let a = axis as usize;
    let len = input[a];
    let n = ctx.num_tops;
    let points = if written.is_empty() {
        if len % n != 0 {
            return Err(ctx.shape_error(
                inputs,
                format!("the number of tops ({n}) must evenly divide the slice axis ({len})"),
            ));
        }
        (1..n).map(|i| i * len / n).collect()
    } else {
        if written.len() != n - 1 {
            return Err(ctx.invalid(format!(
                "{} slice_point values need {} tops, the layer has {n}",
                written.len(),
                written.len() + 1
            )));
        }
        if n > len {
            return Err(ctx.shape_error(inputs, format!("{n} tops cannot slice an axis of size {len}")));
        }
        let mut prev = 0;
        for &pt in &written {
            if pt <= prev || pt > len {
                return Err(ctx.shape_error(
                    inputs,
                    format!("slice points {written:?} must increase strictly, from above 0 up to {len}"),
                ));
            }
            prev = pt;
        }
        written
    };
    let mut tops = Vec::with_capacity(n);
    let mut start = 0;
    for end in points.iter().copied().chain(std::iter::once(len)) {
        let mut s = input.clone();
        s[a] = end - start;
        tops.push(s);
        start = end;
    }
    Ok(Setup::known(SliceParams { axis, points }, tops, Vec::new()))
}

pub(crate) fn setup_split(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    if layer.top.iter().any(|t| t == &layer.bottom[0]) {
        return Err(ctx.invalid("Split does not allow in-place computation"));
    }
    let Some(inputs) = bottoms else {
        return Ok(Setup::unknown(Split, ctx.num_tops));
    };
    Ok(Setup::known(Split, vec![inputs[0].clone(); ctx.num_tops], Vec::new()))
}

/// `Concat`: any number of bottoms, one top.
pub(crate) const CONCAT: LayerType = LayerType::new(&["Concat"], setup_concat).bottoms(Arity::AtLeast(1));
/// `Slice`: one bottom, one top per part.
pub(crate) const SLICE: LayerType = LayerType::new(&["Slice"], setup_slice).tops(Arity::AtLeast(1));
/// `Split`: one bottom copied to every top.
pub(crate) const SPLIT: LayerType = LayerType::new(&["Split"], setup_split).tops(Arity::AtLeast(1));

impl LayerOp for Concat {
    /// An axis of the top is symbolic when that axis of any bottom is.
    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        Some(flow.any_bottom())
    }
}

impl LayerOp for SliceParams {
    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        Some(flow.same_as_bottom(0))
    }
}

impl LayerOp for Split {
    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        Some(flow.same_as_bottom(0))
    }
}
