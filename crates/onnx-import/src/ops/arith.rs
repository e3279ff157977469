//! Add/Sub/Mul/Div. Two blobs of one shape: Eltwise (SUM with coeff -1 for
//! Sub, PROD); a blob and a scalar: Power (`shift + scale * x`); a blob and
//! a constant that broadcasts along some axes: Scale with that constant as
//! its blob (bias_term with ones for Add/Sub: `x * 1 + b` is `x + b`
//! exactly); Mul by a blob of shape (N, C, 1, 1) (SE blocks): Scale with
//! two bottoms. Any other broadcast between two blobs (SSD's L2 norm of
//! shape (N, 1, H, W), Add where the dialect has no Bias): each operand
//! copied to the broadcast shape by 1x1 Convolutions of ones, then Eltwise.
//! Division is multiplication by the reciprocal (within one rounding of
//! ONNX's quotient; the note says so).

use caffe_io::proto::{eltwise_parameter::EltwiseOp, BiasParameter, ScaleParameter};
use ndarray::{ArrayD, IxDyn};

use super::activation::{power, Power};
use super::clip::eltwise;
use super::linear_map;
use crate::constant::Const;
use crate::cx::{Blob, Cx, Value};
use crate::dialect::Dialect;
use crate::error::OpResult;
use crate::fold::broadcast_shape;
use crate::node::Node;
use crate::refuse;
use crate::registry::Mapped;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
}

/// The axes [i, j) of `x` along which a constant of shape `c` (aligned at
/// the end) varies: None when it does not fit `x` without growing it.
fn varying_range(x: &[usize], c: &[usize]) -> Option<(usize, usize)> {
    if c.len() > x.len() && c[..c.len() - x.len()].iter().any(|&d| d != 1) {
        return None;
    }
    let c = &c[c.len().saturating_sub(x.len())..];
    let lead = x.len() - c.len();
    let mut range: Option<(usize, usize)> = None;
    for (i, &d) in c.iter().enumerate() {
        let axis = lead + i;
        if d != 1 {
            if d != x[axis] {
                return None;
            }
            range = Some(match range {
                None => (axis, axis + 1),
                Some((s, _)) => (s, axis + 1),
            });
        }
    }
    Some(range.unwrap_or((x.len(), x.len())))
}

/// The constant broadcast to `x.shape[i..j]`, as Scale's blob.
fn scale_blob(x: &[usize], c: &Const, (i, j): (usize, usize)) -> ArrayD<f32> {
    let values = c.to_f32();
    // Drop leading dims beyond x's rank (all 1), then broadcast within x's.
    let rank = values.ndim();
    let values = if rank > x.len() {
        let trailing = values.shape()[rank - x.len()..].to_vec();
        values.into_shape_with_order(IxDyn(&trailing)).expect("leading ones")
    } else {
        values
    };
    let mut full_shape = vec![1usize; x.len() - values.ndim()];
    full_shape.extend_from_slice(values.shape());
    let values = values
        .into_shape_with_order(IxDyn(&full_shape))
        .expect("padded with ones");
    let sub: Vec<usize> = full_shape[i..j].to_vec();
    let values = values.into_shape_with_order(IxDyn(&sub)).expect("ones outside [i, j)");
    values
        .broadcast(IxDyn(&x[i..j]))
        .expect("fits by varying_range")
        .to_owned()
}

fn binary(cx: &mut Cx, node: &Node, op: Op) -> OpResult<Mapped> {
    node.arity(2, 2, Some(1))?;
    let a = cx.value(node, 0)?.clone();
    let b = cx.value(node, 1)?.clone();
    match (&a, &b) {
        (Value::Blob(x), Value::Blob(y)) => two_blobs(cx, node, op, x, y),
        (Value::Blob(x), Value::Const(c)) => with_constant(cx, node, op, x, c, false),
        (Value::Const(c), Value::Blob(x)) => with_constant(cx, node, op, x, c, true),
        _ => {
            // Pads and refused inputs: let the accessor say why.
            cx.blob(node, 0)?;
            cx.blob(node, 1)?;
            unreachable!("both inputs were blobs")
        }
    }
}

/// Two blobs of one shape: Eltwise (Div as x * (1 / y)).
fn same_shape(cx: &mut Cx, node: &Node, op: Op, x: &Blob, y: &Blob) -> OpResult<Mapped> {
    let out = cx.output_blob(node, 0, x.shape.clone());
    match op {
        Op::Add => {
            eltwise(cx, node, "", EltwiseOp::Sum, &[x, y], vec![], &out);
            Mapped::exact("Eltwise SUM")
        }
        Op::Sub => {
            eltwise(cx, node, "", EltwiseOp::Sum, &[x, y], vec![1.0, -1.0], &out);
            Mapped::exact("Eltwise SUM with coeff (1, -1)")
        }
        Op::Mul => {
            eltwise(cx, node, "", EltwiseOp::Prod, &[x, y], vec![], &out);
            Mapped::exact("Eltwise PROD")
        }
        Op::Div => {
            let r = cx.part(node, "reciprocal", y.shape.clone());
            power(cx, node, "reciprocal", y, &r, Power::pow(-1.0));
            eltwise(cx, node, "", EltwiseOp::Prod, &[x, &r], vec![], &out);
            Mapped::composed("x * (1 / y): Power (power -1) then Eltwise PROD, within one rounding of x / y")
        }
    }
}

