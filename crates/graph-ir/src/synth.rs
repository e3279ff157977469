//! Seeded synthetic weights, for users without a trained model and for
//! benchmarks: weights are Gaussian with std sqrt(2 / fan_in) (He; fan_in is
//! Caffe's `count / shape[0]`, as its fillers compute it), biases N(0, 0.05),
//! BatchNorm statistics plausible (variance positive, moving-average factor 1;
//! PSPNet's BN likewise),
//! Scale near 1 and PReLU slopes 0.25. The same seed gives the same weights.

use ndarray::ArrayD;
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal, Uniform};

use crate::ops::{BatchNormParams, ForkBatchNorm, Neuron, ScaleParams};
use crate::registry::Op;
use crate::Net;

/// Standard deviation of synthetic biases.
pub const BIAS_STD: f32 = 0.05;

/// What [`Net::synthesize_params`] could not fill.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unfilled {
    /// Layers of types netsurgeon does not model: whether they have
    /// weights, and of which shapes, only their own code knows.
    pub unmodelled: Vec<(String, String)>,
    /// Layers with params whose shapes are unknown, because a layer before
    /// them is not modelled (or an input has no shape): `(layer, why)`.
    pub unknown_shapes: Vec<(String, String)>,
}

impl Unfilled {
    /// True when every layer's params were filled.
    pub fn is_empty(&self) -> bool {
        self.unmodelled.is_empty() && self.unknown_shapes.is_empty()
    }
}

impl Net {
    /// Replaces every learnable param with seeded synthetic values (shapes are
    /// kept). Layers are filled in order from one random stream. Returns the
    /// layers it could not fill (an unmodelled layer, and the layers whose
    /// param shapes depend on one): weights saved from such a net are partial.
    pub fn synthesize_params(&mut self, seed: u64) -> Unfilled {
        let mut rng = StdRng::seed_from_u64(seed);
        for layer in self.layers_mut() {
            let op = layer.op().clone();
            for (i, param) in layer.params_mut().iter_mut().enumerate() {
                fill(param, &op, i, &mut rng);
            }
        }
        let mut unfilled = Unfilled::default();
        for layer in self.layers() {
            if let Some(u) = layer.op().downcast_ref::<crate::registry::Unmodelled>() {
                unfilled
                    .unmodelled
                    .push((layer.name().to_string(), u.type_name.clone()));
            } else if layer.params().len() < layer.op().param_count() {
                let why = match layer.bottoms().iter().find_map(|b| self.blob_shape(b).err()) {
                    Some(crate::Error::UnsupportedLayer { layer, type_name, .. }) => {
                        format!("it follows layer '{layer}' ({type_name}), which netsurgeon does not model")
                    }
                    Some(crate::Error::UnknownShape { layer, reason, .. }) => {
                        format!("its input comes from layer '{layer}', which {reason}")
                    }
                    Some(other) => other.to_string(),
                    None => "its param shapes are unknown".to_string(),
                };
                unfilled.unknown_shapes.push((layer.name().to_string(), why));
            }
        }
        unfilled
    }
}

fn fill(param: &mut ArrayD<f32>, op: &Op, index: usize, rng: &mut StdRng) {
    let gaussian = |param: &mut ArrayD<f32>, mean: f32, std: f32, rng: &mut StdRng| {
        let normal = Normal::new(mean, std.max(f32::MIN_POSITIVE)).expect("std is positive and finite");
        param.iter_mut().for_each(|v| *v = normal.sample(rng));
    };
    let batch_norm = op.is::<BatchNormParams>();
    // PSPNet's BN: slope, bias, mean, variance (positive, as a trained
    // net's; a negative one would make sqrt(var + eps) NaN).
    let psp_bn = matches!(op.downcast_ref(), Some(ForkBatchNorm::PspNet { .. }));
    match index {
        0 if psp_bn => gaussian(param, 1.0, 0.05, rng),
        2 if psp_bn => gaussian(param, 0.0, 0.1, rng),
        3 if psp_bn => {
            let uniform = Uniform::new(0.5f32, 1.5).expect("valid range");
            param.iter_mut().for_each(|v| *v = uniform.sample(rng));
        }
        0 if batch_norm => gaussian(param, 0.0, 0.1, rng),
        1 if batch_norm => {
            let uniform = Uniform::new(0.5f32, 1.5).expect("valid range");
            param.iter_mut().for_each(|v| *v = uniform.sample(rng));
        }
        _ if batch_norm => param.fill(1.0),
        0 if op.is::<ScaleParams>() => gaussian(param, 1.0, 0.05, rng),
        _ if matches!(op.downcast_ref(), Some(Neuron::PReLU { .. })) => param.fill(0.25),
        0 if param.ndim() >= 2 => {
            let fan_in = param.len() / param.shape()[0].max(1);
            gaussian(param, 0.0, (2.0 / fan_in.max(1) as f32).sqrt(), rng)
        }
        _ => gaussian(param, 0.0, BIAS_STD, rng),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caffenet() -> Net {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/models/bvlc_reference_caffenet/deploy.prototxt");
        let mut net = Net::load(path).unwrap();
        net.reshape_input("data", &[1, 3, 227, 227]).unwrap();
        net
    }

    #[test]
    fn seeded_he_weights_and_small_biases() {
        let mut a = caffenet();
        a.synthesize_params(7);
        let w = a.param("fc7", 0).unwrap();
        let n = w.len() as f64;
        let mean = w.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let std = (w.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n).sqrt();
        let expected = (2.0f64 / 4096.0).sqrt();
        assert!(mean.abs() < 1e-3 * expected.max(1.0), "mean {mean}");
        assert!((std / expected - 1.0).abs() < 0.01, "std {std} vs {expected}");
        let b = a.param("conv1", 1).unwrap();
        assert!(b.iter().any(|&v| v != 0.0) && b.iter().all(|&v| v.abs() < 0.5));
        let mut again = caffenet();
        again.synthesize_params(7);
        assert_eq!(again.param("fc8", 0).unwrap(), a.param("fc8", 0).unwrap());
        let mut other = caffenet();
        other.synthesize_params(8);
        assert_ne!(other.param("fc8", 0).unwrap(), a.param("fc8", 0).unwrap());
    }
}
