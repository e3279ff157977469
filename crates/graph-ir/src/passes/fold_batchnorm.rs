//! Folds a BatchNorm (and the Scale that follows it) into the Convolution or
//! InnerProduct before it. BatchNorm's blobs are `[mean * s, var * s, s]`:
//! mean = blob0 / s and var = blob1 / s, with factor 0 when s == 0 (Caffe's
//! rule); `y = (x - mean) / sqrt(var + eps)`. With Scale's gamma and beta:
//! `W' = W * gamma / sqrt(var + eps)` per output channel and
//! `b' = (b - mean) * gamma / sqrt(var + eps) + beta`. Only done when the
//! conv's output feeds the BatchNorm alone (and the BatchNorm's output the
//! Scale alone, for the Scale), the BatchNorm uses its global statistics, and
//! the channel axis is 1; otherwise the layers are left as they are.

use ndarray::{ArrayD, Axis, IxDyn};

use super::readers_after;
use crate::error::Result;
use crate::net::Net;
use crate::ops::{BatchNormParams, Convolution, InnerProductParams, ScaleParams};

/// One fold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoldedBatchNorm {
    /// The Convolution or InnerProduct that absorbed the normalization.
    pub into: String,
    pub batch_norm: String,
    pub scale: Option<String>,
}

/// The layers of one fold and the values to fold.
struct Plan {
    conv: usize,
    bn: usize,
    scale: Option<usize>,
    /// Per output channel: multiply the weights by `a`, then `b' = (b - mean) * a + beta`.
    a: Vec<f64>,
    mean: Vec<f64>,
    beta: Vec<f64>,
    /// The blob the folded layer now writes.
    new_top: String,
}

/// Folds every foldable BatchNorm (+ Scale) and re-infers the net.
pub fn fold_batchnorm(net: &mut Net) -> Result<Vec<FoldedBatchNorm>> {
    let mut folded = Vec::new();
    let mut i = 0;
    while i < net.layers().len() {
        if let Some(plan) = plan_at(net, i) {
            folded.push(FoldedBatchNorm {
                into: net.layers()[plan.conv].name().to_string(),
                batch_norm: net.layers()[plan.bn].name().to_string(),
                scale: plan.scale.map(|k| net.layers()[k].name().to_string()),
            });
            apply(net, plan);
            net.refresh()?;
        }
        i += 1;
    }
    Ok(folded)
}

/// A fold of the layer at `i` into which a BatchNorm can go, if any.
fn plan_at(net: &Net, i: usize) -> Option<Plan> {
    let layers = net.layers();
    let conv = &layers[i];
    let op = conv.op();
    let channels = match (
        op.downcast_ref::<Convolution>(),
        op.downcast_ref::<InnerProductParams>(),
    ) {
        (Some(Convolution(p)), _) if p.axis == 1 && conv.tops().len() == 1 => p.num_output,
        (_, Some(p)) if p.axis == 1 => p.num_output,
        _ => return None,
    };
    if conv.params().is_empty() {
        return None;
    }
    let top = &conv.tops()[0];
    let [bn_index] = readers_after(layers, i + 1, top)[..] else {
        return None;
    };
    let bn = &layers[bn_index];
    let bn_params = bn.op().downcast_ref::<BatchNormParams>()?;
    if !bn_params.use_global_stats || bn.params().len() != 3 || bn.params()[0].len() != channels {
        return None;
    }
    let s = bn.params()[2].iter().next().copied().unwrap_or(0.0);
    let factor = if s == 0.0 { 0.0 } else { 1.0 / f64::from(s) };
    let mean: Vec<f64> = bn.params()[0].iter().map(|&m| f64::from(m) * factor).collect();
    let var: Vec<f64> = bn.params()[1].iter().map(|&v| f64::from(v) * factor).collect();
    let eps = f64::from(bn_params.eps);
    let inv_std: Vec<f64> = var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();

    let bn_top = &bn.tops()[0];
    let scale_index = match readers_after(layers, bn_index + 1, bn_top)[..] {
        [k] => {
            let l = &layers[k];
            match l.op().downcast_ref::<ScaleParams>() {
                Some(p)
                    if p.learned_scale
                        && p.axis == 1
                        && l.params().first().is_some_and(|g| g.shape() == [channels]) =>
                {
                    Some(k)
                }
                _ => None,
            }
        }
        _ => None,
    };
    let (gamma, beta, new_top) = match scale_index {
        Some(k) => {
            let l = &layers[k];
            let gamma: Vec<f64> = l.params()[0].iter().map(|&g| f64::from(g)).collect();
            let beta: Vec<f64> = match l.params().get(1) {
                Some(b) => b.iter().map(|&v| f64::from(v)).collect(),
                None => vec![0.0; channels],
            };
            (gamma, beta, l.tops()[0].clone())
        }
        None => (vec![1.0; channels], vec![0.0; channels], bn_top.clone()),
    };
    let a = gamma.iter().zip(&inv_std).map(|(g, s)| g * s).collect();
    Some(Plan {
        conv: i,
        bn: bn_index,
        scale: scale_index,
        a,
        mean,
        beta,
        new_top,
    })
}

/// Rewrites the conv's params and parameter, and removes the BatchNorm/Scale.
fn apply(net: &mut Net, plan: Plan) {
    let layers = net.layers_mut();
    let conv = &mut layers[plan.conv];
    let transposed = conv
        .op()
        .downcast_ref::<InnerProductParams>()
        .is_some_and(|p| p.transpose);
    let channels = plan.a.len();
    let proto = conv.proto_mut();
    if let Some(p) = proto.convolution_param.as_mut() {
        p.bias_term = Some(true);
    }
    if let Some(p) = proto.inner_product_param.as_mut() {
        p.bias_term = Some(true);
    }
    proto.top[0] = plan.new_top;
    let params = conv.params_mut();
    if params.len() < 2 {
        params.push(ArrayD::zeros(IxDyn(&[channels])));
    }
    // Output channels are axis 0 of the weights, or axis 1 of transposed fc weights.
    let channel_axis = Axis(usize::from(transposed));
    for (c, mut slice) in params[0].axis_iter_mut(channel_axis).enumerate() {
        let a = plan.a[c];
        slice.mapv_inplace(|w| (f64::from(w) * a) as f32);
    }
    for (c, b) in params[1].iter_mut().enumerate() {
        *b = ((f64::from(*b) - plan.mean[c]) * plan.a[c] + plan.beta[c]) as f32;
    }
    if let Some(k) = plan.scale {
        layers.remove(k);
    }
    layers.remove(plan.bn);
}
