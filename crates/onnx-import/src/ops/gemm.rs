//! Gemm (transA 0) and MatMul by a constant right side -> InnerProduct:
//! Caffe's weight is (N, K) (`transB` 1 as is, `transB` 0 and MatMul's
//! (K, N) transposed), alpha folded into the weight, `beta * C` (constant
//! along the rows) its bias; MatMul of a rank-r input is InnerProduct on
//! axis r-1. Two activations have no Caffe layer.

use caffe_io::proto::InnerProductParameter;
use ndarray::{ArrayD, Axis, Ix2, IxDyn};

use crate::cx::{Blob, Cx};
use crate::error::OpResult;
use crate::node::Node;
use crate::registry::Mapped;
use crate::{invalid, refuse};

fn inner_product(cx: &mut Cx, node: &Node, x: &Blob, axis: usize, w: ArrayD<f32>, b: Option<ArrayD<f32>>) {
    let n = w.shape()[0];
    let mut shape = x.shape[..axis].to_vec();
    shape.push(n);
    let out = cx.output_blob(node, 0, shape);
    let bias = b.is_some();
    let mut params = vec![w];
    params.extend(b);
    cx.layer(node, "", "InnerProduct", &[x], &[&out], params, |l| {
        l.inner_product_param = Some(InnerProductParameter {
            num_output: Some(n as u32),
            bias_term: Some(bias),
            axis: (axis != 1).then_some(axis as i32),
            ..Default::default()
        })
    });
}

fn activation_right(cx: &Cx, node: &Node) -> OpResult<()> {
    if !matches!(cx.value(node, 1)?, crate::cx::Value::Const(_)) {
        refuse!(
            "the right operand '{}' is computed at run time: a product of two activations has no Caffe layer \
             (InnerProduct needs constant weights)",
            node.inputs()[1]
        );
    }
    Ok(())
}

pub fn gemm(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    node.arity(2, 3, Some(1))?;
    // `broadcast` (before opset 7) is gone: C broadcasts unidirectionally.
    if node.int("transA", 0)? != 0 {
        refuse!("transA 1: Caffe's InnerProduct multiplies the input untransposed");
    }
    let x = cx.blob(node, 0)?;
    activation_right(cx, node)?;
    if x.rank() != 2 {
        invalid!("Gemm's A has rank {}", x.rank());
    }
    let b = cx.required_constant(node, 1)?;
    if b.shape().len() != 2 {
        invalid!("Gemm's B has shape {:?}", b.shape());
    }
    let b = cx.take_constant(node, 1)?.expect("checked above").into_f32();
    let b = b.into_dimensionality::<Ix2>().expect("rank 2");
    let trans_b = node.int("transB", 0)? != 0;
    let w = if trans_b {
        b
    } else {
        b.reversed_axes().as_standard_layout().into_owned()
    };
    let (n, k) = (w.shape()[0], w.shape()[1]);
    if k != x.shape[1] {
        invalid!("B gives K = {k}, A has {} columns", x.shape[1]);
    }
    let alpha = node.float("alpha", 1.0)?;
    let beta = node.float("beta", 1.0)?;
    let w = if alpha != 1.0 { w.mapv(|v| v * alpha) } else { w };
    let bias = match cx.constant(node, 2)? {
        None => None,
        Some(c) => {
            let full = c
                .to_f32()
                .broadcast(IxDyn(&[x.shape[0], n]))
                .ok_or_else(|| {
                    crate::OpError::Invalid(format!("C of shape {:?} does not broadcast to [M, N]", c.shape()))
                })?
                .to_owned();
            let first = full.index_axis(Axis(0), 0).to_owned();
            if full.axis_iter(Axis(0)).any(|row| row != first) {
                refuse!("C differs between rows; InnerProduct's bias is one row for every input row");
            }
            Some(first.mapv(|v| v * beta))
        }
    };
    inner_product(cx, node, &x, 1, w.into_dyn(), bias);
    let exact_alpha = alpha == 1.0 || (alpha.abs().log2().fract() == 0.0);
    Mapped::exact(format!(
        "InnerProduct (weight {}, alpha {alpha} folded into it{}, beta {beta} into the bias)",
        if trans_b { "B as is" } else { "B transposed" },
        if exact_alpha { "" } else { ": within one rounding" }
    ))
}

pub fn matmul(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    node.arity(2, 2, Some(1))?;
    if !matches!(cx.value(node, 0)?, crate::cx::Value::Blob(_)) {
        refuse!("a constant left operand: InnerProduct multiplies a blob by constant weights on its right");
    }
    let x = cx.blob(node, 0)?;
    activation_right(cx, node)?;
    let b = cx.required_constant(node, 1)?;
    if b.shape().len() != 2 {
        refuse!(
            "a right operand of shape {:?}: InnerProduct takes a 2-D (K, N) weight",
            b.shape()
        );
    }
    if x.rank() < 2 {
        refuse!("a rank-1 left operand: InnerProduct needs a batch axis");
    }
    let k = b.shape()[0];
    if x.shape[x.rank() - 1] != k {
        invalid!(
            "the left operand's last dim {} differs from K = {k}",
            x.shape[x.rank() - 1]
        );
    }
    let w = cx.take_constant(node, 1)?.expect("checked above").into_f32();
    let w = w.into_dimensionality::<Ix2>().expect("rank 2");
    let w = w.reversed_axes().as_standard_layout().into_owned().into_dyn();
    inner_product(cx, node, &x, x.rank() - 1, w, None);
    Mapped::exact(format!("InnerProduct on axis {} (weight: B transposed)", x.rank() - 1))
}
