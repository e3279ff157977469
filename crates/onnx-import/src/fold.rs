//! Constant folding: nodes whose inputs are all known at import (constants,
//! or the static shape of a blob for `Shape`/`Size`) are computed here, so
//! that the shape arithmetic PyTorch exports (Shape -> Gather -> Concat ->
//! Reshape) needs no onnxsim. Folding follows the ONNX spec of each op; an
//! op not listed here is mapped to Caffe layers instead.

use ndarray::{ArrayD, Axis, IxDyn, Zip};

use crate::adapt;
use crate::constant::Const;
use crate::cx::Value;
use crate::error::{OpError, OpResult};
use crate::node::{normalize_axis, Node};

/// The ops folding knows.
const FOLDABLE: &[&str] = &[
    "Constant",
    "Shape",
    "Size",
    "Gather",
    "Concat",
    "Unsqueeze",
    "Squeeze",
    "Reshape",
    "Flatten",
    "Cast",
    "Slice",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Neg",
    "Sqrt",
    "Reciprocal",
    "Exp",
    "Log",
    "Abs",
    "Pow",
    "Floor",
    "Ceil",
    "Min",
    "Max",
    "Equal",
    "Where",
    "ConstantOfShape",
    "Range",
    "Identity",
    "Transpose",
    "Expand",
    "ReduceProd",
];

/// Folds `node` if it can: None when it is not foldable (an op folding does
/// not know, or an input computed at run time).
pub(crate) fn try_fold(node: &Node, inputs: &[Option<&Value>]) -> Option<OpResult<Vec<Const>>> {
    let op = node.op_type();
    if !FOLDABLE.contains(&op) {
        return None;
    }
    // Shape and Size need only the shape of a blob.
    if op == "Shape" || op == "Size" {
        let shape: Vec<usize> = match inputs.first()? {
            Some(Value::Blob(b)) => b.shape.clone(),
            Some(Value::Const(c)) => c.shape().to_vec(),
            Some(Value::Padded { source, pads, .. }) => {
                source.shape.iter().zip(pads).map(|(d, (a, b))| d + a + b).collect()
            }
            _ => return None,
        };
        return Some(fold_shape(node, &shape));
    }
    let mut consts: Vec<Option<&Const>> = Vec::with_capacity(inputs.len());
    for v in inputs {
        match v {
            None => consts.push(None),
            Some(Value::Const(c)) => consts.push(Some(c)),
            Some(_) => return None,
        }
    }
    Some(fold(node, &consts))
}

fn fold_shape(node: &Node, shape: &[usize]) -> OpResult<Vec<Const>> {
    if node.op_type() == "Size" {
        let n: usize = shape.iter().product();
        return Ok(vec![Const::I64(ArrayD::from_elem(IxDyn(&[]), n as i64))]);
    }
    let r = shape.len() as i64;
    let clamp = |v: i64| (if v < 0 { v + r } else { v }).clamp(0, r) as usize;
    let start = clamp(node.int("start", 0)?);
    let end = node.attr("end").map(|a| clamp(a.i())).unwrap_or(shape.len());
    let dims: Vec<i64> = shape[start..end.max(start)].iter().map(|&d| d as i64).collect();
    Ok(vec![vector(dims)])
}

fn vector(values: Vec<i64>) -> Const {
    let n = values.len();
    Const::I64(ArrayD::from_shape_vec(IxDyn(&[n]), values).expect("1-D"))
}

fn req<'c>(consts: &[Option<&'c Const>], i: usize) -> OpResult<&'c Const> {
    consts
        .get(i)
        .copied()
        .flatten()
        .ok_or_else(|| OpError::Invalid(format!("input {i} is missing")))
}

/// The most elements a folded tensor may have (the default of Caffe
/// reading's `--max-blob-elements`): a shape read from the file is checked
/// before anything is allocated.
const MAX_FOLDED_ELEMENTS: usize = 1 << 30;

fn check_count(shape: &[usize]) -> OpResult<()> {
    match shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d)) {
        Some(n) if n <= MAX_FOLDED_ELEMENTS => Ok(()),
        _ => Err(OpError::Invalid(format!(
            "a constant of shape {shape:?} would have more than {MAX_FOLDED_ELEMENTS} elements"
        ))),
    }
}

