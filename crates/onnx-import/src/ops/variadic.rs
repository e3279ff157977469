//! Sum/Max/Min/Mean of blobs of one shape -> Eltwise (SUM, MAX; Min as
//! -max(-a, -b, ...), negations exact; Mean as SUM with coeff 1/n, within
//! one rounding of ONNX's division by n).

use caffe_io::proto::eltwise_parameter::EltwiseOp;

use super::activation::{power, Power};
use super::clip::eltwise;
use crate::cx::{Blob, Cx, Value};
use crate::error::OpResult;
use crate::node::Node;
use crate::refuse;
use crate::registry::Mapped;

fn blobs(cx: &Cx, node: &Node) -> OpResult<Vec<Blob>> {
    if node.inputs().is_empty() {
        crate::invalid!("no inputs");
    }
    let all: Vec<Blob> = (0..node.inputs().len())
        .map(|i| cx.blob(node, i))
        .collect::<OpResult<_>>()?;
    if let Some(b) = all.iter().find(|b| b.shape != all[0].shape) {
        refuse!(
            "inputs of shapes {:?} and {:?}: Caffe's Eltwise takes inputs of one shape",
            all[0].shape,
            b.shape
        );
    }
    Ok(all)
}

fn variadic(cx: &mut Cx, node: &Node, op: EltwiseOp, coeff: Vec<f32>, what: &str) -> OpResult<Mapped> {
    let inputs = blobs(cx, node)?;
    if inputs.len() == 1 {
        cx.set_output(node, 0, Value::Blob(inputs[0].clone()));
        return Mapped::removed("one input: the identity");
    }
    let out = cx.output_blob(node, 0, inputs[0].shape.clone());
    let refs: Vec<&Blob> = inputs.iter().collect();
    eltwise(cx, node, "", op, &refs, coeff, &out);
    Mapped::exact(what.to_string())
}

pub fn sum(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    variadic(cx, node, EltwiseOp::Sum, vec![], "Eltwise SUM")
}

pub fn max(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    variadic(cx, node, EltwiseOp::Max, vec![], "Eltwise MAX")
}

pub fn mean(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    let n = node.inputs().len();
    let m = variadic(cx, node, EltwiseOp::Sum, vec![1.0 / n as f32; n], "")?;
    Ok(crate::registry::Mapped {
        note: format!("Eltwise SUM with coeff 1/{n} (within one rounding of ONNX's sum / {n})"),
        ..m
    })
}

pub fn min(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    let inputs = blobs(cx, node)?;
    if inputs.len() == 1 {
        cx.set_output(node, 0, Value::Blob(inputs[0].clone()));
        return Mapped::removed("one input: the identity");
    }
    let negated: Vec<Blob> = inputs
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let n = cx.part(node, &format!("negated{i}"), b.shape.clone());
            power(cx, node, &format!("negate{i}"), b, &n, Power::affine(-1.0, 0.0));
            n
        })
        .collect();
    let m = cx.part(node, "negated_min", inputs[0].shape.clone());
    let refs: Vec<&Blob> = negated.iter().collect();
    eltwise(cx, node, "max", EltwiseOp::Max, &refs, vec![], &m);
    let out = cx.output_blob(node, 0, inputs[0].shape.clone());
    power(cx, node, "", &m, &out, Power::affine(-1.0, 0.0));
    Mapped::composed("-max(-a, -b, ...): Power (scale -1), Eltwise MAX, Power (scale -1)")
}
