//! Tile: as Caffe's `TileLayer`, repeats the input `tiles` times along
//! `axis` (default 1), whole blocks of the axes from `axis` on one after the
//! other (numpy's `tile`); `tiles` must be given and positive.

use caffe_io::proto::LayerParameter;

use super::{LayerCtx, Setup};
use crate::error::Result;
use crate::registry::{AxisFlow, LayerOp, LayerType};
use crate::shape::Shape;

/// `Tile`: `tiles` copies of the input along `axis` (resolved when shapes are known).
#[derive(Debug, Clone, PartialEq)]
pub struct Tile {
    pub axis: i32,
    pub tiles: usize,
}

/// `Tile`: one bottom, one top.
pub(crate) const TYPE: LayerType = LayerType::new(&["Tile"], setup);

impl LayerOp for Tile {
    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        Some(flow.same_as_bottom(0))
    }
}

pub(crate) fn setup(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    let p = layer.tile_param.unwrap_or_default();
    let tiles = match p.tiles {
        None => return Err(ctx.invalid("tile_param.tiles is required")),
        Some(t) if t <= 0 => return Err(ctx.invalid(format!("tile_param.tiles must be positive, got {t}"))),
        Some(t) => t as usize,
    };
    let op = |axis| Tile { axis, tiles };
    let Some(inputs) = bottoms else {
        return Ok(Setup::unknown(op(p.axis()), ctx.num_tops));
    };
    let axis = ctx.axis(p.axis(), inputs, 0, "tile_param.axis")?;
    let mut top = inputs[0].clone();
    top[axis] = top[axis]
        .checked_mul(tiles)
        .ok_or_else(|| ctx.shape_error(inputs, format!("{tiles} tiles of axis {axis} overflow")))?;
    Ok(Setup::known(op(axis as i32), vec![top], Vec::new()))
}