/// `b` broadcast to `shape`: a Reshape to its rank (leading 1s), then, per
/// axis where `b` has 1, a copy along it (a 1x1 Convolution with weights of
/// ones, `linear_map::along`: each output is 1 x the input).
pub(crate) fn expand(cx: &mut Cx, node: &Node, b: &Blob, shape: &[usize], part: &str) -> OpResult<Blob> {
    let mut cur = b.clone();
    if cur.rank() < shape.len() {
        let mut padded = vec![1; shape.len() - cur.rank()];
        padded.extend_from_slice(&cur.shape);
        let r = cx.part(node, &format!("{part}_rank"), padded.clone());
        cx.layer(node, &format!("{part}_rank"), "Reshape", &[&cur], &[&r], vec![], |l| {
            l.reshape_param = Some(super::reshape_param(padded.iter().map(|&d| d as i64)))
        });
        cur = r;
    }
    for (axis, &len) in shape.iter().enumerate() {
        if cur.shape[axis] == 1 && len > 1 {
            let ones = ndarray::Array2::ones((len, 1));
            cur = linear_map::along(cx, node, &cur, axis, ones, &format!("{part}_axis{axis}"), None)?;
        }
    }
    Ok(cur)
}

/// Both operands copied to the broadcast shape, then Eltwise.
fn expanded(cx: &mut Cx, node: &Node, op: Op, x: &Blob, y: &Blob, shape: &[usize]) -> OpResult<Mapped> {
    let x = expand(cx, node, x, shape, "a")?;
    let y = expand(cx, node, y, shape, "b")?;
    let m = same_shape(cx, node, op, &x, &y)?;
    Mapped::composed(format!(
        "the operands copied to the broadcast shape {shape:?} (1x1 Convolutions of ones), then {}",
        m.note
    ))
}

fn two_blobs(cx: &mut Cx, node: &Node, op: Op, x: &Blob, y: &Blob) -> OpResult<Mapped> {
    if x.shape == y.shape {
        return same_shape(cx, node, op, x, y);
    }
    let out_shape = broadcast_shape(&x.shape, &y.shape)?;
    // One operand broadcasts along trailing axes of the other: Scale/Bias
    // with a second bottom, where they apply; else both copied to the
    // broadcast shape.
    let (big, small) = if varying_range(&x.shape, &y.shape).is_some()
        && x.shape.iter().product::<usize>() >= y.shape.iter().product()
    {
        (x, y)
    } else {
        (y, x)
    };
    let Some((i, j)) = varying_range(&big.shape, &small.shape) else {
        return expanded(cx, node, op, x, y, &out_shape);
    };
    let swapped = !std::ptr::eq(big, x);
    let no_bias = (op == Op::Add || op == Op::Sub) && !matches!(cx.dialect(), Dialect::Bvlc | Dialect::Ssd);
    // A blob cannot broadcast inside the range (a Reshape keeps its count).
    let inside: usize = big.shape[i..j].iter().product();
    let fits = small.shape.iter().product::<usize>() == inside;
    if !fits || out_shape != big.shape || (swapped && (op == Op::Div || op == Op::Sub)) || no_bias {
        return expanded(cx, node, op, x, y, &out_shape);
    }
    // The small operand as a blob of shape big[i..j].
    let small_shape = big.shape[i..j].to_vec();
    let reshaped = if small.shape == small_shape {
        small.clone()
    } else {
        let r = cx.part(node, "broadcast", small_shape.clone());
        let dims: Vec<i64> = small_shape.iter().map(|&d| d as i64).collect();
        cx.layer(node, "broadcast", "Reshape", &[small], &[&r], vec![], |l| {
            l.reshape_param = Some(super::reshape_param(dims))
        });
        r
    };
    let out = cx.output_blob(node, 0, big.shape.clone());
    match op {
        Op::Mul => {
            cx.layer(node, "", "Scale", &[big, &reshaped], &[&out], vec![], |l| {
                l.scale_param = Some(ScaleParameter {
                    axis: Some(i as i32),
                    ..Default::default()
                })
            });
            Mapped::composed(format!(
                "Scale with a second bottom of shape {small_shape:?} from axis {i}"
            ))
        }
        Op::Div => {
            let r = cx.part(node, "reciprocal", small_shape.clone());
            power(cx, node, "reciprocal", &reshaped, &r, Power::pow(-1.0));
            cx.layer(node, "", "Scale", &[big, &r], &[&out], vec![], |l| {
                l.scale_param = Some(ScaleParameter {
                    axis: Some(i as i32),
                    ..Default::default()
                })
            });
            Mapped::composed("Power (power -1), then Scale with a second bottom: within one rounding of x / y")
        }
        Op::Add | Op::Sub => {
            let bias = if op == Op::Sub {
                let n = cx.part(node, "negated", small_shape.clone());
                power(cx, node, "negate", &reshaped, &n, Power::affine(-1.0, 0.0));
                n
            } else {
                reshaped
            };
            cx.layer(node, "", "Bias", &[big, &bias], &[&out], vec![], |l| {
                l.bias_param = Some(BiasParameter {
                    axis: Some(i as i32),
                    ..Default::default()
                })
            });
            Mapped::composed(format!(
                "Bias with a second bottom of shape {small_shape:?} from axis {i}"
            ))
        }
    }
}