fn to_usize_shape(values: &[i64]) -> OpResult<Vec<usize>> {
    values
        .iter()
        .map(|&v| usize::try_from(v).map_err(|_| OpError::Invalid(format!("negative dimension {v}"))))
        .collect()
}

fn fold(node: &Node, c: &[Option<&Const>]) -> OpResult<Vec<Const>> {
    let one = |v: Const| Ok(vec![v]);
    match node.op_type() {
        "Constant" => {
            if let Some(t) = node.attr("value").and_then(|a| a.t.as_ref()) {
                return one(crate::constant::from_tensor(t).map_err(OpError::Invalid)?);
            }
            if let Some(a) = node.attr("value_float") {
                return one(Const::F32(ArrayD::from_elem(IxDyn(&[]), a.f())));
            }
            if let Some(a) = node.attr("value_floats") {
                return one(Const::F32(
                    ArrayD::from_shape_vec(IxDyn(&[a.floats.len()]), a.floats.clone()).unwrap(),
                ));
            }
            if let Some(a) = node.attr("value_int") {
                return one(Const::I64(ArrayD::from_elem(IxDyn(&[]), a.i())));
            }
            if let Some(a) = node.attr("value_ints") {
                return one(vector(a.ints.clone()));
            }
            Err(OpError::Invalid(
                "a Constant without a value this importer reads".into(),
            ))
        }
        "Identity" => one(req(c, 0)?.clone()),
        "Cast" => {
            let to = node.int("to", 1)?;
            let x = req(c, 0)?;
            // 1 FLOAT, 10 FLOAT16, 11 DOUBLE, 16 BFLOAT16: floats; 9 BOOL.
            one(match to {
                1 | 10 | 11 | 16 => Const::F32(x.to_f32()),
                9 => Const::I64(x.to_f32().mapv(|v| (v != 0.0) as i64)),
                _ => Const::I64(x.to_i64()),
            })
        }
        "Gather" => {
            let data = req(c, 0)?;
            let indices = req(c, 1)?.to_i64();
            let axis = normalize_axis(node.int("axis", 0)?, data.shape().len())?;
            let dim = data.shape()[axis] as i64;
            let idx: Vec<usize> = indices
                .iter()
                .map(|&i| {
                    let j = if i < 0 { i + dim } else { i };
                    usize::try_from(j)
                        .ok()
                        .filter(|&j| (j as i64) < dim)
                        .ok_or_else(|| OpError::Invalid(format!("Gather index {i} out of range for dim {dim}")))
                })
                .collect::<OpResult<_>>()?;
            let mut shape: Vec<usize> = data.shape()[..axis].to_vec();
            shape.extend_from_slice(indices.shape());
            shape.extend_from_slice(&data.shape()[axis + 1..]);
            let bad = |e: ndarray::ShapeError| OpError::Invalid(e.to_string());
            one(match data {
                Const::F32(a) => Const::F32(
                    a.select(Axis(axis), &idx)
                        .into_shape_with_order(IxDyn(&shape))
                        .map_err(bad)?,
                ),
                Const::I64(a) => Const::I64(
                    a.select(Axis(axis), &idx)
                        .into_shape_with_order(IxDyn(&shape))
                        .map_err(bad)?,
                ),
            })
        }
        "Concat" => {
            let parts: Vec<&Const> = c.iter().flatten().copied().collect();
            let first = parts.first().ok_or_else(|| OpError::Invalid("no inputs".into()))?;
            let axis = normalize_axis(node.int("axis", 0)?, first.shape().len())?;
            let result = if parts.iter().all(|p| !p.is_float()) {
                let views: Vec<_> = parts.iter().map(|p| p.to_i64()).collect();
                let v: Vec<_> = views.iter().map(|a| a.view()).collect();
                Const::I64(ndarray::concatenate(Axis(axis), &v).map_err(|e| OpError::Invalid(e.to_string()))?)
            } else {
                let views: Vec<_> = parts.iter().map(|p| p.to_f32()).collect();
                let v: Vec<_> = views.iter().map(|a| a.view()).collect();
                Const::F32(ndarray::concatenate(Axis(axis), &v).map_err(|e| OpError::Invalid(e.to_string()))?)
            };
            one(result)
        }
        "Unsqueeze" | "Squeeze" => {
            let x = req(c, 0)?;
            let axes = adapt::axes(node, 13, c.get(1).copied().flatten());
            let shape = if node.op_type() == "Unsqueeze" {
                unsqueeze_shape(x.shape(), &axes.ok_or_else(|| OpError::Invalid("no axes".into()))?)?
            } else {
                squeeze_shape(x.shape(), axes.as_deref())?
            };
            one(reshaped(x, &shape)?)
        }
        "Reshape" => {
            let x = req(c, 0)?;
            let spec = req(c, 1)?.ints();
            let shape = reshape_shape(x.shape(), &spec, node.int("allowzero", 0)? != 0)?;
            one(reshaped(x, &shape)?)
        }
        "Flatten" => {
            let x = req(c, 0)?;
            let r = x.shape().len();
            let axis = node.int("axis", 1)?;
            let axis = if axis < 0 { axis + r as i64 } else { axis } as usize;
            let outer: usize = x.shape()[..axis.min(r)].iter().product();
            one(reshaped(x, &[outer, x.len() / outer.max(1)])?)
        }
        "Slice" => {
            let x = req(c, 0)?;
            let spec = adapt::slice_spec(node, |i| Ok(c.get(i).copied().flatten()))?;
            let rank = x.shape().len();
            let axes: Vec<i64> = spec
                .axes
                .clone()
                .unwrap_or_else(|| (0..spec.starts.len() as i64).collect());
            let mut info: Vec<ndarray::SliceInfoElem> = (0..rank).map(|_| ndarray::SliceInfoElem::from(..)).collect();
            for (k, &a) in axes.iter().enumerate() {
                let axis = normalize_axis(a, rank)?;
                let step = spec.steps.as_ref().map_or(1, |s| s[k]);
                let (s, e, st) = adapt::slice_range(spec.starts[k], spec.ends[k], step, x.shape()[axis])?;
                info[axis] = if st > 0 {
                    ndarray::SliceInfoElem::Slice {
                        start: s as isize,
                        end: Some(e as isize),
                        step: st as isize,
                    }
                } else {
                    // ndarray slices backwards from the end of [e+1, s+1).
                    ndarray::SliceInfoElem::Slice {
                        start: (e + 1) as isize,
                        end: Some((s + 1) as isize),
                        step: st as isize,
                    }
                };
            }
            let info = info.as_slice();
            one(match x {
                Const::F32(a) => Const::F32(a.slice(info).to_owned()),
                Const::I64(a) => Const::I64(a.slice(info).to_owned()),
            })
        }
        "Add" | "Sub" | "Mul" | "Div" | "Min" | "Max" | "Equal" => {
            let op = node.op_type();
            let parts: Vec<&Const> = c.iter().flatten().copied().collect();
            let mut acc = (*parts.first().ok_or_else(|| OpError::Invalid("no inputs".into()))?).clone();
            for b in &parts[1..] {
                acc = binary(op, &acc, b)?;
            }
            one(acc)
        }
        "Where" => {
            let cond = req(c, 0)?.to_f32();
            let (x, y) = (req(c, 1)?, req(c, 2)?);
            let shape = broadcast_shape(&broadcast_shape(cond.shape(), x.shape())?, y.shape())?;
            check_count(&shape)?;
            let cond = cond.broadcast(IxDyn(&shape)).expect("broadcast").to_owned();
            if x.is_float() || y.is_float() {
                let (x, y) = (x.to_f32(), y.to_f32());
                let mut out = x.broadcast(IxDyn(&shape)).expect("broadcast").to_owned();
                Zip::from(&mut out).and(&cond).and_broadcast(&y).for_each(|o, &k, &v| {
                    if k == 0.0 {
                        *o = v;
                    }
                });
                one(Const::F32(out))
            } else {
                let (x, y) = (x.to_i64(), y.to_i64());
                let mut out = x.broadcast(IxDyn(&shape)).expect("broadcast").to_owned();
                Zip::from(&mut out).and(&cond).and_broadcast(&y).for_each(|o, &k, &v| {
                    if k == 0.0 {
                        *o = v;
                    }
                });
                one(Const::I64(out))
            }
        }
        "Neg" => one(match req(c, 0)? {
            Const::F32(a) => Const::F32(a.mapv(|v| -v)),
            Const::I64(a) => Const::I64(a.mapv(|v| -v)),
        }),
        "Abs" => one(match req(c, 0)? {
            Const::F32(a) => Const::F32(a.mapv(f32::abs)),
            Const::I64(a) => Const::I64(a.mapv(i64::wrapping_abs)),
        }),
        // Float powers only (the shape arithmetic folding serves is integer
        // Add/Mul/Div; an integer Pow is left to the mapping, which refuses).
        "Pow" => {
            let (x, y) = (req(c, 0)?, req(c, 1)?);
            if !x.is_float() {
                return Err(OpError::Refuse("an integer Pow of constants is not folded".into()));
            }
            one(binary("Pow", x, y)?)
        }
        "Sqrt" | "Reciprocal" | "Exp" | "Log" | "Floor" | "Ceil" => {
            let f: fn(f32) -> f32 = match node.op_type() {
                "Sqrt" => f32::sqrt,
                "Reciprocal" => f32::recip,
                "Exp" => f32::exp,
                "Log" => f32::ln,
                "Floor" => f32::floor,
                _ => f32::ceil,
            };
            one(Const::F32(req(c, 0)?.to_f32().mapv(f)))
        }
        "ConstantOfShape" => {
            let shape = to_usize_shape(&req(c, 0)?.ints())?;
            check_count(&shape)?;
            let value = match node.attr("value").and_then(|a| a.t.as_ref()) {
                Some(t) => crate::constant::from_tensor(t).map_err(OpError::Invalid)?,
                None => Const::F32(ArrayD::zeros(IxDyn(&[1]))),
            };
            one(match value {
                Const::F32(v) => Const::F32(ArrayD::from_elem(
                    IxDyn(&shape),
                    v.iter().next().copied().unwrap_or(0.0),
                )),
                Const::I64(v) => Const::I64(ArrayD::from_elem(IxDyn(&shape), v.iter().next().copied().unwrap_or(0))),
            })
        }
        "Range" => {
            let (s, l, d) = (req(c, 0)?, req(c, 1)?, req(c, 2)?);
            if s.is_float() || l.is_float() || d.is_float() {
                let (s, l, d) = (s.floats()[0], l.floats()[0], d.floats()[0]);
                let n = (((l - s) / d).ceil()).max(0.0) as usize;
                check_count(&[n])?;
                one(Const::F32(ArrayD::from_shape_fn(IxDyn(&[n]), |i| s + i[0] as f32 * d)))
            } else {
                let (s, l, d) = (s.ints()[0], l.ints()[0], d.ints()[0]);
                if d == 0 {
                    return Err(OpError::Invalid("a Range delta of 0".into()));
                }
                let n = ((l - s) as f64 / d as f64).ceil().max(0.0) as usize;
                check_count(&[n])?;
                one(vector((0..n as i64).map(|i| s + i * d).collect()))
            }
        }
        "Transpose" => {
            let x = req(c, 0)?;
            let rank = x.shape().len();
            let perm: Vec<usize> = match node.ints("perm") {
                Some(p) => p.iter().map(|&a| normalize_axis(a, rank)).collect::<OpResult<_>>()?,
                None => (0..rank).rev().collect(),
            };
            one(match x {
                Const::F32(a) => Const::F32(a.view().permuted_axes(IxDyn(&perm)).as_standard_layout().into_owned()),
                Const::I64(a) => Const::I64(a.view().permuted_axes(IxDyn(&perm)).as_standard_layout().into_owned()),
            })
        }
        "Expand" => {
            let x = req(c, 0)?;
            let target = to_usize_shape(&req(c, 1)?.ints())?;
            let shape = broadcast_shape(x.shape(), &target)?;
            check_count(&shape)?;
            one(match x {
                Const::F32(a) => Const::F32(a.broadcast(IxDyn(&shape)).expect("broadcast").to_owned()),
                Const::I64(a) => Const::I64(a.broadcast(IxDyn(&shape)).expect("broadcast").to_owned()),
            })
        }
        "ReduceProd" => {
            let x = req(c, 0)?;
            let axes = adapt::axes(node, 18, c.get(1).copied().flatten());
            let keep = node.int("keepdims", 1)? != 0;
            let rank = x.shape().len();
            let mut axes: Vec<usize> = match axes {
                Some(a) if !a.is_empty() => a.iter().map(|&a| normalize_axis(a, rank)).collect::<OpResult<_>>()?,
                _ => (0..rank).collect(),
            };
            axes.sort_unstable();
            let mut a = x.to_i64();
            for &ax in axes.iter().rev() {
                a = a.map_axis(Axis(ax), |l| l.iter().product());
                if keep {
                    a.insert_axis_inplace(Axis(ax));
                }
            }
            one(if x.is_float() {
                Const::F32(a.mapv(|v| v as f32))
            } else {
                Const::I64(a)
            })
        }
        other => Err(OpError::Invalid(format!("{other} cannot be folded"))),
    }
}

