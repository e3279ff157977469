//! InnerProduct: as Caffe's `InnerProductLayer`, the input is flattened from
//! `axis` (default 1) into K values; the top keeps the axes before `axis` and
//! appends `num_output`. Weights are `(num_output, K)`, or `(K, num_output)`
//! with `transpose: true`; the bias is `(num_output,)`.

use caffe_io::proto::LayerParameter;

use super::{filler_value, LayerCtx, ParamInit, Setup};
use crate::error::Result;
use crate::registry::{AxisFlow, LayerOp, LayerType};
use crate::shape::{count, Shape};

/// Resolved InnerProduct parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct InnerProductParams {
    pub num_output: usize,
    pub bias_term: bool,
    /// Weights stored as `(K, num_output)` instead of `(num_output, K)`.
    pub transpose: bool,
    /// First flattened axis (default 1).
    pub axis: i32,
}

impl InnerProductParams {
    /// Parses `inner_product_param` with Caffe's defaults.
    pub fn from_layer(layer: &LayerParameter) -> Self {
        let p = layer.inner_product_param.clone().unwrap_or_default();
        InnerProductParams {
            num_output: p.num_output() as usize,
            bias_term: p.bias_term(),
            transpose: p.transpose(),
            axis: p.axis(),
        }
    }

    /// `input[..axis] + [num_output]`; `axis` must be canonical.
    pub fn output_shape(&self, input: &[usize], axis: usize) -> Shape {
        let mut top = input[..axis].to_vec();
        top.push(self.num_output);
        top
    }

    /// Weights then (with `bias_term`) bias, for an input with `k` values per row.
    pub fn param_shapes(&self, k: usize) -> Vec<Shape> {
        let weight = if self.transpose {
            vec![k, self.num_output]
        } else {
            vec![self.num_output, k]
        };
        let mut shapes = vec![weight];
        if self.bias_term {
            shapes.push(vec![self.num_output]);
        }
        shapes
    }
}

pub(crate) fn setup(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    let mut params = InnerProductParams::from_layer(layer);
    let Some(inputs) = bottoms else {
        return Ok(Setup::unknown(params, ctx.num_tops));
    };
    let axis = ctx.axis(params.axis, inputs, 0, "inner_product_param.axis")?;
    params.axis = axis as i32;
    let input = &inputs[0];
    let k = count(input, axis, input.len());
    let top = params.output_shape(input, axis);
    let p = layer.inner_product_param.clone().unwrap_or_default();
    let fills = [
        filler_value(p.weight_filler.as_ref(), 0.0),
        filler_value(p.bias_filler.as_ref(), 0.0),
    ];
    let inits = params
        .param_shapes(k)
        .into_iter()
        .zip(fills)
        .map(|(shape, fill)| ParamInit { shape, fill })
        .collect();
    Ok(Setup::known(params, vec![top], inits))
}

/// `InnerProduct`: one bottom, one top.
pub(crate) const TYPE: LayerType = LayerType::new(&["InnerProduct"], setup);

impl LayerOp for InnerProductParams {
    fn param_count(&self) -> usize {
        1 + usize::from(self.bias_term)
    }

    /// Fixed: the weights fix the flattened size (the exporter refuses a
    /// symbolic axis that is flattened).
    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        Some(flow.fixed())
    }
}
