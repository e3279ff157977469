//! Erf (GELU's): no Caffe layer computes it, so it is refused unless
//! approximations are allowed. Then: Abramowitz and Stegun's 7.1.26,
//! `erf(|x|) = 1 - (a1 t + ... + a5 t^5) exp(-x^2)`, `t = 1 / (1 + p |x|)`
//! (Handbook of Mathematical Functions, 1964: error below 1.5e-7), in
//! Caffe 1.0 layers (AbsVal, Power, Eltwise PROD, Exp), times the sign of
//! `x` (`x / (|x| + 1e-30)`). The error reported is measured: the same
//! layer sequence evaluated in f32 on every 2^-12 step of [-10, 10],
//! against libm's erf in f64.

use caffe_io::proto::{eltwise_parameter::EltwiseOp, ExpParameter};

use super::activation::{power, Power};
use super::clip::eltwise;
use crate::cx::{Blob, Cx};
use crate::error::OpResult;
use crate::node::Node;
use crate::registry::Mapped;

const P: f32 = 0.327_591_1;
/// a1 to a5.
const A: [f32; 5] = [0.254_829_6, -0.284_496_74, 1.421_413_8, -1.453_152, 1.061_405_4];
/// Keeps `x / |x|` finite at 0 (where the result is 0 either way).
const TINY: f32 = 1e-30;

/// The layers' arithmetic, in f32 and in their order.
fn approximation(x: f32) -> f32 {
    let a = x.abs();
    let t = (1.0 + P * a).powf(-1.0);
    let mut h = A[4] * t + A[3];
    for &c in A[..3].iter().rev() {
        h = h * t + c;
    }
    let poly = h * t;
    let e = (-(x.powf(2.0))).exp();
    let r = 1.0 - poly * e;
    let sign = x * (TINY + a).powf(-1.0);
    r * sign
}

/// The largest absolute error of [`approximation`] on the grid (measured
/// once per process).
fn measured_error() -> f64 {
    static ERROR: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *ERROR.get_or_init(|| {
        (-(10 << 12)..=(10 << 12))
            .map(|i| {
                let x = i as f32 / 4096.0;
                (f64::from(approximation(x)) - libm::erf(f64::from(x))).abs()
            })
            .fold(0.0, f64::max)
    })
}

pub fn erf(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    node.arity(1, 1, Some(1))?;
    let x = cx.blob(node, 0)?;
    let max_error = measured_error();
    cx.approximate("Erf", max_error)?;
    let shape = x.shape.clone();
    let part = |cx: &mut Cx, name: &str| cx.part(node, name, shape.clone());
    let abs = part(cx, "abs");
    cx.layer(node, "abs", "AbsVal", &[&x], &[&abs], vec![], |_| {});
    let t = part(cx, "t");
    power(
        cx,
        node,
        "t",
        &abs,
        &t,
        Power {
            power: -1.0,
            scale: P,
            shift: 1.0,
        },
    );
    // Horner: ((((a5 t + a4) t + a3) t + a2) t + a1) t.
    let mut h = part(cx, "h4");
    power(cx, node, "h4", &t, &h, Power::affine(A[4], A[3]));
    for (k, &c) in A[..3].iter().enumerate().rev() {
        let times = part(cx, &format!("h{}_t", k + 1));
        eltwise(
            cx,
            node,
            &format!("h{}_t", k + 1),
            EltwiseOp::Prod,
            &[&h, &t],
            vec![],
            &times,
        );
        let next = part(cx, &format!("h{k}"));
        power(cx, node, &format!("h{k}"), &times, &next, Power::affine(1.0, c));
        h = next;
    }
    let poly = part(cx, "poly");
    eltwise(cx, node, "poly", EltwiseOp::Prod, &[&h, &t], vec![], &poly);
    let square = part(cx, "square");
    power(cx, node, "square", &x, &square, Power::pow(2.0));
    let gauss = part(cx, "gauss");
    cx.layer(node, "gauss", "Exp", &[&square], &[&gauss], vec![], |l| {
        l.exp_param = Some(ExpParameter {
            scale: Some(-1.0),
            ..Default::default()
        })
    });
    let tail = part(cx, "tail");
    eltwise(cx, node, "tail", EltwiseOp::Prod, &[&poly, &gauss], vec![], &tail);
    let magnitude = part(cx, "magnitude");
    power(cx, node, "magnitude", &tail, &magnitude, Power::affine(-1.0, 1.0));
    let inverse = part(cx, "inverse_abs");
    power(
        cx,
        node,
        "inverse_abs",
        &abs,
        &inverse,
        Power {
            power: -1.0,
            scale: 1.0,
            shift: TINY,
        },
    );
    let sign = part(cx, "sign");
    eltwise(cx, node, "sign", EltwiseOp::Prod, &[&x, &inverse], vec![], &sign);
    let out: Blob = cx.output_blob(node, 0, shape.clone());
    eltwise(cx, node, "", EltwiseOp::Prod, &[&magnitude, &sign], vec![], &out);
    Mapped::approximate(format!(
        "Abramowitz-Stegun 7.1.26 in AbsVal, Power, Eltwise and Exp layers: max |error| {max_error:.1e} on [-10, 10]"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_approximation_is_within_its_published_bound_plus_rounding() {
        // The published bound holds in exact arithmetic; the f32 layers add
        // a few roundings of values near 1 (f32::EPSILON each).
        let e = measured_error();
        assert!(e < 1.5e-7 + 4.0 * f64::from(f32::EPSILON), "{e}");
        assert_eq!(approximation(0.0), 0.0);
        assert!((approximation(-1.0) + 0.842_700_8).abs() < 1e-6);
    }
}
