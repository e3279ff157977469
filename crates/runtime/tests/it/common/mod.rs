//! Helpers shared by the integration tests: deterministic data, a naive
//! convolution to check runtimes against, and a small Conv + Relu model.
#![allow(dead_code)]

use ndarray::{Array4, ArrayD, IxDyn};
use onnx_export::builder::{Dim, GraphBuilder, ModelOptions};
use onnx_export::{attr, ModelProto, Payloads};

/// Deterministic values in [-1, 1) (a small LCG), so tests need no RNG crate.
pub fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

pub fn array(shape: &[usize], seed: u64) -> ArrayD<f32> {
    let n = shape.iter().product();
    ArrayD::from_shape_vec(IxDyn(shape), values(n, seed)).unwrap()
}

pub struct ConvParams {
    pub stride: usize,
    pub pad: usize,
    pub group: usize,
}

/// Caffe/ONNX convolution, the obvious way: out[n, o, y, x] = b[o] +
/// sum over the group's input channels and the kernel window.
pub fn naive_conv(x: &ArrayD<f32>, w: &ArrayD<f32>, b: &[f32], p: &ConvParams) -> Array4<f32> {
    let (n, c, h, wd) = (x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]);
    let (o, cg, kh, kw) = (w.shape()[0], w.shape()[1], w.shape()[2], w.shape()[3]);
    assert_eq!(cg * p.group, c);
    let oh = (h + 2 * p.pad - kh) / p.stride + 1;
    let ow = (wd + 2 * p.pad - kw) / p.stride + 1;
    let og = o / p.group;
    let mut out = Array4::<f32>::zeros((n, o, oh, ow));
    for ni in 0..n {
        for oi in 0..o {
            let g = oi / og;
            for y in 0..oh {
                for xo in 0..ow {
                    let mut acc = b[oi] as f64;
                    for ci in 0..cg {
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let iy = (y * p.stride + ky) as isize - p.pad as isize;
                                let ix = (xo * p.stride + kx) as isize - p.pad as isize;
                                if iy < 0 || ix < 0 || iy >= h as isize || ix >= wd as isize {
                                    continue;
                                }
                                let xv = x[[ni, g * cg + ci, iy as usize, ix as usize]];
                                acc += (xv * w[[oi, ci, ky, kx]]) as f64;
                            }
                        }
                    }
                    out[[ni, oi, y, xo]] = acc as f32;
                }
            }
        }
    }
    out
}

/// data (N x 4 x 7 x 9) -> Conv(3x3, pad 1, stride 2, group 2) -> "conv" -> Relu -> "relu".
pub fn conv_relu_model(w: &ArrayD<f32>, b: &[f32], batch: Dim) -> ModelProto {
    conv_relu_model_with(w, b, batch, None)
}

/// [`conv_relu_model`] with the weights borrowed into `payloads` when given
/// (the model then holds header-only initializers).
pub fn conv_relu_model_with<'a>(
    w: &'a ArrayD<f32>,
    b: &'a [f32],
    batch: Dim,
    payloads: Option<&mut Payloads<'a>>,
) -> ModelProto {
    let mut g = GraphBuilder::new("conv_relu");
    g.add_input("data", &[batch.clone(), 4.into(), 7.into(), 9.into()])
        .unwrap();
    let b_view = ndarray::ArrayViewD::from_shape(IxDyn(&[b.len()]), b).unwrap();
    let (w, b) = match payloads {
        Some(p) => (
            g.initializer_f32_borrowed(p, "conv/W", w.view()).unwrap(),
            g.initializer_f32_borrowed(p, "conv/b", b_view).unwrap(),
        ),
        None => (
            g.initializer_f32("conv/W", w.view()).unwrap(),
            g.initializer_f32("conv/b", b_view).unwrap(),
        ),
    };
    g.add_node(
        "Conv",
        "conv",
        &["data", &w, &b],
        &["conv"],
        vec![
            attr::ints("kernel_shape", &[3, 3]),
            attr::ints("pads", &[1, 1, 1, 1]),
            attr::ints("strides", &[2, 2]),
            attr::int("group", 2),
        ],
    )
    .unwrap();
    g.add_node("Relu", "relu", &["conv"], &["relu"], vec![]).unwrap();
    g.add_output("relu", Some(&[batch, 6.into(), 4.into(), 5.into()]))
        .unwrap();
    g.into_model(&ModelOptions::default()).unwrap()
}

pub fn weights() -> (ArrayD<f32>, Vec<f32>) {
    (array(&[6, 2, 3, 3], 1), values(6, 2))
}

pub const PARAMS: ConvParams = ConvParams {
    stride: 2,
    pad: 1,
    group: 2,
};
