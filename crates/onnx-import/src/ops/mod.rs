//! The op mappings, one module per ONNX op family; `register` lists them,
//! one line per op type. Each module's doc line names the Caffe rule it
//! follows; helpers shared by several live here.

use crate::cx::{Blob, Cx};
use crate::error::{OpError, OpResult};
use crate::node::Node;
use crate::registry::OnnxOpRegister;

pub mod activation;
pub mod argmax;
pub mod arith;
pub mod clip;
pub mod concat;
pub mod conv;
pub mod depth_space;
pub mod erf;
pub mod gemm;
pub mod lift;
pub mod linear_map;
pub mod norm;
pub mod pad;
pub mod passthrough;
pub mod pool;
pub mod reduce;
pub mod reshape;
pub mod resize;
pub mod slice;
pub mod softmax;
pub mod transpose;
pub mod variadic;

pub(crate) fn register(r: &mut OnnxOpRegister) {
    r.insert("Identity", passthrough::identity);
    r.insert("Dropout", passthrough::dropout);
    r.insert("Cast", passthrough::cast);
    r.insert("Conv", conv::conv);
    r.insert("ConvTranspose", conv::conv_transpose);
    r.insert("MaxPool", pool::max_pool);
    r.insert("AveragePool", pool::average_pool);
    r.insert("GlobalAveragePool", pool::global_average_pool);
    r.insert("GlobalMaxPool", pool::global_max_pool);
    r.insert("BatchNormalization", norm::batch_normalization);
    r.insert("LRN", norm::lrn);
    r.insert("InstanceNormalization", norm::instance_normalization);
    r.insert("LayerNormalization", norm::layer_normalization);
    r.insert("Relu", activation::relu);
    r.insert("LeakyRelu", activation::leaky_relu);
    r.insert("PRelu", activation::prelu);
    r.insert("Elu", activation::elu);
    r.insert("Selu", activation::selu);
    r.insert("Sigmoid", activation::sigmoid);
    r.insert("Tanh", activation::tanh);
    r.insert("Abs", activation::abs);
    r.insert("Exp", activation::exp);
    r.insert("Log", activation::log);
    r.insert("Softplus", activation::softplus);
    r.insert("Sqrt", activation::sqrt);
    r.insert("Neg", activation::neg);
    r.insert("Reciprocal", activation::reciprocal);
    r.insert("Pow", activation::pow);
    r.insert("Clip", clip::clip);
    r.insert("HardSigmoid", clip::hard_sigmoid);
    r.insert("HardSwish", clip::hard_swish);
    r.insert("Add", arith::add);
    r.insert("Sub", arith::sub);
    r.insert("Mul", arith::mul);
    r.insert("Div", arith::div);
    r.insert("Sum", variadic::sum);
    r.insert("Max", variadic::max);
    r.insert("Min", variadic::min);
    r.insert("Mean", variadic::mean);
    r.insert("Gemm", gemm::gemm);
    r.insert("MatMul", gemm::matmul);
    r.insert("Flatten", reshape::flatten);
    r.insert("Reshape", reshape::reshape);
    r.insert("Squeeze", reshape::squeeze);
    r.insert("Unsqueeze", reshape::unsqueeze);
    r.insert("Softmax", softmax::softmax);
    r.insert("LogSoftmax", softmax::log_softmax);
    r.insert("Concat", concat::concat);
    r.insert("Split", concat::split);
    r.insert("Slice", slice::slice);
    r.insert("Resize", resize::resize);
    r.insert("Upsample", resize::upsample);
    r.insert("Pad", pad::pad);
    r.insert("ReduceMean", reduce::reduce_mean);
    r.insert("ReduceMax", reduce::reduce_max);
    r.insert("ReduceMin", reduce::reduce_min);
    r.insert("ReduceSum", reduce::reduce_sum);
    r.insert("ReduceSumSquare", reduce::reduce_sum_square);
    r.insert("ReduceL1", reduce::reduce_l1);
    r.insert("ReduceL2", reduce::reduce_l2);
    r.insert("Transpose", transpose::transpose);
    r.insert("ArgMax", argmax::argmax);
    r.insert("ArgMin", argmax::argmin);
    r.insert("TopK", argmax::top_k);
    r.insert("Erf", erf::erf);
    r.insert("SpaceToDepth", depth_space::space_to_depth);
    r.insert("DepthToSpace", depth_space::depth_to_space);
}

/// Input 0, which must be a 4-D (NCHW) blob for `what`.
pub(crate) fn nchw(cx: &Cx, node: &Node, what: &str) -> OpResult<Blob> {
    let x = cx.blob(node, 0)?;
    if x.rank() != 4 {
        return Err(OpError::Refuse(format!(
            "the input has rank {} ({:?}); the Caffe {what} this maps to is 2-D (NCHW) only",
            x.rank(),
            x.shape
        )));
    }
    Ok(x)
}

