//! Conv -> Convolution and ConvTranspose -> Deconvolution (same weight
//! layouts: (M, C/g, kh, kw) and (C, M/g, kh, kw)). Caffe pads both sides
//! alike: asymmetric pads (and `auto_pad`, a zero Pad before) become the
//! symmetric pad that keeps the windows in place, then a crop (Slice) of
//! the extra rows/columns, which is exact. ConvTranspose's output_padding
//! and asymmetric pads are crops of Caffe's full output the same way.

use caffe_io::proto::ConvolutionParameter;
use ndarray::ArrayD;

use super::{crop_to_output, ints_or, main_top, nchw, positive, spatial_pads};
use crate::cx::{Cx, Value};
use crate::error::{OpError, OpResult};
use crate::node::Node;
use crate::registry::Mapped;
use crate::{invalid, refuse};

struct ConvAttrs {
    kernel: Vec<usize>,
    strides: Vec<usize>,
    dilations: Vec<usize>,
    group: usize,
}

fn attrs(node: &Node, weight_shape: &[usize]) -> OpResult<ConvAttrs> {
    let kernel = match node.ints("kernel_shape") {
        Some(k) => positive(k, "kernel size")?,
        None => weight_shape[2..].to_vec(),
    };
    if kernel.as_slice() != &weight_shape[2..] {
        invalid!(
            "kernel_shape {kernel:?} differs from the weight's {:?}",
            &weight_shape[2..]
        );
    }
    Ok(ConvAttrs {
        strides: positive(&ints_or(node, "strides", 2, 1)?, "stride")?,
        dilations: positive(&ints_or(node, "dilations", 2, 1)?, "dilation")?,
        group: usize::try_from(node.int("group", 1)?)
            .ok()
            .filter(|&g| g > 0)
            .ok_or_else(|| OpError::Invalid("group must be positive".into()))?,
        kernel,
    })
}

fn conv_param(num_output: usize, a: &ConvAttrs, pads: [usize; 2], bias: bool) -> ConvolutionParameter {
    ConvolutionParameter {
        num_output: Some(num_output as u32),
        bias_term: Some(bias),
        kernel_h: Some(a.kernel[0] as u32),
        kernel_w: Some(a.kernel[1] as u32),
        stride_h: Some(a.strides[0] as u32),
        stride_w: Some(a.strides[1] as u32),
        pad_h: Some(pads[0] as u32),
        pad_w: Some(pads[1] as u32),
        dilation: if a.dilations.iter().all(|&d| d == 1) {
            vec![]
        } else if a.dilations[0] == a.dilations[1] {
            vec![a.dilations[0] as u32]
        } else {
            vec![a.dilations[0] as u32, a.dilations[1] as u32]
        },
        group: (a.group != 1).then_some(a.group as u32),
        ..Default::default()
    }
}

/// The weight (and bias) as constants with their shapes checked.
fn weights(cx: &mut Cx, node: &Node, rank: usize) -> OpResult<(ArrayD<f32>, Option<ArrayD<f32>>)> {
    let w = cx.required_constant(node, 1)?;
    if !w.is_float() || w.shape().len() != rank {
        invalid!("the weight must be a float tensor of rank {rank}, not {:?}", w.shape());
    }
    let w = cx.take_constant(node, 1)?.expect("checked above").into_f32();
    let b = cx.take_constant(node, 2)?.map(crate::Const::into_f32);
    Ok((w, b))
}

