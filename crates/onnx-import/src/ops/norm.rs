//! BatchNormalization -> BatchNorm (use_global_stats, scale factor 1) +
//! Scale (bias_term): Caffe's `(x - mean) / sqrt(var + eps)`, then gamma and
//! beta. LRN -> LRN ACROSS_CHANNELS: the same window (floor((n-1)/2)
//! before) and `bias + alpha/n * sum`; Caffe takes odd sizes only.
//! InstanceNormalization and LayerNormalization (the statistics of each
//! item over the trailing axes): the blob as `(P, S, 1, 1)`, MVN without
//! variance (`x - mean`: Caffe's MVN puts eps outside the square root, so
//! it does not divide), the mean of the squares by a Pooling over the axis,
//! Power `(var + eps)^-0.5`, Scale with it as a second bottom, then Scale
//! (bias_term) by the ONNX scale and bias.

use caffe_io::proto::{eltwise_parameter::EltwiseOp, BatchNormParameter, LrnParameter, MvnParameter, ScaleParameter};
use ndarray::{arr1, ArrayD, IxDyn};

use super::activation::{power, Power};
use super::clip::eltwise;
use super::reshape_param;
use crate::cx::{Blob, Cx, Value};
use crate::error::OpResult;
use crate::node::Node;
use crate::registry::Mapped;
use crate::{invalid, refuse};

pub fn batch_normalization(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    node.arity(5, 5, None)?;
    if node.opset >= 14 && node.int("training_mode", 0)? != 0 {
        refuse!(
            "training_mode 1 normalizes by the batch's statistics; Caffe's inference BatchNorm uses the stored ones"
        );
    }
    if node.opset < 9 && node.int("spatial", 1)? == 0 {
        refuse!("spatial 0 (per-activation statistics) has no Caffe BatchNorm form");
    }
    let x = cx.blob(node, 0)?;
    if x.rank() < 2 {
        refuse!(
            "a BatchNormalization of a rank-{} tensor: Caffe's BatchNorm normalizes axis 1",
            x.rank()
        );
    }
    let c = x.shape[1];
    let mut vectors = Vec::new();
    for (i, what) in [(1, "scale"), (2, "B"), (3, "mean"), (4, "var")] {
        let v = cx.required_constant(node, i)?;
        if v.len() != c {
            invalid!("{what} has {} values for {c} channels", v.len());
        }
        vectors.push(v.to_f32().into_shape_with_order(IxDyn(&[c])).expect("length checked"));
    }
    let eps = node.float("epsilon", 1e-5)?;
    for o in 1..node.outputs().len() {
        cx.set_output(node, o, Value::Unavailable);
    }
    let normalized = cx.part(node, "normalized", x.shape.clone());
    let out = cx.output_blob(node, 0, x.shape.clone());
    let [gamma, beta, mean, var]: [ArrayD<f32>; 4] = vectors.try_into().expect("four");
    let factor = arr1(&[1.0f32]).into_dyn();
    cx.layer(
        node,
        "bn",
        "BatchNorm",
        &[&x],
        &[&normalized],
        vec![mean, var, factor],
        |l| {
            l.batch_norm_param = Some(BatchNormParameter {
                use_global_stats: Some(true),
                eps: Some(eps),
                ..Default::default()
            })
        },
    );
    cx.layer(node, "", "Scale", &[&normalized], &[&out], vec![gamma, beta], |l| {
        l.scale_param = Some(ScaleParameter {
            bias_term: Some(true),
            ..Default::default()
        })
    });
    Mapped::composed(format!("BatchNorm (use_global_stats, eps {eps}) + Scale (bias_term)"))
}

pub fn lrn(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    node.arity(1, 1, Some(1))?;
    let x = cx.blob(node, 0)?;
    if x.rank() != 4 {
        refuse!("an LRN of rank {}: Caffe's LRN is NCHW", x.rank());
    }
    let size = node.int("size", 0)?;
    if size <= 0 {
        invalid!("size {size}");
    }
    if size % 2 == 0 {
        refuse!("size {size} is even; Caffe's LRN takes odd sizes only");
    }
    let (alpha, beta, bias) = (
        node.float("alpha", 1e-4)?,
        node.float("beta", 0.75)?,
        node.float("bias", 1.0)?,
    );
    let out = cx.output_blob(node, 0, x.shape.clone());
    cx.layer(node, "", "LRN", &[&x], &[&out], vec![], |l| {
        l.lrn_param = Some(LrnParameter {
            local_size: Some(size as u32),
            alpha: Some(alpha),
            beta: Some(beta),
            k: Some(bias),
            ..Default::default()
        })
    });
    Mapped::exact(if bias != 1.0 {
        format!("LRN ACROSS_CHANNELS, k {bias} (OpenCV's importer ignores k and uses 1)")
    } else {
        "LRN ACROSS_CHANNELS".to_string()
    })
}

