//! Eltwise: SUM -> `Sum` (each input first scaled by its `coeff` when not 1,
//! as Caffe's axpy accumulation), PROD -> a chain of `Mul` in bottom order,
//! MAX -> `Max`.

use graph_ir::ops::{EltwiseOp, EltwiseParams};

use super::LayerCx;
use crate::error::Result;

pub(super) fn eltwise(cx: &mut LayerCx<'_, '_>, p: &EltwiseParams) -> Result<()> {
    let inputs = cx.inputs.clone();
    let out = cx.out(0);
    for i in 1..inputs.len() {
        cx.require_same_free(i, 0..cx.in_shapes[0].len(), 0)?;
    }
    if inputs.len() == 1 {
        return match p.operation {
            EltwiseOp::Sum if p.coeffs.first().is_some_and(|&c| c != 1.0) => {
                let c = cx.scalar("coeff0", p.coeffs[0])?;
                cx.node("Mul", &[&inputs[0], &c], &[&out], vec![])
            }
            _ => cx.identity(&inputs[0], &out),
        };
    }
    match p.operation {
        EltwiseOp::Sum => {
            let mut terms = Vec::with_capacity(inputs.len());
            for (i, x) in inputs.iter().enumerate() {
                let c = p.coeffs.get(i).copied().unwrap_or(1.0);
                if c == 1.0 {
                    terms.push(x.clone());
                } else {
                    let c = cx.scalar(&format!("coeff{i}"), c)?;
                    terms.push(cx.tmp("Mul", &format!("term{i}"), &[x, &c], vec![])?);
                }
            }
            let refs: Vec<&str> = terms.iter().map(String::as_str).collect();
            cx.node("Sum", &refs, &[&out], vec![])
        }
        EltwiseOp::Prod => {
            let mut acc = inputs[0].clone();
            for (i, x) in inputs.iter().enumerate().skip(1) {
                if i + 1 == inputs.len() {
                    cx.node("Mul", &[&acc, x], &[&out], vec![])?;
                } else {
                    acc = cx.tmp("Mul", &format!("prod{i}"), &[&acc, x], vec![])?;
                }
            }
            Ok(())
        }
        EltwiseOp::Max => {
            let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
            cx.node("Max", &refs, &[&out], vec![])
        }
    }
}
