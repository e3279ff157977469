//! Tile: Caffe's `TileLayer` lays `tiles` copies of the blocks from `axis` on
//! one after the other, which is ONNX `Tile` with `repeats` 1 except at `axis`.

use graph_ir::ops::Tile;

use super::LayerCx;
use crate::error::Result;

pub(super) fn tile(cx: &mut LayerCx<'_, '_>, op: &Tile) -> Result<()> {
    let (axis, tiles) = (cx.axis(op.axis, 0)?, op.tiles);
    let (x, out) = (cx.inputs[0].clone(), cx.out(0));
    let mut repeats = vec![1i64; cx.in_shapes[0].len()];
    repeats[axis] = tiles as i64;
    let repeats = cx.ints("repeats", &repeats)?;
    cx.node("Tile", &[&x, &repeats], &[&out], vec![])
}
