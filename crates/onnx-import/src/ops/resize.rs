//! Resize/Upsample, nearest, by integer factors -> a grouped Deconvolution
//! with a kernel of ones, kernel = stride = the factor: every output pixel
//! receives exactly one input pixel times 1, i.e. pixel replication. The
//! importer computes, per axis, the source index ONNX's coordinate
//! transformation and nearest_mode give each output index, and maps only
//! when that is `o / factor` for every output. Linear and cubic modes have
//! no exact Caffe 1.0 layer (a bilinear Deconvolution pads with zeros where
//! ONNX clamps) and are refused.

use caffe_io::proto::ConvolutionParameter;
use ndarray::ArrayD;

use super::nchw;
use crate::cx::{Cx, Value};
use crate::error::OpResult;
use crate::node::Node;
use crate::registry::Mapped;
use crate::{invalid, refuse};

/// The source index of each output index along one axis (ONNX Resize).
fn nearest_sources(input: usize, output: usize, scale: f32, transform: &str, mode: &str) -> Result<Vec<usize>, String> {
    (0..output)
        .map(|o| {
            let of = o as f32;
            let x = match transform {
                "half_pixel" => (of + 0.5) / scale - 0.5,
                "pytorch_half_pixel" => {
                    if output > 1 {
                        (of + 0.5) / scale - 0.5
                    } else {
                        0.0
                    }
                }
                "asymmetric" => of / scale,
                "tf_half_pixel_for_nn" => (of + 0.5) / scale,
                "align_corners" => {
                    if output > 1 {
                        of * (input as f32 - 1.0) / (output as f32 - 1.0)
                    } else {
                        0.0
                    }
                }
                other => return Err(format!("coordinate_transformation_mode '{other}' is not mapped")),
            };
            let i = match mode {
                "round_prefer_floor" => {
                    if x.fract() == 0.5 {
                        x.floor()
                    } else {
                        x.round()
                    }
                }
                "round_prefer_ceil" => x.round(),
                "floor" => x.floor(),
                "ceil" => x.ceil(),
                other => return Err(format!("nearest_mode '{other}'")),
            };
            Ok(i.clamp(0.0, input as f32 - 1.0) as usize)
        })
        .collect()
}

struct Plan {
    mode: String,
    transform: String,
    nearest: String,
    out: [usize; 2],
    scales: [f32; 2],
}

fn replicate(cx: &mut Cx, node: &Node, plan: Plan) -> OpResult<Mapped> {
    let x = nchw(cx, node, "Deconvolution")?;
    if plan.mode != "nearest" {
        refuse!(
            "{} interpolation (coordinate_transformation_mode '{}'): Caffe 1.0 has no layer that computes it exactly \
             (a bilinear Deconvolution pads with zeros at the borders where ONNX clamps)",
            plan.mode,
            plan.transform
        );
    }
    let mut factors = [1usize; 2];
    for (i, factor) in factors.iter_mut().enumerate() {
        let (h, o) = (x.shape[2 + i], plan.out[i]);
        if o % h != 0 {
            refuse!(
                "a nearest resize of {h} to {o} on axis {}: not an integer factor",
                2 + i
            );
        }
        let f = o / h;
        let got =
            nearest_sources(h, o, plan.scales[i], &plan.transform, &plan.nearest).map_err(crate::OpError::Refuse)?;
        if let Some(bad) = (0..o).find(|&j| got[j] != j / f) {
            refuse!(
                "output {bad} on axis {} reads input {} under '{}' and '{}', not {} (pixel replication): no exact Caffe form",
                2 + i,
                got[bad],
                plan.transform,
                plan.nearest,
                bad / f
            );
        }
        *factor = f;
    }
    if factors == [1, 1] {
        cx.set_output(node, 0, Value::Blob(x));
        return Mapped::removed("a factor of 1: the identity");
    }
    let c = x.shape[1];
    let out = cx.output_blob(node, 0, vec![x.shape[0], c, plan.out[0], plan.out[1]]);
    let ones = ArrayD::from_elem(vec![c, 1, factors[0], factors[1]], 1.0f32);
    cx.layer(node, "", "Deconvolution", &[&x], &[&out], vec![ones], |l| {
        l.convolution_param = Some(ConvolutionParameter {
            num_output: Some(c as u32),
            bias_term: Some(false),
            kernel_h: Some(factors[0] as u32),
            kernel_w: Some(factors[1] as u32),
            stride_h: Some(factors[0] as u32),
            stride_w: Some(factors[1] as u32),
            group: (c != 1).then_some(c as u32),
            ..Default::default()
        })
    });
    Mapped::composed(format!(
        "nearest x{factors:?} as a grouped Deconvolution with a kernel of ones (pixel replication, exact)"
    ))
}

