//! Resize/Upsample over H and W, every mode ONNX defines without a ROI
//! (nearest, linear, cubic; each coordinate transformation; exclude_outside;
//! opset 18's axes and keep_aspect_ratio_policy). ONNX's resize is separable
//! and linear: along each axis, output `o` is a weighted sum of input
//! samples, the weights fixed by the mode, the coordinate transformation and
//! the sizes. The importer computes those weights per axis, in f32 as
//! onnxruntime does, and emits:
//! - nearest pixel replication by integer factors: a grouped Deconvolution
//!   with a kernel of ones, kernel = stride = the factor (one layer, no
//!   arithmetic);
//! - anything else: the per-axis weight matrices, as `linear_map::planes`
//!   lays them out (a Convolution over the rows, an InnerProduct over the
//!   columns). Each output is the same sum of the same products as ONNX's
//!   (the other taps are zeros), so the result is exact for finite inputs;
//!   at the borders the matrices clamp as ONNX does, which a "bilinear"
//!   Deconvolution (zero padding) does not.
//!
//! Refused: tf_crop_and_resize (its ROI and extrapolation value), antialias
//! when downscaling, resizing the batch or channel axes, inputs not 4-D.

use caffe_io::proto::ConvolutionParameter;
use ndarray::{Array2, ArrayD};

use super::{linear_map, nchw};
use crate::cx::{Blob, Cx, Value};
use crate::error::OpResult;
use crate::node::Node;
use crate::registry::Mapped;
use crate::{invalid, refuse};

/// How ONNX resamples, shared by both axes.
#[derive(Debug, Clone)]
struct Mode {
    /// `nearest`, `linear` or `cubic`.
    interpolation: String,
    /// `coordinate_transformation_mode`.
    transform: String,
    /// `nearest_mode`.
    nearest: String,
    /// `cubic_coeff_a`.
    cubic_a: f32,
    exclude_outside: bool,
}

/// One resized axis: its input and output lengths and the scale ONNX's
/// coordinate transformation divides by.
#[derive(Debug, Clone, Copy)]
struct Axis {
    input: usize,
    output: usize,
    scale: f32,
}

/// The input coordinate of output index `o` (onnxruntime's
/// `get_original_coordinate`, in f32).
fn source_coordinate(o: usize, axis: Axis, transform: &str) -> Result<f32, String> {
    let (of, input, output, scale) = (o as f32, axis.input as f32, axis.output as f32, axis.scale);
    Ok(match transform {
        "half_pixel" => (of + 0.5) / scale - 0.5,
        "pytorch_half_pixel" => {
            if axis.output > 1 {
                (of + 0.5) / scale - 0.5
            } else {
                0.0
            }
        }
        "asymmetric" => of / scale,
        "tf_half_pixel_for_nn" => (of + 0.5) / scale,
        "align_corners" => {
            if axis.output > 1 {
                of * (input - 1.0) / (output - 1.0)
            } else {
                0.0
            }
        }
        // Opset 19: half_pixel about the centre of the (fractional) output.
        "half_pixel_symmetric" => {
            let adjustment = output / (scale * input);
            let offset = input / 2.0 * (1.0 - adjustment);
            offset + (of + 0.5) / scale - 0.5
        }
        "tf_crop_and_resize" => {
            return Err(
                "coordinate_transformation_mode 'tf_crop_and_resize' (a ROI crop with an \
                        extrapolation value) has no Caffe form"
                    .into(),
            )
        }
        other => return Err(format!("unknown coordinate_transformation_mode '{other}'")),
    })
}

/// The input index nearest mode `mode` picks for coordinate `x`.
fn nearest_index(x: f32, input: usize, mode: &str) -> Result<usize, String> {
    let i = match mode {
        "round_prefer_floor" => {
            if x == x.floor() + 0.5 {
                x.floor()
            } else {
                x.round()
            }
        }
        "round_prefer_ceil" => x.round(),
        "floor" => x.floor(),
        "ceil" => x.ceil(),
        other => return Err(format!("unknown nearest_mode '{other}'")),
    };
    Ok(i.clamp(0.0, input as f32 - 1.0) as usize)
}

/// Keys' cubic convolution kernel with parameter `a`, at distance `s`.
fn keys(s: f32, a: f32) -> f32 {
    let s = s.abs();
    if s <= 1.0 {
        ((a + 2.0) * s - (a + 3.0)) * s * s + 1.0
    } else if s < 2.0 {
        ((a * s - 5.0 * a) * s + 8.0 * a) * s - 4.0 * a
    } else {
        0.0
    }
}