fn reshaped(x: &Const, shape: &[usize]) -> OpResult<Const> {
    let err = |e: ndarray::ShapeError| OpError::Invalid(format!("cannot reshape {:?} to {shape:?}: {e}", x.shape()));
    Ok(match x {
        Const::F32(a) => Const::F32(a.to_shape(IxDyn(shape)).map_err(err)?.into_owned()),
        Const::I64(a) => Const::I64(a.to_shape(IxDyn(shape)).map_err(err)?.into_owned()),
    })
}

/// Numpy broadcasting of two shapes.
pub(crate) fn broadcast_shape(a: &[usize], b: &[usize]) -> OpResult<Vec<usize>> {
    let n = a.len().max(b.len());
    (0..n)
        .map(|i| {
            let da = if i + a.len() >= n { a[i + a.len() - n] } else { 1 };
            let db = if i + b.len() >= n { b[i + b.len() - n] } else { 1 };
            match (da, db) {
                (x, y) if x == y => Ok(x),
                (1, y) => Ok(y),
                (x, 1) => Ok(x),
                _ => Err(OpError::Invalid(format!("shapes {a:?} and {b:?} do not broadcast"))),
            }
        })
        .collect()
}

fn binary(op: &str, a: &Const, b: &Const) -> OpResult<Const> {
    let shape = broadcast_shape(a.shape(), b.shape())?;
    check_count(&shape)?;
    let dims = IxDyn(&shape);
    if a.is_float() || b.is_float() {
        let (x, y) = (a.to_f32(), b.to_f32());
        let f: fn(f32, f32) -> f32 = match op {
            "Add" => |x, y| x + y,
            "Sub" => |x, y| x - y,
            "Mul" => |x, y| x * y,
            "Div" => |x, y| x / y,
            "Pow" => f32::powf,
            "Min" => f32::min,
            "Max" => f32::max,
            _ => |x, y| (x == y) as i32 as f32,
        };
        let out = Zip::from(&x.broadcast(dims.clone()).expect("broadcast"))
            .and(&y.broadcast(dims).expect("broadcast"))
            .map_collect(|&x, &y| f(x, y));
        Ok(if op == "Equal" {
            Const::I64(out.mapv(|v| v as i64))
        } else {
            Const::F32(out)
        })
    } else {
        let (x, y) = (a.to_i64(), b.to_i64());
        if op == "Div" && y.iter().any(|&v| v == 0) {
            return Err(OpError::Invalid("integer division by zero".into()));
        }
        let f: fn(i64, i64) -> i64 = match op {
            "Add" => i64::wrapping_add,
            "Sub" => i64::wrapping_sub,
            "Mul" => i64::wrapping_mul,
            "Div" => |x, y| x / y,
            "Min" => i64::min,
            "Max" => i64::max,
            _ => |x, y| (x == y) as i64,
        };
        Ok(Const::I64(
            Zip::from(&x.broadcast(dims.clone()).expect("broadcast"))
                .and(&y.broadcast(dims).expect("broadcast"))
                .map_collect(|&x, &y| f(x, y)),
        ))
    }
}

