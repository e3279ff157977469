//! Flatten and Reshape: as Caffe's `FlattenLayer` (axes `axis..=end_axis`,
//! defaults 1 and -1, merged into one) and `ReshapeLayer` (`shape` replaces
//! the input axes `axis .. axis + num_axes`, defaults 0 and -1 = all; a 0 dim
//! copies the input's dim, one -1 dim is inferred). Neither works in place.

use caffe_io::proto::LayerParameter;

use super::{LayerCtx, Setup};
use crate::error::Result;
use crate::registry::{AxisFlow, LayerOp, LayerType};
use crate::shape::{count, fmt_shape, Shape};

/// `Flatten` axes `axis..=end_axis` into one.
#[derive(Debug, Clone, PartialEq)]
pub struct Flatten {
    pub axis: i32,
    pub end_axis: i32,
}

/// Reshape parameters as written (the output shape is in the net's blob table).
#[derive(Debug, Clone, PartialEq)]
pub struct ReshapeParams {
    /// `reshape_param.shape` (0 = copy, -1 = infer).
    pub shape: Vec<i64>,
    /// First replaced axis (negative counts from the end, -1 = after the last).
    pub axis: i32,
    /// Replaced axes (-1 = all from `axis`).
    pub num_axes: i32,
}

fn reject_in_place(ctx: &LayerCtx<'_>, layer: &LayerParameter) -> Result<()> {
    if layer.top.first() == layer.bottom.first() {
        return Err(ctx.invalid(format!("{} does not allow in-place computation", ctx.type_name)));
    }
    Ok(())
}

pub(crate) fn setup_flatten(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    reject_in_place(ctx, layer)?;
    let p = layer.flatten_param.unwrap_or_default();
    let (axis, end_axis) = (p.axis(), p.end_axis());
    let Some(inputs) = bottoms else {
        return Ok(Setup::unknown(Flatten { axis, end_axis }, ctx.num_tops));
    };
    let input = &inputs[0];
    let start = ctx.axis(axis, inputs, 0, "flatten_param.axis")?;
    let end = ctx.axis(end_axis, inputs, 0, "flatten_param.end_axis")?;
    if end < start {
        return Err(ctx.shape_error(inputs, format!("end_axis {end} comes before axis {start}")));
    }
    let mut top = input[..start].to_vec();
    top.push(count(input, start, end + 1));
    top.extend_from_slice(&input[end + 1..]);
    let op = Flatten {
        axis: start as i32,
        end_axis: end as i32,
    };
    Ok(Setup::known(op, vec![top], Vec::new()))
}

impl ReshapeParams {
    /// Parses `reshape_param`, checking its dims (at most one -1, none below -1).
    pub fn from_layer(ctx: &LayerCtx<'_>, layer: &LayerParameter) -> Result<Self> {
        let p = layer.reshape_param.clone().unwrap_or_default();
        let shape = p.shape.clone().unwrap_or_default().dim;
        if shape.iter().filter(|&&d| d == -1).count() > 1 {
            return Err(
                ctx.invalid("new shape contains multiple -1 dims; at most a single (1) value of -1 may be specified")
            );
        }
        if let Some(d) = shape.iter().find(|&&d| d < -1) {
            return Err(ctx.invalid(format!("new shape has an invalid dim {d}")));
        }
        if p.num_axes() < -1 {
            return Err(ctx.invalid(format!("num_axes must be >= 0, or -1 for all (got {})", p.num_axes())));
        }
        Ok(ReshapeParams {
            shape,
            axis: p.axis(),
            num_axes: p.num_axes(),
        })
    }

    /// The output shape for `input`, as `ReshapeLayer::Reshape`.
    pub fn output_shape(&self, ctx: &LayerCtx<'_>, inputs: &[Shape]) -> Result<Shape> {
        let input = &inputs[0];
        let ndim = input.len() as i64;
        let start = if self.axis >= 0 {
            i64::from(self.axis)
        } else {
            ndim + i64::from(self.axis) + 1
        };
        if start < 0 || start > ndim {
            return Err(ctx.shape_error(inputs, format!("axis {} is out of range", self.axis)));
        }
        let start = start as usize;
        let end = if self.num_axes == -1 {
            input.len()
        } else {
            start + self.num_axes as usize
        };
        if end > input.len() {
            return Err(ctx.shape_error(inputs, "axis + num_axes is out of range"));
        }
        let mut top: Vec<i64> = input[..start].iter().map(|&d| d as i64).collect();
        top.extend_from_slice(&self.shape);
        top.extend(input[end..].iter().map(|&d| d as i64));
        let mut inferred = None;
        for (i, &d) in self.shape.iter().enumerate() {
            match d {
                0 => {
                    let Some(&copied) = input.get(start + i) else {
                        return Err(ctx.shape_error(
                            inputs,
                            format!("new shape has a 0 at {i} but there is no corresponding bottom axis to copy"),
                        ));
                    };
                    top[start + i] = copied as i64;
                }
                -1 => inferred = Some(start + i),
                _ => {}
            }
        }
        let total = count(input, 0, input.len()) as i64;
        if let Some(at) = inferred {
            let known: i64 = top
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != at)
                .map(|(_, &d)| d)
                .product();
            if known == 0 || total % known != 0 {
                return Err(ctx.shape_error(
                    inputs,
                    format!("the input count ({total}) is not divisible by the product of the given dims ({known})"),
                ));
            }
            top[at] = total / known;
        }
        let top: Shape = top.into_iter().map(|d| d as usize).collect();
        if count(&top, 0, top.len()) as i64 != total {
            return Err(ctx.shape_error(
                inputs,
                format!("output shape {} has a different count than the input", fmt_shape(&top)),
            ));
        }
        Ok(top)
    }
}

pub(crate) fn setup_reshape(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    reject_in_place(ctx, layer)?;
    let params = ReshapeParams::from_layer(ctx, layer)?;
    let Some(inputs) = bottoms else {
        return Ok(Setup::unknown(params, ctx.num_tops));
    };
    let top = params.output_shape(ctx, inputs)?;
    Ok(Setup::known(params, vec![top], Vec::new()))
}

/// `Flatten`: one bottom, one top.
pub(crate) const FLATTEN: LayerType = LayerType::new(&["Flatten"], setup_flatten);
/// `Reshape`: one bottom, one top.
pub(crate) const RESHAPE: LayerType = LayerType::new(&["Reshape"], setup_reshape);

impl LayerOp for Flatten {
    /// Fixed: the top's sizes are products of the bottom's (the exporter
    /// refuses symbolic sizes it would multiply out).
    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        Some(flow.fixed())
    }
}

impl LayerOp for ReshapeParams {
    /// Fixed: the target shape is written in the prototxt.
    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        Some(flow.fixed())
    }
}