/// Conv: Convolution, cropped where the pads are asymmetric.
pub fn conv(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    node.arity(2, 3, Some(1))?;
    if super::lift::is_1d(cx, node) {
        return super::lift::as_2d(cx, node, conv);
    }
    let (source, extra) = match cx.value(node, 0)? {
        Value::Padded { source, pads, .. } => (source.clone(), Some(pads.clone())),
        _ => (nchw(cx, node, "Convolution")?, None),
    };
    if source.rank() != 4 {
        refuse!(
            "a {}-D Conv: the importer maps 2-D convolutions (NCHW)",
            source.rank().saturating_sub(2)
        );
    }
    let (w, b) = weights(cx, node, 4)?;
    let a = attrs(node, w.shape())?;
    let (m, cg) = (w.shape()[0], w.shape()[1]);
    if source.shape[1] != cg * a.group || m % a.group != 0 {
        invalid!(
            "the weight {:?} with group {} does not fit the input's {} channels",
            w.shape(),
            a.group,
            source.shape[1]
        );
    }
    let mut pads = spatial_pads(node, &source.shape[2..], &a.kernel, &a.strides, &a.dilations)?;
    if let Some(extra) = &extra {
        for (i, p) in pads.iter_mut().enumerate() {
            p.0 += extra[i + 2].0;
            p.1 += extra[i + 2].1;
        }
    }
    let b = match b {
        Some(b) if b.len() == m => Some(b.into_shape_with_order(vec![m]).expect("length checked")),
        Some(b) => invalid!("the bias has {} values for {m} outputs", b.len()),
        None => None,
    };
    // Per axis: the symmetric pad p >= both pads with (p - begin) a
    // multiple of the stride, so that the windows kept start where ONNX's do.
    let mut caffe_pads = [0usize; 2];
    let mut crops = Vec::new();
    let mut full = vec![source.shape[0], m, 0, 0];
    for i in 0..2 {
        let (h, k, s, d) = (source.shape[2 + i], a.kernel[i], a.strides[i], a.dilations[i]);
        let (pb, pe) = pads[i];
        let extent = d * (k - 1) + 1;
        if h + pb + pe < extent {
            invalid!("the kernel extent {extent} exceeds the padded input {}", h + pb + pe);
        }
        let onnx_out = (h + pb + pe - extent) / s + 1;
        let p = pb + (pe.saturating_sub(pb)).div_ceil(s) * s;
        let caffe_out = (h + 2 * p - extent) / s + 1;
        let offset = (p - pb) / s;
        debug_assert!(offset + onnx_out <= caffe_out);
        caffe_pads[i] = p;
        full[2 + i] = caffe_out;
        crops.push((2 + i, offset, onnx_out));
    }
    let x = source;
    let top = main_top(cx, node, full, &crops);
    let param = conv_param(m, &a, caffe_pads, b.is_some());
    let mut params = vec![w];
    params.extend(b);
    cx.layer(node, "", "Convolution", &[&x], &[&top], params, |l| {
        l.convolution_param = Some(param)
    });
    let cropped = crop_to_output(cx, node, top, &crops);
    let merged = if extra.is_some() {
        ", the zero Pad before taken into its pads"
    } else {
        ""
    };
    if cropped {
        Mapped::composed(format!(
            "Convolution with symmetric pads {caffe_pads:?}, then Slice crops for ONNX's asymmetric pads {pads:?}{merged}"
        ))
    } else {
        Mapped::exact(format!("Convolution{merged}"))
    }
}