/// An INTS attribute of `n` values, or `default` repeated.
pub(crate) fn ints_or(node: &Node, name: &str, n: usize, default: i64) -> OpResult<Vec<i64>> {
    match node.ints(name) {
        Some(v) if v.len() == n => Ok(v.to_vec()),
        Some(v) => Err(OpError::Invalid(format!(
            "'{name}' has {} values; expected {n}",
            v.len()
        ))),
        None => Ok(vec![default; n]),
    }
}

/// Positive usize values of an INTS attribute.
pub(crate) fn positive(values: &[i64], what: &str) -> OpResult<Vec<usize>> {
    values
        .iter()
        .map(|&v| {
            usize::try_from(v)
                .ok()
                .filter(|&v| v > 0)
                .ok_or_else(|| OpError::Invalid(format!("{what} {v} is not positive")))
        })
        .collect()
}

/// The (begin, end) pads of each spatial axis: `auto_pad` resolved to
/// explicit pads (SAME_UPPER puts the odd one at the end, SAME_LOWER at the
/// beginning, VALID none), else the `pads` attribute.
pub(crate) fn spatial_pads(
    node: &Node,
    input: &[usize],
    kernel: &[usize],
    strides: &[usize],
    dilations: &[usize],
) -> OpResult<Vec<(usize, usize)>> {
    let n = kernel.len();
    let auto = node.string("auto_pad", "NOTSET")?;
    match auto.as_str() {
        "NOTSET" | "" => {
            let pads = ints_or(node, "pads", 2 * n, 0)?;
            if pads.iter().any(|&p| p < 0) {
                return Err(OpError::Refuse(format!(
                    "negative pads {pads:?} (a crop) are not mapped"
                )));
            }
            Ok((0..n).map(|i| (pads[i] as usize, pads[i + n] as usize)).collect())
        }
        "VALID" => Ok(vec![(0, 0); n]),
        "SAME_UPPER" | "SAME_LOWER" => Ok((0..n)
            .map(|i| {
                let out = input[i].div_ceil(strides[i]);
                let extent = dilations[i] * (kernel[i] - 1) + 1;
                let total = ((out - 1) * strides[i] + extent).saturating_sub(input[i]);
                let small = total / 2;
                if auto == "SAME_UPPER" {
                    (small, total - small)
                } else {
                    (total - small, small)
                }
            })
            .collect()),
        other => Err(OpError::Invalid(format!("auto_pad '{other}'"))),
    }
}

/// Emits the crops `(axis, start, len)` of `full` in turn (Slice + Silence
/// each, those that remove nothing skipped); the last writes output 0 of
/// the node when `to_output`, else a part blob. Returns the cropped blob
/// (`full` itself when nothing is cropped).
pub(crate) fn crop(cx: &mut Cx, node: &Node, full: Blob, crops: &[(usize, usize, usize)], to_output: bool) -> Blob {
    let needed: Vec<_> = crops
        .iter()
        .copied()
        .filter(|&(axis, start, len)| start > 0 || len < full.shape[axis])
        .collect();
    let mut cur = full;
    for (i, &(axis, start, len)) in needed.iter().enumerate() {
        let out = (to_output && i + 1 == needed.len()).then(|| {
            let mut shape = cur.shape.clone();
            shape[axis] = len;
            cx.output_blob(node, 0, shape)
        });
        cur = cx.slice(node, &format!("crop_axis{axis}"), &cur, axis, start, len, out);
    }
    cur
}

/// [`crop`] into output 0; true when it cropped (when not, `full` is
/// output 0, as [`main_top`] made it).
pub(crate) fn crop_to_output(cx: &mut Cx, node: &Node, full: Blob, crops: &[(usize, usize, usize)]) -> bool {
    let name = full.name.clone();
    crop(cx, node, full, crops, true).name != name
}

/// Caffe's Reshape to exactly `dims` (0 keeps the bottom's dim, as Caffe reads it).
pub(crate) fn reshape_param(dims: impl IntoIterator<Item = i64>) -> caffe_io::proto::ReshapeParameter {
    caffe_io::proto::ReshapeParameter {
        shape: Some(caffe_io::proto::BlobShape {
            dim: dims.into_iter().collect(),
        }),
        ..Default::default()
    }
}

/// True when some crop of `crops` removes anything from a blob of `shape`.
pub(crate) fn crops_needed(shape: &[usize], crops: &[(usize, usize, usize)]) -> bool {
    crops.iter().any(|&(axis, start, len)| start > 0 || len < shape[axis])
}

/// The blob for the main layer's top: output 0 itself when nothing is
/// cropped after, else an intermediate `uncropped` blob.
pub(crate) fn main_top(cx: &mut Cx, node: &Node, shape: Vec<usize>, crops: &[(usize, usize, usize)]) -> Blob {
    if crops_needed(&shape, crops) {
        cx.part(node, "uncropped", shape)
    } else {
        cx.output_blob(node, 0, shape)
    }
}
