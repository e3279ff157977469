//! Flatten, Reshape, Squeeze, Unsqueeze: the same row-major memory, so
//! Caffe's Flatten (axis 1, which gives ONNX's 2-D result) or Reshape to
//! the static shape (dim 0 as 0, "copy the batch", where it is unchanged);
//! nothing at all when the shape does not change.

use caffe_io::proto::FlattenParameter;

use crate::adapt;
use crate::cx::{Blob, Cx, Value};
use crate::error::OpResult;
use crate::fold::{reshape_shape, squeeze_shape, unsqueeze_shape};
use crate::node::Node;
use crate::registry::Mapped;

/// Output 0 as `x` with `shape`.
pub(crate) fn to_shape(cx: &mut Cx, node: &Node, x: &Blob, shape: Vec<usize>) -> OpResult<Mapped> {
    if shape == x.shape {
        cx.set_output(node, 0, Value::Blob(x.clone()));
        return Mapped::removed("the shape does not change");
    }
    let out = cx.output_blob(node, 0, shape.clone());
    if shape.len() == 2 && x.rank() >= 2 && shape[0] == x.shape[0] {
        cx.layer(node, "", "Flatten", &[x], &[&out], vec![], |l| {
            l.flatten_param = Some(FlattenParameter::default())
        });
        return Mapped::exact("Flatten (axis 1)");
    }
    let dims: Vec<i64> = shape
        .iter()
        .enumerate()
        .map(|(i, &d)| {
            if i == 0 && x.shape.first() == Some(&d) {
                0
            } else {
                d as i64
            }
        })
        .collect();
    cx.layer(node, "", "Reshape", &[x], &[&out], vec![], |l| {
        l.reshape_param = Some(super::reshape_param(dims))
    });
    Mapped::exact(format!("Reshape to {shape:?}"))
}

pub fn flatten(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    node.arity(1, 1, Some(1))?;
    let x = cx.blob(node, 0)?;
    let axis = node.int("axis", 1)?;
    let r = x.rank() as i64;
    let axis = if axis < 0 { axis + r } else { axis };
    if axis < 0 || axis > r {
        crate::invalid!("axis {axis} for rank {r}");
    }
    let outer: usize = x.shape[..axis as usize].iter().product();
    let inner: usize = x.shape[axis as usize..].iter().product();
    to_shape(cx, node, &x, vec![outer, inner])
}

pub fn reshape(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    node.arity(2, 2, Some(1))?;
    let x = cx.blob(node, 0)?;
    let spec = cx.required_constant(node, 1)?.ints();
    let shape = reshape_shape(&x.shape, &spec, node.opset >= 14 && node.int("allowzero", 0)? != 0)?;
    to_shape(cx, node, &x, shape)
}

pub fn squeeze(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    node.arity(1, 2, Some(1))?;
    let x = cx.blob(node, 0)?;
    let axes = adapt::axes(node, 13, cx.constant(node, 1)?);
    let shape = squeeze_shape(&x.shape, axes.as_deref())?;
    if shape.is_empty() {
        crate::refuse!("squeezes to a scalar; Caffe blobs have at least one axis");
    }
    to_shape(cx, node, &x, shape)
}

pub fn unsqueeze(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    node.arity(1, 2, Some(1))?;
    let x = cx.blob(node, 0)?;
    let axes = adapt::axes(node, 13, cx.constant(node, 1)?).ok_or_else(|| crate::OpError::Invalid("no axes".into()))?;
    let shape = unsqueeze_shape(&x.shape, &axes)?;
    to_shape(cx, node, &x, shape)
}
