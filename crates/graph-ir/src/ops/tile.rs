//! Tile: as Caffe's `TileLayer`, repeats the input `tiles` times along
//! `axis` (default 1), whole blocks of the axes from `axis` on one after the
//! other (numpy's `tile`); `tiles` must be given and positive.

use caffe_io::proto::LayerParameter;

use super::{LayerCtx, Op, Setup};
use crate::error::Result;
use crate::shape::Shape;

pub(crate) fn setup(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    let p = layer.tile_param.unwrap_or_default();
    let tiles = match p.tiles {
        None => return Err(ctx.invalid("tile_param.tiles is required")),
        Some(t) if t <= 0 => return Err(ctx.invalid(format!("tile_param.tiles must be positive, got {t}"))),
        Some(t) => t as usize,
    };
    let op = |axis| Op::Tile { axis, tiles };
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