/// ONNX Reshape's target: 0 copies the input's dim (unless `allowzero`),
/// one -1 is inferred.
pub(crate) fn reshape_shape(input: &[usize], spec: &[i64], allowzero: bool) -> OpResult<Vec<usize>> {
    let total: usize = input.iter().product();
    let mut out = Vec::with_capacity(spec.len());
    let mut infer = None;
    for (i, &d) in spec.iter().enumerate() {
        match d {
            -1 if infer.is_none() => {
                infer = Some(i);
                out.push(1);
            }
            0 if !allowzero => out.push(*input.get(i).ok_or_else(|| {
                OpError::Invalid(format!("Reshape dim {i} is 0 but the input has rank {}", input.len()))
            })?),
            d if d >= 0 => out.push(d as usize),
            _ => return Err(OpError::Invalid(format!("invalid Reshape shape {spec:?}"))),
        }
    }
    let known: usize = out.iter().product();
    if let Some(i) = infer {
        if known == 0 || !total.is_multiple_of(known) {
            return Err(OpError::Invalid(format!("cannot reshape {input:?} to {spec:?}")));
        }
        out[i] = total / known;
    } else if known != total {
        return Err(OpError::Invalid(format!(
            "cannot reshape {input:?} ({total} values) to {spec:?}"
        )));
    }
    Ok(out)
}

