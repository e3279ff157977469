//! The neuron layers (graph-ir's `Neuron` family), element-wise. Most are one ONNX operator (ReLU with a slope is
//! `LeakyRelu`, BNLL is `Softplus`, Clip is `Clip` with its bounds as
//! inputs, Dropout at test time is `Identity`, or `x * (1 - ratio)` with
//! py-faster-rcnn's `scale_train: false`); Swish is
//! `x * Sigmoid(beta * x)` and Threshold `Cast(x > threshold)` to float;
//! Power, Exp and Log follow Caffe's own evaluation order so the rounding
//! matches: Power `(shift + scale * x) ^ power` (constant when `power` or
//! `scale` is 0), Exp `outer * e^(inner * x)` with `inner = ln(base) * scale`
//! and `outer = base ^ shift`, Log `ln(shift + scale * x) / ln(base)`.

use graph_ir::ops::Neuron;

use super::{broadcast_dims, LayerCx};
use crate::attr;
use crate::error::Result;
use crate::onnx::tensor_proto::DataType;

pub(super) fn neuron(cx: &mut LayerCx<'_, '_>, op: &Neuron) -> Result<()> {
    let (x, out) = (cx.inputs[0].clone(), cx.out(0));
    match *op {
        Neuron::ReLU { negative_slope: 0.0 } => cx.node("Relu", &[&x], &[&out], vec![]),
        Neuron::ReLU { negative_slope } => {
            cx.node("LeakyRelu", &[&x], &[&out], vec![attr::float("alpha", negative_slope)])
        }
        Neuron::PReLU { channel_shared } => {
            let shape = cx.in_shapes[0].clone();
            let dims = if channel_shared {
                vec![1]
            } else {
                if shape.len() < 2 {
                    return Err(cx.unsupported("PReLU needs a channel axis"));
                }
                broadcast_dims(&[shape[1]], 1, shape.len())
            };
            let slope = cx.param(0, "slope", Some(&dims))?;
            cx.node("PRelu", &[&x, &slope], &[&out], vec![])
        }
        Neuron::Sigmoid => cx.node("Sigmoid", &[&x], &[&out], vec![]),
        Neuron::TanH => cx.node("Tanh", &[&x], &[&out], vec![]),
        Neuron::Elu { alpha } => cx.node("Elu", &[&x], &[&out], vec![attr::float("alpha", alpha)]),
        Neuron::AbsVal => cx.node("Abs", &[&x], &[&out], vec![]),
        Neuron::Bnll => cx.node("Softplus", &[&x], &[&out], vec![]),
        Neuron::Dropout {
            random_at_test: true, ..
        } => Err(cx.unsupported(
            "sample_weights_test: true keeps dropping at random at test time (Bayesian SegNet's Monte Carlo \
             dropout), which no deterministic export reproduces; set it to false for the standard test-time \
             net, or cut the net before this layer",
        )),
        Neuron::Dropout { test_scale: 1.0, .. } => cx.identity(&x, &out),
        // py-faster-rcnn's scale_train: false: x * (1 - ratio), the f32 Caffe multiplies by.
        Neuron::Dropout { test_scale, .. } => {
            let s = cx.scalar("scale", test_scale)?;
            cx.node("Mul", &[&x, &s], &[&out], vec![])
        }
        Neuron::Clip { min, max } => {
            let lo = cx.scalar("min", min)?;
            let hi = cx.scalar("max", max)?;
            cx.node("Clip", &[&x, &lo, &hi], &[&out], vec![])
        }
        Neuron::Swish { beta } => {
            let t = scale_by(cx, &x, beta, "beta")?;
            let s = cx.tmp("Sigmoid", "sigmoid", &[&t], vec![])?;
            cx.node("Mul", &[&x, &s], &[&out], vec![])
        }
        Neuron::Threshold { threshold } => {
            let t = cx.scalar("threshold", threshold)?;
            let above = cx.tmp("Greater", "above", &[&x, &t], vec![])?;
            cx.node(
                "Cast",
                &[&above],
                &[&out],
                vec![attr::int("to", DataType::Float as i64)],
            )
        }
        Neuron::Power { power, scale, shift } => power_layer(cx, &x, &out, power, scale, shift),
        Neuron::Exp { base, scale, shift } => {
            let ln_base = if base == -1.0 { 1.0 } else { base.ln() };
            let inner = ln_base * scale;
            let outer = if shift == 0.0 {
                1.0
            } else if base == -1.0 {
                shift.exp()
            } else {
                base.powf(shift)
            };
            let t = scale_by(cx, &x, inner, "inner_scale")?;
            if outer == 1.0 {
                cx.node("Exp", &[&t], &[&out], vec![])
            } else {
                let e = cx.tmp("Exp", "exp", &[&t], vec![])?;
                let c = cx.scalar("outer_scale", outer)?;
                cx.node("Mul", &[&e, &c], &[&out], vec![])
            }
        }
        Neuron::Log { base, scale, shift } => {
            let base_scale = if base == -1.0 { 1.0 } else { 1.0 / base.ln() };
            let mut t = scale_by(cx, &x, scale, "input_scale")?;
            if shift != 0.0 {
                let c = cx.scalar("input_shift", shift)?;
                t = cx.tmp("Add", "shifted", &[&t, &c], vec![])?;
            }
            if base_scale == 1.0 {
                cx.node("Log", &[&t], &[&out], vec![])
            } else {
                let l = cx.tmp("Log", "ln", &[&t], vec![])?;
                let c = cx.scalar("base_scale", base_scale)?;
                cx.node("Mul", &[&l, &c], &[&out], vec![])
            }
        }
    }
}

/// `x * factor`, or `x` itself when the factor is 1.
fn scale_by(cx: &mut LayerCx<'_, '_>, x: &str, factor: f32, what: &str) -> Result<String> {
    if factor == 1.0 {
        return Ok(x.to_string());
    }
    let c = cx.scalar(what, factor)?;
    cx.tmp("Mul", what, &[x, &c], vec![])
}

fn power_layer(cx: &mut LayerCx<'_, '_>, x: &str, out: &str, power: f32, scale: f32, shift: f32) -> Result<()> {
    // Caffe: with power 0 or scale 0 the output is the constant 1 or shift^power.
    if power == 0.0 || scale == 0.0 {
        let value = if power == 0.0 { 1.0 } else { shift.powf(power) };
        let shape = cx.tmp("Shape", "shape", &[x], vec![])?;
        return cx.node("ConstantOfShape", &[&shape], &[out], vec![super::f32_fill(value)?]);
    }
    let mut t = scale_by(cx, x, scale, "scale")?;
    if shift != 0.0 {
        let c = cx.scalar("shift", shift)?;
        t = if power == 1.0 {
            return cx.node("Add", &[&t, &c], &[out], vec![]);
        } else {
            cx.tmp("Add", "shifted", &[&t, &c], vec![])?
        };
    }
    if power == 1.0 {
        return cx.identity(&t, out);
    }
    let p = cx.scalar("power", power)?;
    cx.node("Pow", &[&t, &p], &[out], vec![])
}