/// ConvTranspose: Deconvolution with the largest symmetric pad inside both
/// of ONNX's, cropped to ONNX's output (pads, output_padding, output_shape).
/// Rows that output_padding adds past the last input's reach hold the bias
/// alone: the kernel grows by taps of zeros so that Caffe computes them.
pub fn conv_transpose(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    node.arity(2, 3, Some(1))?;
    if super::lift::is_1d(cx, node) {
        return super::lift::as_2d(cx, node, conv_transpose);
    }
    let x = nchw(cx, node, "Deconvolution")?;
    let (mut w, b) = weights(cx, node, 4)?;
    let mut a = attrs(node, w.shape())?;
    let (c, mg) = (w.shape()[0], w.shape()[1]);
    if c != x.shape[1] || c % a.group != 0 {
        invalid!(
            "the weight {:?} does not fit the input's {} channels",
            w.shape(),
            x.shape[1]
        );
    }
    let m = mg * a.group;
    let b = match b {
        Some(b) if b.len() == m => Some(b.into_shape_with_order(vec![m]).expect("length checked")),
        Some(b) => invalid!("the bias has {} values for {m} outputs", b.len()),
        None => None,
    };
    let output_padding = ints_or(node, "output_padding", 2, 0)?;
    let auto = node.string("auto_pad", "NOTSET")?;
    let mut caffe_pads = [0usize; 2];
    let mut crops = Vec::new();
    let mut full = vec![x.shape[0], m, 0, 0];
    let mut onnx_pads = Vec::new();
    let mut extended = [0usize; 2];
    for i in 0..2 {
        let (h, k, s, d) = (x.shape[2 + i], a.kernel[i], a.strides[i], a.dilations[i]);
        let op = usize::try_from(output_padding[i]).map_err(|_| OpError::Invalid("negative output_padding".into()))?;
        if op >= s.max(d) {
            invalid!(
                "output_padding {op} on axis {}: ONNX requires it below the stride or the dilation",
                2 + i
            );
        }
        let mut extent = (h - 1) * s + d * (k - 1) + 1;
        // The rows [begin, begin + out) of the unpadded output.
        let (begin, out) = if let Some(shape) = node.ints("output_shape") {
            let want = *shape
                .get(shape.len().wrapping_sub(2) + i)
                .ok_or_else(|| OpError::Invalid("output_shape has fewer than 2 values".into()))?;
            let want = usize::try_from(want).map_err(|_| OpError::Invalid("negative output_shape".into()))?;
            let total = (extent + op).checked_sub(want).ok_or_else(|| {
                OpError::Refuse(format!(
                    "output_shape {want} is larger than the full output {}",
                    extent + op
                ))
            })?;
            let begin = if auto == "SAME_UPPER" {
                total / 2
            } else {
                total - total / 2
            };
            (begin, want)
        } else if auto == "SAME_UPPER" || auto == "SAME_LOWER" {
            let want = h * s;
            let total = (extent + op).saturating_sub(want);
            let begin = if auto == "SAME_UPPER" {
                total / 2
            } else {
                total - total / 2
            };
            (begin, want)
        } else {
            let pads = ints_or(node, "pads", 4, 0)?;
            let (pb, pe) = (pads[i], pads[i + 2]);
            if pb < 0 || pe < 0 {
                refuse!("negative pads {pads:?} are not mapped");
            }
            let (pb, pe) = (pb as usize, pe as usize);
            let out = (extent + op)
                .checked_sub(pb + pe)
                .filter(|&o| o > 0)
                .ok_or_else(|| OpError::Invalid(format!("pads ({pb}, {pe}) leave no output")))?;
            (pb, out)
        };
        onnx_pads.push((begin, extent + op - begin - out));
        if begin + out > extent {
            // Rows past the last input's reach (output_padding): ONNX gives
            // them the bias alone. Caffe computes them when the kernel has
            // that many more taps, all zero.
            let taps = (begin + out - extent).div_ceil(d);
            let mut shape = w.shape().to_vec();
            shape[2 + i] += taps;
            let mut grown = ArrayD::<f32>::zeros(shape);
            grown
                .slice_each_axis_mut(|ax| {
                    let end = if ax.axis.index() == 2 + i { k } else { ax.len };
                    ndarray::Slice::from(0..end)
                })
                .assign(&w);
            w = grown;
            a.kernel[i] += taps;
            extended[i] = taps;
            extent += taps * d;
        }
        let p = begin.min(extent - begin - out);
        caffe_pads[i] = p;
        full[2 + i] = extent - 2 * p;
        crops.push((2 + i, begin - p, out));
    }
    let top = main_top(cx, node, full, &crops);
    let param = conv_param(m, &a, caffe_pads, b.is_some());
    let mut params = vec![w];
    params.extend(b);
    cx.layer(node, "", "Deconvolution", &[&x], &[&top], params, |l| {
        l.convolution_param = Some(param)
    });
    let cropped = crop_to_output(cx, node, top, &crops);
    let grown = if extended != [0, 0] {
        format!(", the kernel grown by {extended:?} taps of zeros for the rows output_padding adds")
    } else {
        String::new()
    };
    if cropped {
        Mapped::composed(format!(
            "Deconvolution with symmetric pads {caffe_pads:?}, then Slice crops to ONNX's output \
             (pads/output_padding as begin/end {onnx_pads:?}){grown}"
        ))
    } else if !grown.is_empty() {
        Mapped::composed(format!("Deconvolution{grown}"))
    } else {
        Mapped::exact("Deconvolution")
    }
}
