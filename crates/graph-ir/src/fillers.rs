//! Caffe's fillers (`include/caffe/filler.hpp`): the values a param takes
//! when no weights give it, drawn from the layer's `*_filler` block.
//!
//! Every filler of BVLC Caffe is here, with its rules: `constant` (value),
//! `uniform` (min, max), `gaussian` (mean, std, and `sparse`: each weight kept
//! with probability sparse / `shape[0]`), `positive_unitball` (uniform, each of
//! the `shape[0]` rows scaled to sum 1), `xavier` (uniform in +-sqrt(3 / n)) and
//! `msra` (Gaussian of std sqrt(2 / n)), with n = fan_in = count / `shape[0]`,
//! fan_out = count / `shape[1]` (count for 1-axis blobs) or their mean, as
//! `variance_norm` says, and `bilinear` (the deterministic upsampling kernel
//! of a Deconvolution; master's centre (K - 1) / 2f).
//!
//! The random fillers are seeded ([`Net::run_fillers`]): the same seed gives
//! the same values, but the stream is not Caffe's (boost's mt19937 through
//! Caffe's own transforms), so the numbers differ from a Caffe run's.

use caffe_io::proto::filler_parameter::VarianceNorm;
use caffe_io::proto::FillerParameter;
use ndarray::ArrayD;
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Bernoulli, Distribution, Normal, Uniform};

use crate::error::{Error, Result};
use crate::ops::Fill;
use crate::Net;

/// The filler types Caffe knows, for error messages.
const KNOWN: &str = "constant, uniform, gaussian, positive_unitball, xavier, msra, bilinear";

impl Net {
    /// Fills the params of the layers named in `only` (every layer with
    /// params when None) from their fillers, in layer order from one random
    /// stream seeded with `seed`, writing into the existing arrays (a view of
    /// a param stays valid). A filler Caffe would refuse (an unknown type, a
    /// non-square bilinear kernel, `min > max`) is an error naming the layer,
    /// and the net is then left partly filled.
    pub fn run_fillers(&mut self, seed: u64, only: Option<&[String]>) -> Result<()> {
        let mut rng = StdRng::seed_from_u64(seed);
        for layer in self.layers_mut() {
            if only.is_some_and(|names| !names.iter().any(|n| n == layer.name())) {
                continue;
            }
            let Some(expected) = layer.expected.clone() else {
                continue;
            };
            let (name, type_name) = (layer.name().to_string(), layer.type_name().to_string());
            for (param, init) in layer.params_mut().iter_mut().zip(&expected) {
                let invalid = |message: String| Error::InvalidParam {
                    layer: name.clone(),
                    type_name: type_name.clone(),
                    message,
                };
                match &init.fill {
                    Fill::Constant(v) => param.fill(*v),
                    Fill::Filler(filler) => fill(param, filler, &mut rng).map_err(invalid)?,
                }
            }
        }
        Ok(())
    }
}

/// Fills `blob` as Caffe's filler of `filler.type` does.
fn fill(blob: &mut ArrayD<f32>, filler: &FillerParameter, rng: &mut StdRng) -> std::result::Result<(), String> {
    let shape = blob.shape().to_vec();
    let count = blob.len();
    let kind = filler.r#type();
    if kind != "gaussian" && filler.sparse() != -1 {
        return Err(format!("the {kind} filler does not take `sparse` (only gaussian does)"));
    }
    match kind {
        "constant" => blob.fill(filler.value()),
        "uniform" => uniform(blob, filler.min(), filler.max(), rng)?,
        "gaussian" => {
            gaussian(blob, filler.mean(), filler.std(), rng)?;
            if filler.sparse() >= 0 {
                let outputs = *shape
                    .first()
                    .ok_or("a sparse gaussian filler needs a blob with an axis")?;
                let keep = (filler.sparse() as f64 / outputs as f64).min(1.0);
                let mask = Bernoulli::new(keep).map_err(|e| format!("sparse: {e}"))?;
                blob.iter_mut().for_each(|v| {
                    if !mask.sample(rng) {
                        *v = 0.0
                    }
                });
            }
        }
        "positive_unitball" => {
            uniform(blob, 0.0, 1.0, rng)?;
            let rows = *shape.first().ok_or("positive_unitball needs a blob with an axis")?;
            if let Some(dim) = count.checked_div(rows) {
                if let Some(data) = blob.as_slice_mut() {
                    for row in data.chunks_mut(dim.max(1)) {
                        let sum: f32 = row.iter().sum();
                        row.iter_mut().for_each(|v| *v /= sum);
                    }
                }
            }
        }
        "xavier" | "msra" => {
            let n = fan(&shape, count, filler.variance_norm());
            if n <= 0.0 {
                return Err(format!("the {kind} filler needs a non-empty blob, got shape {shape:?}"));
            }
            if kind == "xavier" {
                let scale = (3.0 / n).sqrt();
                uniform(blob, -scale, scale, rng)?;
            } else {
                gaussian(blob, 0.0, (2.0 / n).sqrt(), rng)?;
            }
        }
        "bilinear" => {
            let [_, _, h, w] = shape[..] else {
                return Err(format!("the bilinear filler needs a 4-axis blob, got shape {shape:?}"));
            };
            if h != w {
                return Err(format!("the bilinear filler needs a square kernel, got {h} x {w}"));
            }
            let f = w.div_ceil(2) as f32;
            let c = (w as f32 - 1.0) / (2.0 * f);
            for (i, v) in blob.iter_mut().enumerate() {
                let x = (i % w) as f32;
                let y = ((i / w) % h) as f32;
                *v = (1.0 - (x / f - c).abs()) * (1.0 - (y / f - c).abs());
            }
        }
        other => return Err(format!("unknown filler type '{other}' (Caffe's fillers: {KNOWN})")),
    }
    Ok(())
}

