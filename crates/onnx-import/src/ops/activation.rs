//! Elementwise activations, each one Caffe neuron layer: Relu/LeakyRelu ->
//! ReLU (negative_slope), PRelu -> PReLU (per channel or shared), Elu ->
//! ELU, Selu -> ELU + Power(scale), Sigmoid, Tanh -> TanH, Abs -> AbsVal,
//! Exp/Log (base e), Softplus -> BNLL, and the Power forms
//! `(shift + scale * x) ^ power`: Sqrt, Neg, Reciprocal, Pow by a constant.

use caffe_io::proto::{EluParameter, LayerParameter, PReLuParameter, PowerParameter, ReLuParameter};
use ndarray::IxDyn;

use crate::cx::{Blob, Cx};
use crate::error::OpResult;
use crate::node::Node;
use crate::refuse;
use crate::registry::Mapped;

/// One neuron layer from input 0 to output 0.
fn neuron(
    cx: &mut Cx,
    node: &Node,
    type_name: &str,
    params: Vec<ndarray::ArrayD<f32>>,
    configure: impl FnOnce(&mut LayerParameter),
) -> OpResult<(Blob, Blob)> {
    node.arity(1, 2, Some(1))?;
    let x = cx.blob(node, 0)?;
    let out = cx.output_blob(node, 0, x.shape.clone());
    cx.layer(node, "", type_name, &[&x], &[&out], params, configure);
    Ok((x, out))
}

/// Caffe's Power: `(shift + scale * x) ^ power`.
#[derive(Clone, Copy)]
pub(crate) struct Power {
    pub power: f32,
    pub scale: f32,
    pub shift: f32,
}

impl Power {
    /// `scale * x + shift`.
    pub(crate) fn affine(scale: f32, shift: f32) -> Power {
        Power {
            power: 1.0,
            scale,
            shift,
        }
    }

    /// `x ^ power`.
    pub(crate) fn pow(power: f32) -> Power {
        Power {
            power,
            scale: 1.0,
            shift: 0.0,
        }
    }
}

/// A Power layer from `x` to `out`.
pub(crate) fn power(cx: &mut Cx, node: &Node, part: &str, x: &Blob, out: &Blob, p: Power) {
    let Power { power, scale, shift } = p;
    cx.layer(node, part, "Power", &[x], &[out], vec![], |l| {
        l.power_param = Some(PowerParameter {
            power: (power != 1.0).then_some(power),
            scale: (scale != 1.0).then_some(scale),
            shift: (shift != 0.0).then_some(shift),
        })
    });
}

fn power_op(cx: &mut Cx, node: &Node, p: f32, scale: f32, shift: f32, rule: &str) -> OpResult<Mapped> {
    node.arity(1, 2, Some(1))?;
    let x = cx.blob(node, 0)?;
    let out = cx.output_blob(node, 0, x.shape.clone());
    power(cx, node, "", &x, &out, Power { power: p, scale, shift });
    Mapped::exact(rule.to_string())
}

pub fn relu(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    neuron(cx, node, "ReLU", vec![], |_| {})?;
    Mapped::exact("ReLU")
}

pub fn leaky_relu(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    let alpha = node.float("alpha", 0.01)?;
    neuron(cx, node, "ReLU", vec![], |l| {
        l.relu_param = Some(ReLuParameter {
            negative_slope: Some(alpha),
            ..Default::default()
        })
    })?;
    Mapped::exact(format!("ReLU with negative_slope {alpha}"))
}

