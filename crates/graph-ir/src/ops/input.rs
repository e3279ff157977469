//! Input: as Caffe's `InputLayer`, `input_param.shape` is given once (for
//! every top), once per top, or not at all (the tops' shapes are then unknown
//! until [`crate::Net::reshape_input`] sets them).

use caffe_io::blob::dims_to_shape;
use caffe_io::proto::LayerParameter;

use super::{LayerCtx, Setup};
use crate::error::Result;
use crate::registry::{Arity, AxisFlow, LayerOp, LayerType};
use crate::shape::Shape;

/// The declared shape of each top (None when the layer declares none).
#[derive(Debug, Clone, PartialEq)]
pub struct InputParams {
    pub shapes: Vec<Option<Shape>>,
}

impl InputParams {
    /// Parses `input_param`, one shape per top.
    pub fn from_layer(ctx: &LayerCtx<'_>, layer: &LayerParameter) -> Result<Self> {
        let given = layer.input_param.clone().unwrap_or_default().shape;
        let n = ctx.num_tops;
        if !(given.is_empty() || given.len() == 1 || given.len() == n) {
            return Err(ctx.invalid(format!(
                "must specify 'shape' once, once per top blob, or not at all: {n} tops vs. {} shapes",
                given.len()
            )));
        }
        let mut shapes = Vec::with_capacity(n);
        for i in 0..n {
            let shape = match given.len() {
                0 => None,
                1 => Some(&given[0]),
                _ => Some(&given[i]),
            };
            let shape = match shape {
                Some(s) => Some(dims_to_shape(&s.dim).map_err(|e| ctx.invalid(format!("input shape {i}: {e}")))?),
                None => None,
            };
            shapes.push(shape);
        }
        Ok(InputParams { shapes })
    }
}

fn setup(ctx: &LayerCtx<'_>, layer: &LayerParameter, _bottoms: Option<&[Shape]>) -> Result<Setup> {
    let params = InputParams::from_layer(ctx, layer)?;
    let tops = params.shapes.clone();
    Ok(Setup {
        op: params.into(),
        tops,
        params: Some(Vec::new()),
    })
}

/// `Input`: no bottom, one or more tops.
pub(crate) const TYPE: LayerType = LayerType::new(&["Input"], setup)
    .bottoms(Arity::Exactly(0))
    .tops(Arity::AtLeast(1));

impl LayerOp for InputParams {
    fn is_net_input(&self) -> bool {
        true
    }
    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        Some(flow.fixed())
    }
}