/// The `output x input` matrix of one axis: row `o` holds the weight of
/// each input sample in output `o`.
fn axis_weights(axis: Axis, mode: &Mode) -> Result<Array2<f32>, String> {
    let mut m = super::linear_map::matrix(
        axis.output,
        axis.input,
        &format!("a resize of {} to {}", axis.input, axis.output),
    )
    .map_err(|e| match e {
        crate::OpError::Refuse(m) | crate::OpError::Invalid(m) => m,
    })?;
    let last = axis.input as i64 - 1;
    for o in 0..axis.output {
        let x = source_coordinate(o, axis, &mode.transform)?;
        match mode.interpolation.as_str() {
            "nearest" => m[(o, nearest_index(x, axis.input, &mode.nearest)?)] = 1.0,
            // onnxruntime clamps the coordinate to the samples, then weighs
            // its two neighbours by the distance to the other one.
            "linear" => {
                let x = x.clamp(0.0, last as f32);
                let i1 = (x as usize).min(last as usize);
                let i2 = (i1 + 1).min(last as usize);
                if i1 == i2 {
                    m[(o, i1)] = 1.0;
                } else {
                    m[(o, i1)] += i2 as f32 - x;
                    m[(o, i2)] += x - i1 as f32;
                }
            }
            // Four taps at floor(x) - 1 ..= floor(x) + 2; outside the input
            // they read the edge sample, or (exclude_outside) weigh 0 and
            // the others are renormalised.
            "cubic" => {
                let base = x.floor();
                let t = x - base;
                let taps: Vec<(i64, f32)> = (-1..=2)
                    .map(|k| (base as i64 + k, keys(t - k as f32, mode.cubic_a)))
                    .collect();
                let inside = |i: i64| (0..=last).contains(&i);
                let total: f32 = if mode.exclude_outside {
                    taps.iter().filter(|(i, _)| inside(*i)).map(|(_, c)| c).sum()
                } else {
                    1.0
                };
                for (i, c) in taps {
                    if mode.exclude_outside && !inside(i) {
                        continue;
                    }
                    m[(o, i.clamp(0, last) as usize)] += c / total;
                }
            }
            other => return Err(format!("unknown mode '{other}'")),
        }
    }
    Ok(m)
}

/// The integer factor of an axis whose matrix is pixel replication.
fn replication_factor(m: &Array2<f32>) -> Option<usize> {
    let (output, input) = m.dim();
    if output % input != 0 {
        return None;
    }
    let f = output / input;
    let one_hot = |o: usize| {
        m.row(o)
            .iter()
            .enumerate()
            .all(|(i, &w)| w == if i == o / f { 1.0 } else { 0.0 })
    };
    (0..output).all(one_hot).then_some(f)
}

fn is_identity(m: &Array2<f32>) -> bool {
    let (output, input) = m.dim();
    output == input && m.indexed_iter().all(|((o, i), &w)| w == if o == i { 1.0 } else { 0.0 })
}

/// The per-axis matrices as Caffe layers (see the module doc).
fn emit(cx: &mut Cx, node: &Node, x: Blob, rows: Array2<f32>, cols: Array2<f32>) -> OpResult<Mapped> {
    let c = x.shape[1];
    if is_identity(&rows) && is_identity(&cols) {
        cx.set_output(node, 0, Value::Blob(x));
        return Mapped::removed("the identity resampling");
    }
    if let (Some(fh), Some(fw)) = (replication_factor(&rows), replication_factor(&cols)) {
        let out = cx.output_blob(node, 0, vec![x.shape[0], c, rows.dim().0, cols.dim().0]);
        let ones = ArrayD::from_elem(vec![c, 1, fh, fw], 1.0f32);
        cx.layer(node, "", "Deconvolution", &[&x], &[&out], vec![ones], |l| {
            l.convolution_param = Some(ConvolutionParameter {
                num_output: Some(c as u32),
                bias_term: Some(false),
                kernel_h: Some(fh as u32),
                kernel_w: Some(fw as u32),
                stride_h: Some(fh as u32),
                stride_w: Some(fw as u32),
                group: (c != 1).then_some(c as u32),
                ..Default::default()
            })
        });
        return Mapped::composed(format!(
            "nearest x[{fh}, {fw}] as a grouped Deconvolution with a kernel of ones (pixel replication, exact)"
        ));
    }
    let keep = |m: Array2<f32>| (!is_identity(&m)).then_some(m);
    let steps = linear_map::planes(cx, node, x, keep(rows), keep(cols));
    Mapped::composed(format!(
        "{} as per-axis weight matrices: {} (ONNX's taps, exact for finite inputs)",
        node.op_type(),
        steps.join(", ")
    ))
}

