//! Convolution -> `Conv`, Deconvolution -> `ConvTranspose`. Caffe's weight
//! layouts are ONNX's: `(out, in / group, k...)` for convolution and
//! `(in, out / group, k...)` for deconvolution, whose output size
//! `(in - 1) * s + d * (k - 1) + 1 - 2p` is ConvTranspose's without
//! `output_padding`. A layer with several bottom/top pairs applies the same
//! weights to each pair.

use graph_ir::ops::{ConvParams, Convolution, Deconvolution};

use super::{i64s, pads, LayerCx};
use crate::attr;
use crate::error::Result;

pub(super) fn convolution(cx: &mut LayerCx<'_, '_>, op: &Convolution) -> Result<()> {
    conv(cx, &op.0, false)
}

pub(super) fn deconvolution(cx: &mut LayerCx<'_, '_>, op: &Deconvolution) -> Result<()> {
    conv(cx, &op.0, true)
}

fn conv(cx: &mut LayerCx<'_, '_>, p: &ConvParams, transpose: bool) -> Result<()> {
    if cx.axis(p.axis, 0)? != 1 {
        return Err(cx.unsupported("only the channel axis 1 is supported"));
    }
    let w = cx.param(0, "W", None)?;
    let b = if p.bias_term {
        Some(cx.param(1, "b", Some(&[p.num_output]))?)
    } else {
        None
    };
    let op = if transpose { "ConvTranspose" } else { "Conv" };
    for i in 0..cx.inputs.len() {
        let x = cx.inputs[i].clone();
        let mut inputs = vec![x.as_str(), w.as_str()];
        if let Some(b) = &b {
            inputs.push(b);
        }
        let attrs = vec![
            attr::ints("kernel_shape", &i64s(&p.kernel)),
            attr::ints("strides", &i64s(&p.stride)),
            pads(&p.pad, &p.pad),
            attr::ints("dilations", &i64s(&p.dilation)),
            attr::int("group", p.group as i64),
        ];
        let out = cx.out(i);
        cx.node(op, &inputs, &[&out], attrs)?;
    }
    Ok(())
}