fn check_batch_channel(scales: &[f32]) -> OpResult<()> {
    if scales.len() != 4 {
        refuse!("{} scales: the importer resizes NCHW tensors", scales.len());
    }
    if scales[0] != 1.0 || scales[1] != 1.0 {
        refuse!("scales {scales:?} resize the batch or channel axes");
    }
    Ok(())
}

pub fn resize(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    node.arity(1, 4, Some(1))?;
    let x = nchw(cx, node, "Deconvolution")?;
    let mode = node.string("mode", "nearest")?;
    // Opset 10: (X, scales), asymmetric coordinates with floor rounding (its
    // only behaviour); from 11: (X, roi, scales, sizes) and the two modes.
    let (transform, nearest, scales_at) = if node.opset < 11 {
        ("asymmetric".to_string(), "floor".to_string(), 1)
    } else {
        (
            node.string("coordinate_transformation_mode", "half_pixel")?,
            node.string("nearest_mode", "round_prefer_floor")?,
            2,
        )
    };
    if node.opset >= 18 && node.attr("axes").is_some() {
        refuse!("the axes attribute (opset 18) is not mapped yet");
    }
    if node.opset >= 18 && node.string("keep_aspect_ratio_policy", "stretch")? != "stretch" {
        refuse!("keep_aspect_ratio_policy other than 'stretch' is not mapped yet");
    }
    let scales = cx
        .constant(node, scales_at)?
        .map(|c| c.floats())
        .filter(|s| !s.is_empty());
    let sizes = if node.opset >= 11 {
        cx.constant(node, 3)?.map(|c| c.ints()).filter(|s| !s.is_empty())
    } else {
        None
    };
    let (out, scales) = match (scales, sizes) {
        (Some(s), _) => {
            check_batch_channel(&s)?;
            let out = [
                (x.shape[2] as f32 * s[2]).floor() as usize,
                (x.shape[3] as f32 * s[3]).floor() as usize,
            ];
            (out, [s[2], s[3]])
        }
        (None, Some(z)) => {
            if z.len() != 4 || z[0] as usize != x.shape[0] || z[1] as usize != x.shape[1] {
                refuse!("sizes {z:?} resize the batch or channel axes");
            }
            let out = [z[2] as usize, z[3] as usize];
            (
                out,
                [out[0] as f32 / x.shape[2] as f32, out[1] as f32 / x.shape[3] as f32],
            )
        }
        (None, None) => invalid!("neither scales nor sizes"),
    };
    if out.contains(&0) {
        invalid!("resizes to an empty axis");
    }
    replicate(
        cx,
        node,
        Plan {
            mode,
            transform,
            nearest,
            out,
            scales,
        },
    )
}

/// Upsample (opsets 7 to 9; deprecated at 10): scales as an attribute (7,
/// 8) or input 1 (9); asymmetric coordinates with floor rounding.
pub fn upsample(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    node.arity(1, 2, Some(1))?;
    let x = nchw(cx, node, "Deconvolution")?;
    let scales = if node.opset >= 9 {
        cx.required_constant(node, 1)?.floats()
    } else {
        node.floats("scales")
            .ok_or_else(|| crate::OpError::Invalid("no scales".into()))?
            .to_vec()
    };
    check_batch_channel(&scales)?;
    let mode = match node.string("mode", "nearest")?.as_str() {
        "bilinear" | "linear" => "linear".to_string(),
        m => m.to_string(),
    };
    let out = [
        (x.shape[2] as f32 * scales[2]).floor() as usize,
        (x.shape[3] as f32 * scales[3]).floor() as usize,
    ];
    replicate(
        cx,
        node,
        Plan {
            mode,
            transform: "asymmetric".into(),
            nearest: "floor".into(),
            out,
            scales: [scales[2], scales[3]],
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_nearest_modes_replicate() {
        let rep = |h: usize, f: usize, t: &str, m: &str| {
            nearest_sources(h, h * f, f as f32, t, m).unwrap() == (0..h * f).map(|o| o / f).collect::<Vec<_>>()
        };
        assert!(rep(5, 2, "asymmetric", "floor"));
        assert!(rep(5, 3, "asymmetric", "floor"));
        assert!(rep(5, 2, "half_pixel", "round_prefer_floor"));
        // x3 under half_pixel/round_prefer_floor is replication too; under
        // asymmetric/round_prefer_floor it is not (2/3 rounds to 1).
        assert!(rep(5, 3, "half_pixel", "round_prefer_floor"));
        assert!(!rep(5, 3, "asymmetric", "round_prefer_floor"));
        // align_corners: x2 of 5 happens to replicate; x3 of 3 does not (6 * 2/8 = 1.5 -> 1).
        assert!(rep(5, 2, "align_corners", "round_prefer_floor"));
        assert!(!rep(3, 3, "align_corners", "round_prefer_floor"));
    }
}
