//! Silence: as Caffe's `SilenceLayer`, consumes its bottoms and has no top;
//! it only keeps Caffe from reporting its bottoms as the net's outputs.

use caffe_io::proto::LayerParameter;

use super::{LayerCtx, Setup};
use crate::error::Result;
use crate::registry::{Arity, AxisFlow, LayerOp, LayerType};
use crate::shape::Shape;

/// `Silence`: one or more bottoms, no top.
#[derive(Debug, Clone, PartialEq)]
pub struct Silence;

/// `Silence`: at least one bottom, no top.
pub(crate) const TYPE: LayerType = LayerType::new(&["Silence"], setup)
    .bottoms(Arity::AtLeast(1))
    .tops(Arity::Exactly(0));

impl LayerOp for Silence {
    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        Some(flow.fixed())
    }
}

fn setup(_ctx: &LayerCtx<'_>, _layer: &LayerParameter, _bottoms: Option<&[Shape]>) -> Result<Setup> {
    Ok(Setup::known(Silence, Vec::new(), Vec::new()))
}
