//! Tile: Caffe's `TileLayer` lays `tiles` copies of the blocks from `axis` on
//! one after the other, which is ONNX `Tile` with `repeats` 1 except at `axis`.

use super::LayerCx;
use crate::error::Result;

pub(super) fn tile(cx: &mut LayerCx<'_, '_>, axis: i32, tiles: usize) -> Result<()> {
    let axis = cx.axis(axis, 0)?;
    let (x, out) = (cx.inputs[0].clone(), cx.out(0));
    let mut repeats = vec![1i64; cx.in_shapes[0].len()];
    repeats[axis] = tiles as i64;
    let repeats = cx.ints("repeats", &repeats)?;
    cx.node("Tile", &[&x, &repeats], &[&out], vec![])
}