/// `(x - mean) / sqrt(var + eps)` with the statistics of each index of the
/// axes before `axis`, over the axes from `axis` (a part blob of x's shape).
fn normalize_trailing(cx: &mut Cx, node: &Node, x: &Blob, axis: usize, eps: f32) -> Blob {
    let p: usize = x.shape[..axis].iter().product();
    let s: usize = x.shape[axis..].iter().product();
    let reshape = |cx: &mut Cx, part: &str, from: &Blob, shape: Vec<usize>| {
        let out = cx.part(node, part, shape.clone());
        cx.layer(node, part, "Reshape", &[from], &[&out], vec![], |l| {
            l.reshape_param = Some(reshape_param(shape.iter().map(|&d| d as i64)))
        });
        out
    };
    let flat = reshape(cx, "items", x, vec![p, s, 1, 1]);
    let centered = cx.part(node, "centered", flat.shape.clone());
    cx.layer(node, "centered", "MVN", &[&flat], &[&centered], vec![], |l| {
        l.mvn_param = Some(MvnParameter {
            normalize_variance: Some(false),
            across_channels: Some(true),
            ..Default::default()
        })
    });
    let squares = cx.part(node, "squares", flat.shape.clone());
    eltwise(
        cx,
        node,
        "squares",
        EltwiseOp::Prod,
        &[&centered, &centered],
        vec![],
        &squares,
    );
    let var = super::reduce::pool_axis(cx, node, &squares, 1, false);
    let inv = cx.part(node, "inv_std", var.shape.clone());
    power(
        cx,
        node,
        "inv_std",
        &var,
        &inv,
        Power {
            power: -0.5,
            scale: 1.0,
            shift: eps,
        },
    );
    let inv_items = reshape(cx, "inv_std_items", &inv, vec![p]);
    let normed = cx.part(node, "normed", flat.shape.clone());
    cx.layer(
        node,
        "normed",
        "Scale",
        &[&centered, &inv_items],
        &[&normed],
        vec![],
        |l| {
            l.scale_param = Some(ScaleParameter {
                axis: Some(0),
                ..Default::default()
            })
        },
    );
    reshape(cx, "normed_shape", &normed, x.shape.clone())
}

/// The constant input `i` broadcast to `shape` (ONNX's scale and bias).
fn affine_blob(cx: &Cx, node: &Node, i: usize, shape: &[usize], what: &str) -> OpResult<ArrayD<f32>> {
    let c = cx.required_constant(node, i)?.to_f32();
    let dims = IxDyn(shape);
    match c.broadcast(dims) {
        Some(b) => Ok(b.to_owned()),
        None => invalid!("{what} of shape {:?} does not broadcast to {shape:?}", c.shape()),
    }
}

/// Scale (bias_term) of the normalized blob by ONNX's scale and bias.
fn affine(cx: &mut Cx, node: &Node, normed: &Blob, axis: usize, gamma: ArrayD<f32>, beta: Option<ArrayD<f32>>) {
    let out = cx.output_blob(node, 0, normed.shape.clone());
    let num_axes = (normed.rank() - axis) as i32;
    let bias = beta.is_some();
    let mut params = vec![gamma];
    params.extend(beta);
    cx.layer(node, "", "Scale", &[normed], &[&out], params, |l| {
        l.scale_param = Some(ScaleParameter {
            axis: Some(axis as i32),
            num_axes: Some(num_axes),
            bias_term: Some(bias),
            ..Default::default()
        })
    });
}

pub fn instance_normalization(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    node.arity(3, 3, Some(1))?;
    let x = cx.blob(node, 0)?;
    if x.rank() < 3 {
        refuse!(
            "an InstanceNormalization of rank {}: it needs N, C and spatial axes",
            x.rank()
        );
    }
    let eps = node.float("epsilon", 1e-5)?;
    let c = x.shape[1];
    let gamma = affine_blob(cx, node, 1, &[c], "scale")?;
    let beta = affine_blob(cx, node, 2, &[c], "B")?;
    let normed = normalize_trailing(cx, node, &x, 2, eps);
    let out = cx.output_blob(node, 0, x.shape.clone());
    cx.layer(node, "", "Scale", &[&normed], &[&out], vec![gamma, beta], |l| {
        l.scale_param = Some(ScaleParameter {
            axis: Some(1),
            bias_term: Some(true),
            ..Default::default()
        })
    });
    Mapped::composed(format!(
        "per (N, C) over the spatial axes: MVN (mean only), the mean of squares by Pooling, Power (var + {eps})^-0.5, \
         Scale by it, Scale (bias_term) by scale and B"
    ))
}

pub fn layer_normalization(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    node.arity(2, 3, None)?;
    for o in 1..node.outputs().len() {
        if cx.output_read(node, o) {
            refuse!("output {o} (Mean or InvStdDev) is read: only the normalized output is mapped");
        }
        cx.set_output(node, o, Value::Unavailable);
    }
    let x = cx.blob(node, 0)?;
    let axis = crate::node::normalize_axis(node.int("axis", -1)?, x.rank())?;
    if axis == 0 {
        refuse!("axis 0 normalizes over the batch too: not mapped");
    }
    let eps = node.float("epsilon", 1e-5)?;
    let trailing = x.shape[axis..].to_vec();
    let gamma = affine_blob(cx, node, 1, &trailing, "Scale")?;
    let beta = if node.has_input(2) {
        Some(affine_blob(cx, node, 2, &trailing, "B")?)
    } else {
        None
    };
    let normed = normalize_trailing(cx, node, &x, axis, eps);
    affine(cx, node, &normed, axis, gamma, beta);
    Mapped::composed(format!(
        "per item over axes {axis}..: MVN (mean only), the mean of squares by Pooling, Power (var + {eps})^-0.5, \
         Scale by it, Scale by Scale (and B)"
    ))
}
