//! Version adapters: the attributes that moved to inputs (or changed meaning)
//! between opsets, read into one form. Each function names the opset where
//! the form changed.

use crate::constant::Const;
use crate::error::{OpError, OpResult};
use crate::node::Node;

/// The axes of Squeeze/Unsqueeze/ReduceSum (an input from opset 13) and of
/// the other Reduce ops (an input from opset 18); before, the `axes`
/// attribute. `input` is the constant at input 1, if any. None: not given.
pub fn axes(node: &Node, input_since: i64, input: Option<&Const>) -> Option<Vec<i64>> {
    if node.opset >= input_since {
        input.map(|c| c.ints())
    } else {
        node.ints("axes").map(|a| a.to_vec())
    }
}

/// Slice's starts, ends, axes and steps: attributes before opset 10, inputs
/// 1 to 4 from 10 (`get(i)` gives the constant at input i).
pub struct SliceSpec {
    pub starts: Vec<i64>,
    pub ends: Vec<i64>,
    pub axes: Option<Vec<i64>>,
    pub steps: Option<Vec<i64>>,
}

pub fn slice_spec<'c>(node: &Node, get: impl Fn(usize) -> OpResult<Option<&'c Const>>) -> OpResult<SliceSpec> {
    if node.opset < 10 {
        let starts = node
            .ints("starts")
            .ok_or_else(|| OpError::Invalid("no 'starts'".into()))?;
        let ends = node.ints("ends").ok_or_else(|| OpError::Invalid("no 'ends'".into()))?;
        return Ok(SliceSpec {
            starts: starts.to_vec(),
            ends: ends.to_vec(),
            axes: node.ints("axes").map(|a| a.to_vec()),
            steps: None,
        });
    }
    let req = |i: usize| -> OpResult<Vec<i64>> {
        get(i)?
            .map(|c| c.ints())
            .ok_or_else(|| OpError::Invalid(format!("input {i} is missing")))
    };
    Ok(SliceSpec {
        starts: req(1)?,
        ends: req(2)?,
        axes: get(3)?.map(|c| c.ints()),
        steps: get(4)?.map(|c| c.ints()),
    })
}

/// Resolves one axis of a Slice to `[start, end)` with `step`, clamped as
/// ONNX specifies (negative indices count from the end; ends past the
/// dimension clamp).
pub fn slice_range(start: i64, end: i64, step: i64, dim: usize) -> OpResult<(i64, i64, i64)> {
    if step == 0 {
        return Err(OpError::Invalid("a Slice step of 0".into()));
    }
    let d = dim as i64;
    let norm = |v: i64| if v < 0 { v.saturating_add(d) } else { v };
    let (s, e) = (norm(start), norm(end));
    if step > 0 {
        let s = s.clamp(0, d);
        let e = e.clamp(0, d);
        Ok((s, e.max(s), step))
    } else {
        let s = s.clamp(-1, d - 1);
        let e = e.clamp(-1, d - 1);
        Ok((s, e.min(s), step))
    }
}

/// Split's part sizes: the `split` attribute before opset 13, input 1 from
/// 13, `num_outputs` (or the output count) for equal parts; the last part
/// takes the rest when the dim does not divide (opset 18).
pub fn split_sizes(node: &Node, input: Option<&Const>, dim: usize) -> OpResult<Vec<usize>> {
    let given: Option<Vec<i64>> = if node.opset >= 13 {
        input.map(|c| c.ints())
    } else {
        node.ints("split").map(|s| s.to_vec())
    };
    let parts = node.outputs().len();
    let sizes = match given {
        Some(s) => s
            .iter()
            .map(|&v| usize::try_from(v).map_err(|_| OpError::Invalid(format!("split size {v}"))))
            .collect::<OpResult<Vec<_>>>()?,
        None => {
            let n = if node.opset >= 18 {
                node.int("num_outputs", parts as i64)? as usize
            } else {
                parts
            };
            if n == 0 {
                return Err(OpError::Invalid("no outputs".into()));
            }
            let each = dim.div_ceil(n);
            (0..n).map(|i| each.min(dim.saturating_sub(i * each))).collect()
        }
    };
    if sizes.iter().sum::<usize>() != dim || sizes.len() != parts {
        return Err(OpError::Invalid(format!(
            "split sizes {sizes:?} do not cover dim {dim} with {parts} outputs"
        )));
    }
    Ok(sizes)
}