pub fn prelu(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    node.arity(2, 2, Some(1))?;
    let x = cx.blob(node, 0)?;
    let slope = cx.required_constant(node, 1)?.clone();
    if x.rank() < 2 || slope.shape().len() > x.rank() {
        refuse!(
            "a PRelu of a rank-{} input with slope {:?}: Caffe's PReLU slopes axis 1",
            x.rank(),
            slope.shape()
        );
    }
    // The slope broadcast against x (numpy rules, aligned at the end).
    let lead = x.rank() - slope.shape().len();
    let varying: Vec<usize> = (0..slope.shape().len())
        .filter(|&i| slope.shape()[i] != 1)
        .map(|i| i + lead)
        .collect();
    let shared = varying.is_empty();
    if !shared && (varying != [1] || slope.len() != x.shape[1]) {
        refuse!(
            "the slope of shape {:?} varies along axes {varying:?} of the input {:?}; Caffe's PReLU has one slope per \
             channel (axis 1) or one for all",
            slope.shape(),
            x.shape
        );
    }
    // A shared slope is written once per channel: Caffe's channel_shared
    // blob has no axes, which OpenCV's importer cannot read.
    let values = slope
        .to_f32()
        .into_shape_with_order(IxDyn(&[slope.len()]))
        .expect("flat");
    let values = values
        .broadcast(IxDyn(&[x.shape[1]]))
        .expect("1 or C values")
        .to_owned();
    let out = cx.output_blob(node, 0, x.shape.clone());
    cx.layer(node, "", "PReLU", &[&x], &[&out], vec![values], |l| {
        l.prelu_param = Some(PReLuParameter::default())
    });
    Mapped::exact(if shared {
        "PReLU, the one slope repeated per channel"
    } else {
        "PReLU, a slope per channel"
    })
}

pub fn elu(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    let alpha = node.float("alpha", 1.0)?;
    neuron(cx, node, "ELU", vec![], |l| {
        l.elu_param = Some(EluParameter { alpha: Some(alpha) })
    })?;
    Mapped::exact(format!("ELU with alpha {alpha}"))
}

pub fn selu(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    node.arity(1, 1, Some(1))?;
    let alpha = node.float("alpha", 1.673_263_2)?;
    let gamma = node.float("gamma", 1.050_701)?;
    let x = cx.blob(node, 0)?;
    let e = cx.part(node, "elu", x.shape.clone());
    let out = cx.output_blob(node, 0, x.shape.clone());
    cx.layer(node, "elu", "ELU", &[&x], &[&e], vec![], |l| {
        l.elu_param = Some(EluParameter { alpha: Some(alpha) })
    });
    power(cx, node, "", &e, &out, Power::affine(gamma, 0.0));
    Mapped::composed(format!("ELU (alpha {alpha}) then Power (scale {gamma})"))
}

pub fn sigmoid(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    neuron(cx, node, "Sigmoid", vec![], |_| {})?;
    Mapped::exact("Sigmoid")
}

pub fn tanh(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    neuron(cx, node, "TanH", vec![], |_| {})?;
    Mapped::exact("TanH")
}

pub fn abs(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    neuron(cx, node, "AbsVal", vec![], |_| {})?;
    Mapped::exact("AbsVal")
}

pub fn exp(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    neuron(cx, node, "Exp", vec![], |_| {})?;
    Mapped::exact("Exp (base e)")
}

pub fn log(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    neuron(cx, node, "Log", vec![], |_| {})?;
    Mapped::exact("Log (base e)")
}

pub fn softplus(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    neuron(cx, node, "BNLL", vec![], |_| {})?;
    Mapped::exact("BNLL: log(1 + exp(x)), computed stably")
}

pub fn sqrt(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    power_op(cx, node, 0.5, 1.0, 0.0, "Power (power 0.5)")
}

pub fn neg(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    power_op(cx, node, 1.0, -1.0, 0.0, "Power (scale -1)")
}

pub fn reciprocal(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    power_op(cx, node, -1.0, 1.0, 0.0, "Power (power -1)")
}

pub fn pow(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    node.arity(2, 2, Some(1))?;
    let e = cx.required_constant(node, 1)?;
    let Some(p) = e.scalar() else {
        refuse!(
            "an exponent of shape {:?}: Caffe's Power takes one exponent for all",
            e.shape()
        );
    };
    power_op(cx, node, p, 1.0, 0.0, &format!("Power (power {p})"))
}
