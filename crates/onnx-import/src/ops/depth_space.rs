//! SpaceToDepth and DepthToSpace (PixelShuffle) -> a Convolution /
//! Deconvolution with kernel = stride = the block size and one-hot weights:
//! the windows do not overlap, so each output is one input times 1 plus
//! zeros (exact for finite inputs). SpaceToDepth writes channel
//! `(i * b + j) * C + c` from `x[c, h*b + i, w*b + j]`; DepthToSpace reads
//! it back in DCR order, or `c * b*b + i * b + j` in CRD order (PyTorch's
//! pixel_shuffle), which is a grouped Deconvolution, one group per output
//! channel.

use caffe_io::proto::ConvolutionParameter;
use ndarray::ArrayD;

use super::nchw;
use crate::cx::Cx;
use crate::error::OpResult;
use crate::node::Node;
use crate::registry::Mapped;
use crate::{invalid, refuse};

fn block_size(node: &Node) -> OpResult<usize> {
    let b = node.int("blocksize", 0)?;
    if !(1..=4096).contains(&b) {
        invalid!("blocksize {b}");
    }
    Ok(b as usize)
}

fn block_param(out_channels: usize, b: usize, group: usize) -> ConvolutionParameter {
    ConvolutionParameter {
        num_output: Some(out_channels as u32),
        bias_term: Some(false),
        kernel_size: vec![b as u32],
        stride: vec![b as u32],
        group: (group > 1).then_some(group as u32),
        ..Default::default()
    }
}

pub fn space_to_depth(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    node.arity(1, 1, Some(1))?;
    let x = nchw(cx, node, "Convolution")?;
    let b = block_size(node)?;
    let [n, c, h, w] = [x.shape[0], x.shape[1], x.shape[2], x.shape[3]];
    if h % b != 0 || w % b != 0 {
        invalid!("blocksize {b} does not divide {h}x{w}");
    }
    let count = c.checked_mul(c).and_then(|n| n.checked_mul(b.checked_pow(4)?));
    super::linear_map::check_weights(count, &format!("SpaceToDepth of {c} channels by {b}"))?;
    let mut weights = ArrayD::<f32>::zeros(vec![c * b * b, c, b, b]);
    for i in 0..b {
        for j in 0..b {
            for ch in 0..c {
                weights[[(i * b + j) * c + ch, ch, i, j]] = 1.0;
            }
        }
    }
    let out = cx.output_blob(node, 0, vec![n, c * b * b, h / b, w / b]);
    cx.layer(node, "", "Convolution", &[&x], &[&out], vec![weights], |l| {
        l.convolution_param = Some(block_param(c * b * b, b, 1))
    });
    Mapped::composed(format!(
        "a {b}x{b} stride-{b} Convolution with one-hot weights (each output one input)"
    ))
}

pub fn depth_to_space(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    node.arity(1, 1, Some(1))?;
    let x = nchw(cx, node, "Deconvolution")?;
    let b = block_size(node)?;
    let [n, c_in, h, w] = [x.shape[0], x.shape[1], x.shape[2], x.shape[3]];
    if c_in % (b * b) != 0 {
        invalid!("blocksize {b}: {c_in} channels do not divide by {}", b * b);
    }
    let c = c_in / (b * b);
    let mode = node.string("mode", "DCR")?;
    // Caffe's Deconvolution weights are (C_in, C_out / group, kh, kw).
    let (weights, group) = match mode.as_str() {
        "DCR" => {
            let count = c_in.checked_mul(c).and_then(|n| n.checked_mul(b * b));
            super::linear_map::check_weights(count, &format!("DepthToSpace of {c_in} channels by {b}"))?;
            let mut wt = ArrayD::<f32>::zeros(vec![c_in, c, b, b]);
            for i in 0..b {
                for j in 0..b {
                    for ch in 0..c {
                        wt[[(i * b + j) * c + ch, ch, i, j]] = 1.0;
                    }
                }
            }
            (wt, 1)
        }
        "CRD" => {
            super::linear_map::check_weights(
                c_in.checked_mul(b * b),
                &format!("DepthToSpace of {c_in} channels by {b}"),
            )?;
            let mut wt = ArrayD::<f32>::zeros(vec![c_in, 1, b, b]);
            for ch in 0..c {
                for i in 0..b {
                    for j in 0..b {
                        wt[[ch * b * b + i * b + j, 0, i, j]] = 1.0;
                    }
                }
            }
            (wt, c)
        }
        other => refuse!("mode '{other}' (ONNX defines DCR and CRD)"),
    };
    let out = cx.output_blob(node, 0, vec![n, c, h * b, w * b]);
    cx.layer(node, "", "Deconvolution", &[&x], &[&out], vec![weights], |l| {
        l.convolution_param = Some(block_param(c, b, group))
    });
    Mapped::composed(format!(
        "{mode}: a {b}x{b} stride-{b} {}Deconvolution with one-hot weights (each output one input)",
        if group > 1 { "grouped " } else { "" }
    ))
}
