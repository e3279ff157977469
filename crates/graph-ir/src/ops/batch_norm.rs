//! BatchNorm: as Caffe's `BatchNormLayer`, three param blobs `(C,)` mean * s,
//! `(C,)` variance * s and `(1,)` the moving-average factor s, with C the
//! input's axis 1 (1 for a 1-D input); `use_global_stats` defaults to true in
//! the TEST phase; eps defaults to 1e-5. The output keeps the input's shape.

use caffe_io::proto::{LayerParameter, Phase};

use super::{Fill, LayerCtx, ParamInit, Setup};
use crate::error::Result;
use crate::registry::{AxisFlow, LayerOp, LayerType};
use crate::shape::Shape;

/// Resolved BatchNorm parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchNormParams {
    /// Normalize with the stored statistics (true in TEST unless set).
    pub use_global_stats: bool,
    pub eps: f32,
    pub moving_average_fraction: f32,
}

impl BatchNormParams {
    /// Parses `batch_norm_param`; statistics cannot be learned (`lr_mult` 0).
    pub fn from_layer(ctx: &LayerCtx<'_>, layer: &LayerParameter) -> Result<Self> {
        let p = layer.batch_norm_param.unwrap_or_default();
        if let Some(i) = layer.param.iter().take(3).position(|s| s.lr_mult() != 0.0) {
            return Err(ctx.invalid(format!(
                "cannot configure batch normalization statistics as layer parameters (param {i} has lr_mult {})",
                layer.param[i].lr_mult()
            )));
        }
        Ok(BatchNormParams {
            use_global_stats: p.use_global_stats.unwrap_or(ctx.phase == Phase::Test),
            eps: p.eps(),
            moving_average_fraction: p.moving_average_fraction(),
        })
    }

    /// `[(C,), (C,), (1,)]`.
    pub fn param_shapes(input: &[usize]) -> Vec<Shape> {
        let channels = if input.len() == 1 { 1 } else { input[1] };
        vec![vec![channels], vec![channels], vec![1]]
    }
}

pub(crate) fn setup(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    let params = BatchNormParams::from_layer(ctx, layer)?;
    let Some(inputs) = bottoms else {
        return Ok(Setup::unknown(params, ctx.num_tops));
    };
    if inputs[0].is_empty() {
        return Err(ctx.shape_error(inputs, "BatchNorm needs an input with at least 1 axis"));
    }
    let inits = BatchNormParams::param_shapes(&inputs[0])
        .into_iter()
        .map(|shape| ParamInit {
            shape,
            fill: Fill::Constant(0.0),
        })
        .collect();
    Ok(Setup::known(params, vec![inputs[0].clone()], inits))
}

/// `BatchNorm`: one bottom, one top, three params (mean, variance, scale factor).
pub(crate) const TYPE: LayerType = LayerType::new(&["BatchNorm"], setup);

impl LayerOp for BatchNormParams {
    fn param_count(&self) -> usize {
        3
    }
    fn computes_in_place(&self) -> bool {
        true
    }
    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        Some(flow.same_as_bottom(0))
    }
}