/// Unsqueeze's output shape (axes of the output, negative counted from its end).
pub(crate) fn unsqueeze_shape(input: &[usize], axes: &[i64]) -> OpResult<Vec<usize>> {
    let rank = input.len() + axes.len();
    let mut axes: Vec<usize> = axes.iter().map(|&a| normalize_axis(a, rank)).collect::<OpResult<_>>()?;
    axes.sort_unstable();
    axes.dedup();
    if axes.len() + input.len() != rank {
        return Err(OpError::Invalid("repeated Unsqueeze axes".into()));
    }
    let mut it = input.iter();
    Ok((0..rank)
        .map(|i| {
            if axes.contains(&i) {
                1
            } else {
                *it.next().expect("counted")
            }
        })
        .collect())
}

/// Squeeze's output shape (no axes: every dim of 1).
pub(crate) fn squeeze_shape(input: &[usize], axes: Option<&[i64]>) -> OpResult<Vec<usize>> {
    match axes {
        None => Ok(input.iter().copied().filter(|&d| d != 1).collect()),
        Some(axes) => {
            let axes: Vec<usize> = axes
                .iter()
                .map(|&a| normalize_axis(a, input.len()))
                .collect::<OpResult<_>>()?;
            for &a in &axes {
                if input[a] != 1 {
                    return Err(OpError::Invalid(format!(
                        "cannot squeeze axis {a} of size {}",
                        input[a]
                    )));
                }
            }
            Ok(input
                .iter()
                .enumerate()
                .filter(|(i, _)| !axes.contains(i))
                .map(|(_, &d)| d)
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reshape_rules() {
        assert_eq!(reshape_shape(&[2, 3, 4], &[0, -1], false).unwrap(), vec![2, 12]);
        assert_eq!(reshape_shape(&[2, 3, 4], &[4, 0, 2], false).unwrap(), vec![4, 3, 2]);
        assert!(reshape_shape(&[2, 3, 4], &[5, -1], false).is_err());
        assert_eq!(unsqueeze_shape(&[3, 4], &[0, -1]).unwrap(), vec![1, 3, 4, 1]);
        assert_eq!(squeeze_shape(&[1, 3, 1, 1], Some(&[2, 3])).unwrap(), vec![1, 3]);
        assert_eq!(broadcast_shape(&[3, 1, 1], &[1, 3, 4, 5]).unwrap(), vec![1, 3, 4, 5]);
    }
}
