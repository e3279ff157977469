//! BatchNormalization -> BatchNorm (use_global_stats, scale factor 1) +
//! Scale (bias_term): Caffe's `(x - mean) / sqrt(var + eps)`, then gamma and
//! beta. LRN -> LRN ACROSS_CHANNELS: the same window (floor((n-1)/2)
//! before) and `bias + alpha/n * sum`; Caffe takes odd sizes only.

use caffe_io::proto::{BatchNormParameter, LrnParameter, ScaleParameter};
use ndarray::{arr1, ArrayD, IxDyn};

use crate::cx::{Cx, Value};
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
