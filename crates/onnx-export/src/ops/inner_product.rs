//! InnerProduct -> `Gemm` on the input flattened from `axis`:
//! `(prod(shape[..axis]), K) x W^T + b`, reshaped back to
//! `shape[..axis] + [num_output]`. `transpose: true` stores W as
//! `(K, num_output)`, i.e. Gemm without `transB`. Legacy 4-D weight blobs have
//! the same bytes and are declared with their 2-D shape.

use graph_ir::ops::InnerProductParams;

use super::LayerCx;
use crate::attr;
use crate::error::Result;

pub(super) fn inner_product(cx: &mut LayerCx<'_, '_>, p: &InnerProductParams) -> Result<()> {
    let axis = cx.axis(p.axis, 0)?;
    let shape = cx.in_shapes[0].clone();
    cx.require_fixed(
        0,
        0..shape.len(),
        "its weights fix the flattened input size (passes::fc_to_conv makes it a convolution)",
    )?;
    let m: usize = shape[..axis].iter().product();
    let k: usize = shape[axis..].iter().product();
    let n = p.num_output;
    let w_dims = if p.transpose { [k, n] } else { [n, k] };
    let w = cx.param(0, "W", Some(&w_dims))?;
    let b = if p.bias_term {
        Some(cx.param(1, "b", Some(&[n]))?)
    } else {
        None
    };
    let x = cx.inputs[0].clone();
    let flat = if shape == [m, k] {
        x
    } else if axis == 1 {
        cx.tmp("Flatten", "flatten", &[&x], vec![attr::int("axis", 1)])?
    } else {
        cx.reshape(&x, &shape, &[m, k], None)?
    };
    let mut inputs = vec![flat.as_str(), w.as_str()];
    if let Some(b) = &b {
        inputs.push(b);
    }
    let attrs = vec![attr::int("transB", i64::from(!p.transpose))];
    let out_shape = cx.out_shapes[0].clone();
    let out = cx.out(0);
    if out_shape == [m, n] {
        cx.node("Gemm", &inputs, &[&out], attrs)
    } else {
        let y = cx.tmp("Gemm", "gemm", &inputs, attrs)?;
        cx.reshape(&y, &[m, n], &out_shape, Some(&out)).map(|_| ())
    }
}