/// n of the xavier and msra fillers (Caffe's fan_in, fan_out or their mean).
fn fan(shape: &[usize], count: usize, norm: VarianceNorm) -> f32 {
    let fan_in = match shape.first() {
        Some(&d) if d > 0 => count / d,
        _ => 0,
    } as f32;
    let fan_out = match shape.get(1) {
        Some(&d) if d > 0 => count / d,
        Some(_) => 0,
        None => count,
    } as f32;
    match norm {
        VarianceNorm::FanIn => fan_in,
        VarianceNorm::FanOut => fan_out,
        VarianceNorm::Average => (fan_in + fan_out) / 2.0,
    }
}

fn uniform(blob: &mut ArrayD<f32>, min: f32, max: f32, rng: &mut StdRng) -> std::result::Result<(), String> {
    if min.is_nan() || max.is_nan() || min > max {
        return Err(format!("the uniform range needs min <= max, got min {min}, max {max}"));
    }
    if min == max {
        blob.fill(min);
        return Ok(());
    }
    let dist = Uniform::new(min, max).map_err(|e| format!("uniform({min}, {max}): {e}"))?;
    blob.iter_mut().for_each(|v| *v = dist.sample(rng));
    Ok(())
}

fn gaussian(blob: &mut ArrayD<f32>, mean: f32, std: f32, rng: &mut StdRng) -> std::result::Result<(), String> {
    if std.is_nan() || std <= 0.0 || !std.is_finite() || !mean.is_finite() {
        return Err(format!(
            "the gaussian filler needs a positive std and a finite mean, got mean {mean}, std {std}"
        ));
    }
    let dist = Normal::new(mean, std).map_err(|e| format!("gaussian({mean}, {std}): {e}"))?;
    blob.iter_mut().for_each(|v| *v = dist.sample(rng));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::IxDyn;

    fn filler(text: &str) -> FillerParameter {
        let net =
            format!("layer {{ name: 'x' type: 'Convolution' convolution_param {{ weight_filler {{ {text} }} }} }}");
        let net = caffe_io::parse_prototxt(&net, "filler.prototxt").unwrap();
        net.layer[0].convolution_param.clone().unwrap().weight_filler.unwrap()
    }

    fn filled(shape: &[usize], text: &str) -> std::result::Result<ArrayD<f32>, String> {
        let mut a = ArrayD::zeros(IxDyn(shape));
        fill(&mut a, &filler(text), &mut StdRng::seed_from_u64(7))?;
        Ok(a)
    }

    #[test]
    fn xavier_and_msra_keep_caffes_bounds_and_spread() {
        // fan_in of (64, 32, 3, 3) is 288: xavier is U(+-sqrt(3/288)).
        let x = filled(&[64, 32, 3, 3], "type: 'xavier'").unwrap();
        let bound = (3.0f32 / 288.0).sqrt();
        assert!(x.iter().all(|v| v.abs() <= bound));
        assert!(x.iter().any(|v| v.abs() > 0.9 * bound));
        // msra FAN_OUT: fan_out = count / 32 = 576, std sqrt(2/576).
        let m = filled(&[64, 32, 3, 3], "type: 'msra' variance_norm: FAN_OUT").unwrap();
        let var = m.iter().map(|v| v * v).sum::<f32>() / m.len() as f32;
        assert!(
            (var.sqrt() / (2.0f32 / 576.0).sqrt() - 1.0).abs() < 0.05,
            "std {}",
            var.sqrt()
        );
    }

    #[test]
    fn bilinear_is_caffes_kernel() {
        // K = 4: f = 2, c = 3/4; the 1-D profile is 0.25 0.75 0.75 0.25.
        let b = filled(&[1, 1, 4, 4], "type: 'bilinear'").unwrap();
        let profile = [0.25f32, 0.75, 0.75, 0.25];
        for y in 0..4 {
            for x in 0..4 {
                assert_eq!(b[[0, 0, y, x]], profile[y] * profile[x]);
            }
        }
        assert!(filled(&[1, 1, 4, 3], "type: 'bilinear'")
            .unwrap_err()
            .contains("square"));
    }

    #[test]
    fn sparse_gaussian_and_unitball() {
        let s = filled(&[10, 1000], "type: 'gaussian' std: 1 sparse: 5").unwrap();
        let nonzero = s.iter().filter(|v| **v != 0.0).count() as f32 / s.len() as f32;
        assert!((nonzero - 0.5).abs() < 0.03, "kept {nonzero}");
        let u = filled(&[3, 7], "type: 'positive_unitball'").unwrap();
        for row in u.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-6 && row.iter().all(|v| *v >= 0.0));
        }
    }

    #[test]
    fn seeded_and_refusing() {
        assert_eq!(filled(&[5, 5], "type: 'gaussian'"), filled(&[5, 5], "type: 'gaussian'"));
        assert!(filled(&[2], "type: 'uniform' min: 2 max: 1")
            .unwrap_err()
            .contains("min <= max"));
        assert!(filled(&[2], "type: 'glorot'")
            .unwrap_err()
            .contains("unknown filler type 'glorot'"));
        assert!(filled(&[2], "type: 'xavier' sparse: 3")
            .unwrap_err()
            .contains("only gaussian"));
        assert_eq!(filled(&[3], "type: 'constant' value: 2.5").unwrap().sum(), 7.5);
    }
}
