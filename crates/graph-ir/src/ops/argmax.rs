//! ArgMax: as Caffe's `ArgMaxLayer`. With `axis`, the output is the input with
//! that axis replaced by `top_k`; without, `(N, 1, top_k)` (or `(N, 2, top_k)`
//! with `out_max_val`, indices then values), padded with 1s to the input's
//! rank when it has more than 3 axes. Indices are output as floats.

use caffe_io::proto::LayerParameter;

use super::{LayerCtx, Setup};
use crate::error::Result;
use crate::registry::{AxisFlow, LayerOp, LayerType};
use crate::shape::{count, Shape};

/// Resolved ArgMax parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct ArgMaxParams {
    pub out_max_val: bool,
    pub top_k: usize,
    /// The axis to reduce; None flattens each item (axes 1..).
    pub axis: Option<i32>,
}

impl ArgMaxParams {
    /// Parses `argmax_param` (`top_k` must be at least 1).
    pub fn from_layer(ctx: &LayerCtx<'_>, layer: &LayerParameter) -> Result<Self> {
        let p = layer.argmax_param.unwrap_or_default();
        if p.top_k() < 1 {
            return Err(ctx.invalid("top_k must not be less than 1"));
        }
        Ok(ArgMaxParams {
            out_max_val: p.out_max_val(),
            top_k: p.top_k() as usize,
            axis: p.axis,
        })
    }

    /// The output shape (the axis must be canonical already).
    pub fn output_shape(&self, input: &[usize]) -> Shape {
        match self.axis {
            Some(axis) => {
                let mut top = input.to_vec();
                top[axis as usize] = self.top_k;
                top
            }
            None => {
                let mut top = vec![1; input.len().max(3)];
                top[0] = input[0];
                top[2] = self.top_k;
                if self.out_max_val {
                    top[1] = 2;
                }
                top
            }
        }
    }
}

pub(crate) fn setup(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    let mut params = ArgMaxParams::from_layer(ctx, layer)?;
    let Some(inputs) = bottoms else {
        return Ok(Setup::unknown(params, ctx.num_tops));
    };
    let input = &inputs[0];
    if input.is_empty() {
        return Err(ctx.shape_error(inputs, "ArgMax needs an input with at least 1 axis"));
    }
    match params.axis {
        Some(raw) => {
            let axis = ctx.axis(raw, inputs, 0, "argmax_param.axis")?;
            if params.top_k > input[axis] {
                return Err(ctx.shape_error(
                    inputs,
                    format!("top_k ({}) exceeds the size of axis {axis}", params.top_k),
                ));
            }
            params.axis = Some(axis as i32);
        }
        None => {
            if params.top_k > count(input, 1, input.len()) {
                return Err(ctx.shape_error(inputs, format!("top_k ({}) exceeds the values per item", params.top_k)));
            }
        }
    }
    let top = params.output_shape(input);
    Ok(Setup::known(params, vec![top], Vec::new()))
}

/// `ArgMax`: one bottom, one top.
pub(crate) const TYPE: LayerType = LayerType::new(&["ArgMax"], setup);

impl LayerOp for ArgMaxParams {
    /// The reduced axis becomes `top_k` long; the others follow the bottom.
    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        let axis = self
            .axis
            .and_then(|a| crate::shape::canonical_axis(a, flow.in_shapes.first()?.len()));
        Some(match axis {
            Some(axis) => flow
                .same_as_bottom(0)
                .into_iter()
                .map(|mut f| {
                    if let Some(v) = f.get_mut(axis) {
                        *v = false;
                    }
                    f
                })
                .collect(),
            None => flow.fixed(),
        })
    }
}
