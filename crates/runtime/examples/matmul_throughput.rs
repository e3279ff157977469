//! Raw throughput of tract-linalg's f32 matrix-product kernels on the shapes of the
//! full-conv CaffeNet at 451x451, outside any model: operands packed once, then the
//! kernel timed alone (best of 15). With weights "warm" the same packed weights are
//! reused and stay in cache; "cold" cycles through 15 copies, as a forward pass that
//! reads each layer's weights once does.
//!
//! It separates what the kernels can do on this CPU from what a model gets out of
//! them (`--example profile` times the same products inside the CaffeNet graph):
//! the gap between the two is tract's convolution path (im2col gathers, packing),
//! not the kernels or our graph.
//!
//!     cargo run --release -p netsurgeon-runtime --example matmul_throughput [M N K ...]

use std::time::Instant;

use tract_linalg::mmm::{AsInputValue, FusedSpec, Query};
use tract_onnx::prelude::tract_ndarray::Array2;
use tract_onnx::prelude::*;

/// (M, N, K): output channels, output positions, reduction of the full-conv
/// CaffeNet's products at 451x451 (conv1, conv2 per group, conv4 per group,
/// a 10-way split part of fc6-conv, fc7-conv whole).
const CAFFENET_451: &[(usize, usize, usize)] = &[
    (96, 12321, 363),
    (128, 3025, 1200),
    (192, 729, 1728),
    (4096, 64, 936),
    (4096, 64, 4096),
];

const KERNELS: &[&str] = &["avx512_mmm_f32_16x12", "avx512_mmm_f32_16x8", "avx512_mmm_f32_32x6"];

fn gflops(m: usize, n: usize, k: usize, kernel: &str, copies: usize) -> TractResult<Option<f64>> {
    let query = Query::plain(DatumType::F32, Some(m), Some(k), Some(n));
    let dispatch = tract_linalg::MmmDispatch::native();
    let suitable = dispatch.suitable(&query);
    let Some(ix) = tract_linalg::mmm::suitable_named(&suitable, kernel) else {
        return Ok(None); // not a kernel this CPU runs
    };
    let mmm = &suitable[ix].0;
    let (pack_a, pack_b) = &mmm.packings()[0];
    let a = Array2::<f32>::from_elem((m, k), 0.01).into_tensor();
    let b = Array2::<f32>::from_elem((k, n), 0.02).into_tensor();
    let packed_a: Vec<_> = (0..copies)
        .map(|_| pack_a.prepare_one(&a, 1, 0))
        .collect::<TractResult<_>>()?;
    let packed_b = pack_b.prepare_one(&b, 0, 1)?;
    let mut c = Tensor::zero::<f32>(&[m, n])?;
    let mut best = f64::MAX;
    for run in 0..15 {
        let t = Instant::now();
        // SAFETY: `c` is an m x n f32 tensor, row-major, which is what the store
        // spec (m axis 0, n axis 1) describes; the packed operands come from this
        // kernel's own packers at the same m, k, n.
        unsafe {
            let view = c.view_mut();
            let store = mmm.c_view(Some(0), Some(1)).wrap(&view);
            let ops = tvec!(
                FusedSpec::AddMatMul {
                    a: AsInputValue::Borrowed(&*packed_a[run % copies]),
                    b: AsInputValue::Borrowed(&*packed_b),
                    packing: 0,
                },
                FusedSpec::Store(store)
            );
            mmm.run(m, n, &ops)?;
        }
        best = best.min(t.elapsed().as_secs_f64());
    }
    Ok(Some(2.0 * (m * n * k) as f64 / best / 1e9))
}

fn main() -> TractResult<()> {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse()).collect::<Result<_, _>>()?;
    let shapes: Vec<(usize, usize, usize)> = if args.is_empty() {
        CAFFENET_451.to_vec()
    } else {
        args.chunks_exact(3).map(|s| (s[0], s[1], s[2])).collect()
    };
    println!(
        "{:<22} {:>6} {:>6} {:>6} {:>12} {:>12}",
        "kernel", "M", "N", "K", "warm GF/s", "cold GF/s"
    );
    for &(m, n, k) in &shapes {
        for kernel in KERNELS {
            let (Some(warm), Some(cold)) = (gflops(m, n, k, kernel, 1)?, gflops(m, n, k, kernel, 15)?) else {
                continue;
            };
            println!("{kernel:<22} {m:>6} {n:>6} {k:>6} {warm:>12.1} {cold:>12.1}");
        }
    }
    Ok(())
}
