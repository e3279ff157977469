//! Clip, HardSigmoid and HardSwish with BVLC layers. max(x, a) is an
//! Eltwise MAX against `a` made by a Power with scale 0 (Caffe's Power sets
//! the constant exactly); min(x, b) = -max(-x, -b), negations being exact;
//! a lower bound of 0 is a ReLU. `relu(x) - relu(x - 6)` is not exact and
//! is not used. The `opencv` dialect has ReLU6 and `bvlc` has Clip.

use caffe_io::proto::{eltwise_parameter::EltwiseOp, ClipParameter, EltwiseParameter};

use super::activation::{power, Power};
use crate::cx::{Blob, Cx};
use crate::error::OpResult;
use crate::node::Node;
use crate::registry::Mapped;
use crate::{invalid, refuse};

/// An Eltwise of `bottoms` to `out`.
pub(crate) fn eltwise(
    cx: &mut Cx,
    node: &Node,
    part: &str,
    op: EltwiseOp,
    bottoms: &[&Blob],
    coeff: Vec<f32>,
    out: &Blob,
) {
    cx.layer(node, part, "Eltwise", bottoms, &[out], vec![], |l| {
        l.eltwise_param = Some(EltwiseParameter {
            operation: Some(op as i32),
            coeff,
            ..Default::default()
        })
    });
}

/// `clip(x, lo, hi)` from `x` to `out`, exactly, with the dialect's layers.
/// Returns what it composed.
pub(crate) fn clip_blob(cx: &mut Cx, node: &Node, x: &Blob, lo: Option<f32>, hi: Option<f32>, out: &Blob) -> String {
    let shape = x.shape.clone();
    if cx.dialect().has_relu6() && lo == Some(0.0) && hi == Some(6.0) {
        cx.layer(node, "", "ReLU6", &[x], &[out], vec![], |_| {});
        return "ReLU6 (OpenCV)".into();
    }
    if cx.dialect().has_clip() {
        if let (Some(lo), Some(hi)) = (lo, hi) {
            cx.layer(node, "", "Clip", &[x], &[out], vec![], |l| {
                l.clip_param = Some(ClipParameter { min: lo, max: hi })
            });
            return "Clip (BVLC master)".into();
        }
    }
    let mut steps = Vec::new();
    let mut cur = x.clone();
    if let Some(lo) = lo {
        let target = if hi.is_none() {
            out.clone()
        } else {
            cx.part(node, "lower", shape.clone())
        };
        if lo == 0.0 {
            cx.layer(node, "relu", "ReLU", &[&cur], &[&target], vec![], |_| {});
            steps.push("ReLU".to_string());
        } else {
            let c = cx.part(node, "lower_bound", shape.clone());
            power(cx, node, "lower_bound", &cur, &c, Power::affine(0.0, lo));
            eltwise(cx, node, "max", EltwiseOp::Max, &[&cur, &c], vec![], &target);
            steps.push(format!("Eltwise MAX with {lo} (a Power of scale 0)"));
        }
        cur = target;
    }
    if let Some(hi) = hi {
        let neg = cx.part(node, "negated", shape.clone());
        power(cx, node, "negate", &cur, &neg, Power::affine(-1.0, 0.0));
        let c = cx.part(node, "upper_bound", shape.clone());
        power(cx, node, "upper_bound", &cur, &c, Power::affine(0.0, -hi));
        let m = cx.part(node, "negated_min", shape.clone());
        eltwise(cx, node, "min", EltwiseOp::Max, &[&neg, &c], vec![], &m);
        power(cx, node, "", &m, out, Power::affine(-1.0, 0.0));
        steps.push(format!("min with {hi} as -max(-x, -{hi})"));
    }
    steps.join(", then ")
}

pub fn clip(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    node.arity(1, 3, Some(1))?;
    let x = cx.blob(node, 0)?;
    // Opset 11 moved min and max from attributes to inputs 1 and 2.
    let (lo, hi) = if node.opset < 11 {
        let lo = node.attr("min").map(|a| a.f());
        let hi = node.attr("max").map(|a| a.f());
        (lo, hi)
    } else {
        let scalar = |c: Option<&crate::Const>| -> OpResult<Option<f32>> {
            match c {
                None => Ok(None),
                Some(c) => c.scalar().map(Some).ok_or_else(|| {
                    crate::OpError::Invalid(format!("a bound of shape {:?}; Clip takes scalars", c.shape()))
                }),
            }
        };
        (scalar(cx.constant(node, 1)?)?, scalar(cx.constant(node, 2)?)?)
    };
    let lo = lo.filter(|v| *v != f32::NEG_INFINITY && *v != f32::MIN);
    let hi = hi.filter(|v| *v != f32::INFINITY && *v != f32::MAX);
    if let (Some(a), Some(b)) = (lo, hi) {
        if a > b {
            invalid!("min {a} > max {b}");
        }
    }
    let out = cx.output_blob(node, 0, x.shape.clone());
    if lo.is_none() && hi.is_none() {
        power(cx, node, "", &x, &out, Power::affine(1.0, 0.0));
        return Mapped::exact("no bounds: a Power identity");
    }
    let how = clip_blob(cx, node, &x, lo, hi, &out);
    if cx.node_layers.len() == 1 {
        Mapped::exact(how)
    } else {
        Mapped::composed(how)
    }
}

/// `max(0, min(1, alpha * x + beta))` from `x` to `out`.
fn hard_sigmoid_blob(cx: &mut Cx, node: &Node, x: &Blob, alpha: f32, beta: f32, out: &Blob) -> String {
    let t = cx.part(node, "affine", x.shape.clone());
    power(cx, node, "affine", x, &t, Power::affine(alpha, beta));
    let how = clip_blob(cx, node, &t, Some(0.0), Some(1.0), out);
    format!("Power (scale {alpha}, shift {beta}), then {how}")
}

pub fn hard_sigmoid(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    node.arity(1, 1, Some(1))?;
    let x = cx.blob(node, 0)?;
    let (alpha, beta) = (node.float("alpha", 0.2)?, node.float("beta", 0.5)?);
    let out = cx.output_blob(node, 0, x.shape.clone());
    let how = hard_sigmoid_blob(cx, node, &x, alpha, beta, &out);
    Mapped::composed(how)
}

pub fn hard_swish(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    node.arity(1, 1, Some(1))?;
    if node.opset < 14 {
        refuse!("HardSwish is not an op of opset {}", node.opset);
    }
    let x = cx.blob(node, 0)?;
    let gate = cx.part(node, "gate", x.shape.clone());
    let how = hard_sigmoid_blob(cx, node, &x, 1.0 / 6.0, 0.5, &gate);
    let out = cx.output_blob(node, 0, x.shape.clone());
    eltwise(cx, node, "", EltwiseOp::Prod, &[&x, &gate], vec![], &out);
    Mapped::composed(format!("x * hardsigmoid(x): {how}, then Eltwise PROD"))
}
