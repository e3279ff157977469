//! Concat -> Concat (axis); Split -> Slice (slice points at the part
//! boundaries). ONNX's Slice op is in [`super::slice`].

use caffe_io::proto::{ConcatParameter, SliceParameter};

use crate::adapt;
use crate::cx::{Blob, Cx, Value};
use crate::error::OpResult;
use crate::node::{normalize_axis, Node};
use crate::registry::Mapped;
use crate::{invalid, refuse};

pub fn concat(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    if node.inputs().is_empty() {
        invalid!("no inputs");
    }
    let inputs: Vec<Blob> = (0..node.inputs().len())
        .map(|i| cx.blob(node, i))
        .collect::<OpResult<_>>()?;
    let rank = inputs[0].rank();
    let axis = normalize_axis(node.int("axis", 1)?, rank)?;
    let mut shape = inputs[0].shape.clone();
    shape[axis] = 0;
    for b in &inputs {
        if b.rank() != rank || (0..rank).any(|i| i != axis && b.shape[i] != inputs[0].shape[i]) {
            invalid!(
                "inputs of shapes {:?} and {:?} do not concatenate on axis {axis}",
                inputs[0].shape,
                b.shape
            );
        }
        shape[axis] += b.shape[axis];
    }
    if inputs.len() == 1 {
        cx.set_output(node, 0, Value::Blob(inputs[0].clone()));
        return Mapped::removed("one input: the identity");
    }
    let out = cx.output_blob(node, 0, shape);
    let refs: Vec<&Blob> = inputs.iter().collect();
    cx.layer(node, "", "Concat", &refs, &[&out], vec![], |l| {
        l.concat_param = Some(ConcatParameter {
            axis: (axis != 1).then_some(axis as i32),
            ..Default::default()
        })
    });
    Mapped::exact(format!("Concat on axis {axis}"))
}

pub fn split(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    node.arity(1, 2, None)?;
    let x = cx.blob(node, 0)?;
    let axis = normalize_axis(node.int("axis", 0)?, x.rank())?;
    let sizes = adapt::split_sizes(node, cx.constant(node, 1)?, x.shape[axis])?;
    if sizes.contains(&0) {
        refuse!("an empty part: Caffe blobs have no empty axis");
    }
    if sizes.len() == 1 {
        cx.set_output(node, 0, Value::Blob(x));
        return Mapped::removed("one part: the identity");
    }
    let mut points = Vec::new();
    let mut tops = Vec::new();
    let mut at = 0;
    for (i, &s) in sizes.iter().enumerate() {
        if i > 0 {
            points.push(at as u32);
        }
        at += s;
        let mut shape = x.shape.clone();
        shape[axis] = s;
        tops.push(cx.output_blob(node, i, shape));
    }
    let refs: Vec<&Blob> = tops.iter().collect();
    cx.layer(node, "", "Slice", &[&x], &refs, vec![], |l| {
        l.slice_param = Some(SliceParameter {
            axis: Some(axis as i32),
            slice_point: points,
            ..Default::default()
        })
    });
    Mapped::exact(format!("Slice on axis {axis} into {sizes:?}"))
}