/// Resamples `x` to `out` (H, W) with the scales ONNX divides by.
fn resample(cx: &mut Cx, node: &Node, x: Blob, out: [usize; 2], scales: [f32; 2], mode: &Mode) -> OpResult<Mapped> {
    if out.contains(&0) {
        invalid!("resizes to an empty axis");
    }
    let matrix = |i: usize| {
        let axis = Axis {
            input: x.shape[2 + i],
            output: out[i],
            scale: scales[i],
        };
        axis_weights(axis, mode).map_err(crate::OpError::Refuse)
    };
    let (rows, cols) = (matrix(0)?, matrix(1)?);
    emit(cx, node, x, rows, cols)
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

/// Per-axis values given for `axes` (opset 18), spread over the 4 axes.
fn spread<T: Copy>(values: &[T], axes: Option<&[i64]>, fill: [T; 4]) -> OpResult<Vec<T>> {
    let Some(axes) = axes else {
        return Ok(values.to_vec());
    };
    if axes.len() != values.len() {
        invalid!("{} axes for {} values", axes.len(), values.len());
    }
    let mut all = fill.to_vec();
    for (&a, &v) in axes.iter().zip(values) {
        let a = if a < 0 { a + 4 } else { a };
        if !(0..4).contains(&a) {
            invalid!("axis {a} of a 4-D input");
        }
        all[a as usize] = v;
    }
    Ok(all)
}

pub fn resize(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    node.arity(1, 4, Some(1))?;
    let x = nchw(cx, node, "Convolution and InnerProduct")?;
    // Opset 10: (X, scales), asymmetric coordinates with floor rounding (its
    // only behaviour); from 11: (X, roi, scales, sizes) and the modes.
    let (transform, nearest, scales_at) = if node.opset < 11 {
        ("asymmetric".to_string(), "floor".to_string(), 1)
    } else {
        (
            node.string("coordinate_transformation_mode", "half_pixel")?,
            node.string("nearest_mode", "round_prefer_floor")?,
            2,
        )
    };
    let mode = Mode {
        interpolation: node.string("mode", "nearest")?,
        transform,
        nearest,
        cubic_a: node.float("cubic_coeff_a", -0.75)?,
        exclude_outside: node.int("exclude_outside", 0)? != 0,
    };
    let axes = if node.opset >= 18 { node.ints("axes") } else { None };
    let policy = if node.opset >= 18 {
        node.string("keep_aspect_ratio_policy", "stretch")?
    } else {
        "stretch".to_string()
    };
    let scales = cx
        .constant(node, scales_at)?
        .map(|c| c.floats())
        .filter(|s| !s.is_empty());
    let sizes = if node.opset >= 11 {
        cx.constant(node, 3)?.map(|c| c.ints()).filter(|s| !s.is_empty())
    } else {
        None
    };
    let dims = [x.shape[0], x.shape[1], x.shape[2], x.shape[3]];
    let (out, scales) = match (scales, sizes) {
        (Some(s), _) => {
            let s = spread(&s, axes, [1.0; 4])?;
            check_batch_channel(&s)?;
            let out = [
                (dims[2] as f32 * s[2]).floor() as usize,
                (dims[3] as f32 * s[3]).floor() as usize,
            ];
            (out, [s[2], s[3]])
        }
        (None, Some(z)) => {
            let filled = dims.map(|d| d as i64);
            let z = spread(&z, axes, filled)?;
            if z.len() != 4 || z[0] as usize != dims[0] || z[1] as usize != dims[1] {
                refuse!("sizes {z:?} resize the batch or channel axes");
            }
            let ratio = |i: usize| z[i] as f32 / dims[i] as f32;
            // keep_aspect_ratio_policy: one scale for every resized axis
            // (the smallest or the largest), the sizes rounded from it.
            let resized: Vec<usize> = match axes {
                Some(a) => a.iter().map(|&a| if a < 0 { a + 4 } else { a } as usize).collect(),
                None => vec![0, 1, 2, 3],
            };
            let shared = match policy.as_str() {
                "stretch" => None,
                "not_larger" => resized.iter().map(|&i| ratio(i)).reduce(f32::min),
                "not_smaller" => resized.iter().map(|&i| ratio(i)).reduce(f32::max),
                other => invalid!("unknown keep_aspect_ratio_policy '{other}'"),
            };
            match shared {
                None => {
                    let out = [z[2] as usize, z[3] as usize];
                    (out, [ratio(2), ratio(3)])
                }
                Some(s) => {
                    let size = |i: usize| {
                        if resized.contains(&i) {
                            (s * dims[i] as f32).round() as usize
                        } else {
                            dims[i]
                        }
                    };
                    let scale = |i: usize| if resized.contains(&i) { s } else { 1.0 };
                    ([size(2), size(3)], [scale(2), scale(3)])
                }
            }
        }
        (None, None) => invalid!("neither scales nor sizes"),
    };
    if node.opset >= 18 && node.int("antialias", 0)? != 0 && mode.interpolation != "nearest" {
        if let Some(i) = (0..2).find(|&i| out[i] < dims[2 + i]) {
            refuse!(
                "antialias while downscaling axis {} ({} -> {}): its widened filter is not mapped",
                2 + i,
                dims[2 + i],
                out[i]
            );
        }
    }
    resample(cx, node, x, out, scales, &mode)
}

/// Upsample (opsets 7 to 9; deprecated at 10): scales as an attribute (7,
/// 8) or input 1 (9); asymmetric coordinates, floor rounding for nearest.
pub fn upsample(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    node.arity(1, 2, Some(1))?;
    let x = nchw(cx, node, "Convolution and InnerProduct")?;
    let scales = if node.opset >= 9 {
        cx.required_constant(node, 1)?.floats()
    } else {
        node.floats("scales")
            .ok_or_else(|| crate::OpError::Invalid("no scales".into()))?
            .to_vec()
    };
    check_batch_channel(&scales)?;
    let interpolation = match node.string("mode", "nearest")?.as_str() {
        "bilinear" | "linear" => "linear".to_string(),
        m => m.to_string(),
    };
    let out = [
        (x.shape[2] as f32 * scales[2]).floor() as usize,
        (x.shape[3] as f32 * scales[3]).floor() as usize,
    ];
    let mode = Mode {
        interpolation,
        transform: "asymmetric".into(),
        nearest: "floor".into(),
        cubic_a: -0.75,
        exclude_outside: false,
    };
    resample(cx, node, x, out, [scales[2], scales[3]], &mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(interpolation: &str, transform: &str, nearest: &str) -> Mode {
        Mode {
            interpolation: interpolation.into(),
            transform: transform.into(),
            nearest: nearest.into(),
            cubic_a: -0.75,
            exclude_outside: false,
        }
    }

    fn matrix(input: usize, f: usize, m: &Mode) -> Array2<f32> {
        let axis = Axis {
            input,
            output: input * f,
            scale: f as f32,
        };
        axis_weights(axis, m).unwrap()
    }

    #[test]
    fn which_nearest_modes_replicate() {
        let rep = |h: usize, f: usize, t: &str, n: &str| replication_factor(&matrix(h, f, &mode("nearest", t, n)));
        assert_eq!(rep(5, 2, "asymmetric", "floor"), Some(2));
        assert_eq!(rep(5, 3, "asymmetric", "floor"), Some(3));
        assert_eq!(rep(5, 2, "half_pixel", "round_prefer_floor"), Some(2));
        // x3 under half_pixel/round_prefer_floor is replication too; under
        // asymmetric/round_prefer_floor it is not (2/3 rounds to 1).
        assert_eq!(rep(5, 3, "half_pixel", "round_prefer_floor"), Some(3));
        assert_eq!(rep(5, 3, "asymmetric", "round_prefer_floor"), None);
        // align_corners: x2 of 5 happens to replicate; x3 of 3 does not (6 * 2/8 = 1.5 -> 1).
        assert_eq!(rep(5, 2, "align_corners", "round_prefer_floor"), Some(2));
        assert_eq!(rep(3, 3, "align_corners", "round_prefer_floor"), None);
    }

    /// Hand-worked rows: half_pixel x2 of 3 samples reads -0.25 (clamped to
    /// sample 0), 0.25, 0.75, 1.25, 1.75, 2.25 (clamped to 2).
    #[test]
    fn linear_half_pixel_rows_clamp_at_the_borders() {
        let m = matrix(3, 2, &mode("linear", "half_pixel", ""));
        let want = [
            [1.0, 0.0, 0.0],
            [0.75, 0.25, 0.0],
            [0.25, 0.75, 0.0],
            [0.0, 0.75, 0.25],
            [0.0, 0.25, 0.75],
            [0.0, 0.0, 1.0],
        ];
        for (o, row) in want.iter().enumerate() {
            assert_eq!(m.row(o).to_vec(), row.to_vec(), "row {o}");
        }
    }

    /// Every cubic row sums to 1 (Keys' kernel is a partition of unity),
    /// with or without exclude_outside; excluded taps weigh nothing.
    #[test]
    fn cubic_rows_are_partitions_of_unity() {
        for exclude_outside in [false, true] {
            let m = Mode {
                exclude_outside,
                ..mode("cubic", "half_pixel", "")
            };
            let w = matrix(4, 2, &m);
            for row in w.rows() {
                assert!((row.sum() - 1.0).abs() < 1e-6, "{row}");
            }
            // Output 0 reads -0.25: taps -2, -1 (outside), 0, 1.
            assert_eq!(w[(0, 3)], 0.0);
        }
    }
}