fn with_constant(cx: &mut Cx, node: &Node, op: Op, x: &Blob, c: &Const, const_first: bool) -> OpResult<Mapped> {
    let out_shape = broadcast_shape(&x.shape, c.shape())?;
    if out_shape != x.shape {
        refuse!(
            "the constant of shape {:?} broadcasts the blob {:?} to {out_shape:?}; Caffe layers keep their input's shape",
            c.shape(),
            x.shape
        );
    }
    let Some(range) = varying_range(&x.shape, c.shape()) else {
        refuse!("the constant {:?} does not broadcast over {:?}", c.shape(), x.shape);
    };
    if range.0 == range.1 {
        let v = c.floats()[0];
        let out = cx.output_blob(node, 0, x.shape.clone());
        let (p, scale, shift, note) = match (op, const_first) {
            (Op::Add, _) => (1.0, 1.0, v, format!("Power (shift {v})")),
            (Op::Sub, false) => (1.0, 1.0, -v, format!("Power (shift {})", -v)),
            (Op::Sub, true) => (1.0, -1.0, v, format!("Power (scale -1, shift {v})")),
            (Op::Mul, _) => (1.0, v, 0.0, format!("Power (scale {v})")),
            (Op::Div, false) => (
                1.0,
                1.0 / v,
                0.0,
                if (1.0 / v).recip() == v && (1.0 / v).log2().fract() == 0.0 {
                    format!("Power (scale 1/{v}), exact: a power of two")
                } else {
                    format!("Power (scale 1/{v}), within one rounding of x / {v}")
                },
            ),
            (Op::Div, true) => {
                let r = cx.part(node, "reciprocal", x.shape.clone());
                power(cx, node, "reciprocal", x, &r, Power::pow(-1.0));
                power(cx, node, "", &r, &out, Power::affine(v, 0.0));
                return Mapped::composed(format!("{v} / x as Power (power -1) then Power (scale {v})"));
            }
        };
        power(cx, node, "", x, &out, Power { power: p, scale, shift });
        return Mapped::exact(note);
    }
    let (i, j) = range;
    let values = scale_blob(&x.shape, c, range);
    let ones = ArrayD::from_elem(values.raw_dim(), 1.0f32);
    let (scale, bias, note) = match (op, const_first) {
        (Op::Mul, _) => (values, None, "Scale by the constant"),
        (Op::Add, _) => (ones, Some(values), "Scale by ones with the constant as bias"),
        (Op::Sub, false) => (
            ones,
            Some(values.mapv(|v| -v)),
            "Scale by ones with the negated constant as bias",
        ),
        (Op::Sub, true) => (ones.mapv(|v| -v), Some(values), "Scale by -1 with the constant as bias"),
        (Op::Div, false) => (
            values.mapv(|v| 1.0 / v),
            None,
            "Scale by the reciprocals (within one rounding of the quotient)",
        ),
        (Op::Div, true) => refuse!("a constant divided by a blob with a broadcast constant has no Caffe layer"),
    };
    let out = cx.output_blob(node, 0, x.shape.clone());
    let bias_term = bias.is_some();
    let mut params = vec![scale];
    params.extend(bias);
    cx.layer(node, "", "Scale", &[x], &[&out], params, |l| {
        l.scale_param = Some(ScaleParameter {
            axis: Some(i as i32),
            num_axes: Some((j - i) as i32),
            bias_term: Some(bias_term),
            ..Default::default()
        })
    });
    Mapped::exact(format!("{note}, shape {:?} from axis {i}", &x.shape[i..j]))
}

pub fn add(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    binary(cx, node, Op::Add)
}

pub fn sub(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    binary(cx, node, Op::Sub)
}

pub fn mul(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    binary(cx, node, Op::Mul)
}

pub fn div(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    binary(cx, node, Op::Div)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_of_broadcast_constants() {
        assert_eq!(varying_range(&[1, 3, 4, 5], &[3, 1, 1]), Some((1, 2)));
        assert_eq!(varying_range(&[1, 3, 4, 5], &[1, 3, 1, 1]), Some((1, 2)));
        assert_eq!(varying_range(&[1, 3, 4, 5], &[4, 5]), Some((2, 4)));
        assert_eq!(varying_range(&[1, 3, 4, 5], &[3, 1, 5]), Some((1, 4)));
        assert_eq!(varying_range(&[1, 3, 4, 5], &[1]), Some((4, 4)));
        assert_eq!(varying_range(&[1, 3, 4, 5], &[2, 1, 1]), None);
    }
}
