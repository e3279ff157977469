//! Identity, Dropout (inference) and Cast to float: no Caffe layer; the
//! output is the input blob (Caffe's Dropout is the identity at TEST too).

use crate::cx::{Cx, Value};
use crate::error::OpResult;
use crate::node::Node;
use crate::refuse;
use crate::registry::Mapped;

pub fn identity(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    node.arity(1, 1, Some(1))?;
    let x = cx.blob(node, 0)?;
    cx.set_output(node, 0, Value::Blob(x));
    Mapped::removed("the identity")
}

pub fn dropout(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    node.arity(1, 3, None)?;
    // Opset 12 moved training_mode to input 2; 7 to 11 have no training form.
    if node.opset >= 12 {
        if let Some(t) = cx.constant(node, 2)? {
            if t.ints().first().copied().unwrap_or(0) != 0 {
                refuse!("training_mode is true: dropping at random has no deterministic Caffe form");
            }
        }
    }
    let x = cx.blob(node, 0)?;
    cx.set_output(node, 0, Value::Blob(x));
    if node.outputs().get(1).is_some_and(|m| !m.is_empty()) {
        cx.set_output(node, 1, Value::Unavailable);
    }
    Mapped::removed("the identity at inference")
}

pub fn cast(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    node.arity(1, 1, Some(1))?;
    let to = node.int("to", 1)?;
    if to != 1 {
        refuse!("a Cast of a blob to data type {to}: Caffe blobs are float");
    }
    let x = cx.blob(node, 0)?;
    cx.set_output(node, 0, Value::Blob(x));
    Mapped::removed("a Cast of a float blob to float")
}
