//! Permute (SSD fork of Caffe): reorders the axes; `order` lists the new
//! axes first and the axes it leaves out follow in their old order. An axis
//! out of range or listed twice is an error, as in Caffe's `LayerSetUp`.

use caffe_io::proto::LayerParameter;

use super::{LayerCtx, Setup};
use crate::error::Result;
use crate::registry::{AxisFlow, LayerOp, LayerType};
use crate::shape::Shape;

/// `Permute` (SSD fork): the axes in `order` (complete once shapes are known).
#[derive(Debug, Clone, PartialEq)]
pub struct Permute {
    pub order: Vec<usize>,
}

/// `Permute`: one bottom, one top.
pub(crate) const TYPE: LayerType = LayerType::new(&["Permute"], setup);

impl LayerOp for Permute {
    /// Each top axis is the bottom axis it came from.
    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        let f = flow.in_free.first().cloned().unwrap_or_default();
        Some(
            flow.out_shapes
                .iter()
                .map(|s| {
                    (0..s.len())
                        .map(|a| self.order.get(a).and_then(|&o| f.get(o)) == Some(&true))
                        .collect()
                })
                .collect(),
        )
    }
}

pub(crate) fn setup(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    let written: Vec<usize> = layer
        .permute_param
        .as_ref()
        .map_or_else(Vec::new, |p| p.order.iter().map(|&o| o as usize).collect());
    let Some(inputs) = bottoms else {
        return Ok(Setup::unknown(Permute { order: written }, ctx.num_tops));
    };
    let ndim = inputs[0].len();
    let mut order = Vec::with_capacity(ndim);
    for &axis in &written {
        if axis >= ndim {
            return Err(ctx.shape_error(
                inputs,
                format!("permute_param.order {axis} is not an axis of a {ndim}-axis input"),
            ));
        }
        if order.contains(&axis) {
            return Err(ctx.invalid(format!("permute_param.order lists axis {axis} twice")));
        }
        order.push(axis);
    }
    order.extend((0..ndim).filter(|a| !written.contains(a)));
    let top = order.iter().map(|&a| inputs[0][a]).collect();
    Ok(Setup::known(Permute { order }, vec![top], Vec::new()))
}
