//! MaxPool/AveragePool -> Pooling, GlobalAverage/MaxPool -> global Pooling.
//! Caffe rounds the output size up (and drops a last window that starts in
//! the padding) and pads both sides alike; ONNX rounds down unless
//! ceil_mode, and pads each side on its own. Per axis the importer looks for
//! the Caffe pad whose windows, after dropping `offset` leading ones and
//! the trailing extras (a Slice crop), are ONNX's windows one for one: the
//! same input rows. For AVE the divisors may still differ (Caffe's counts
//! the padding inside [-pad, H + pad), ONNX's count_include_pad 1 inside its
//! own pads, count_include_pad 0 none): a Scale by Caffe's divisor over
//! ONNX's, a constant per output position, then gives ONNX's mean. Exact,
//! or refused with the window whose rows differ.

use caffe_io::proto::{pooling_parameter::PoolMethod, PoolingParameter};

use super::{crop_to_output, ints_or, main_top, nchw, positive, spatial_pads};
use crate::cx::{Blob, Cx, Value};
use crate::error::OpResult;
use crate::node::Node;
use crate::registry::Mapped;
use crate::{invalid, refuse};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Max,
    /// count_include_pad
    Ave(bool),
}

/// One axis: ONNX's windows as (start, end of the input rows they read,
/// divisor); `None` for an AVE window ONNX would divide by 0.
fn onnx_windows(h: usize, k: usize, s: usize, pb: usize, pe: usize, ceil: bool, kind: Kind) -> Vec<(i64, i64, i64)> {
    let span = (h + pb + pe) as i64 - k as i64;
    let (s_, k_, h_, pb_, pe_) = (s as i64, k as i64, h as i64, pb as i64, pe as i64);
    let mut n = if ceil {
        (span + s_ - 1).div_euclid(s_) + 1
    } else {
        span.div_euclid(s_) + 1
    };
    // A last window that would start in the end padding is dropped.
    if ceil && (n - 1) * s_ >= h_ + pb_ {
        n -= 1;
    }
    (0..n.max(0))
        .map(|o| {
            let start = o * s_ - pb_;
            let end = start + k_;
            let (rs, re) = (start.max(0), end.min(h_));
            let div = match kind {
                Kind::Max => 0,
                Kind::Ave(true) => end.min(h_ + pe_) - start,
                Kind::Ave(false) => re - rs,
            };
            (rs, re, div)
        })
        .collect()
}

/// One axis: Caffe's windows with pad `p` (pooling_layer.cpp's rule).
fn caffe_windows(h: usize, k: usize, s: usize, p: usize, kind: Kind) -> Vec<(i64, i64, i64)> {
    let (s_, k_, h_, p_) = (s as i64, k as i64, h as i64, p as i64);
    let span = h_ + 2 * p_ - k_;
    let mut n = (span + s_ - 1).div_euclid(s_) + 1;
    if p > 0 && (n - 1) * s_ >= h_ + p_ {
        n -= 1;
    }
    (0..n.max(0))
        .map(|o| {
            let start = o * s_ - p_;
            let end = (start + k_).min(h_ + p_);
            let div = match kind {
                Kind::Max => 0,
                _ => end - start,
            };
            (start.max(0), end.min(h_), div)
        })
        .collect()
}

/// Where Caffe's windows on one axis are ONNX's: its pad, the (offset,
/// count) of ONNX's windows among Caffe's, and per output window the ratio
/// of Caffe's divisor to ONNX's (1 for MAX; for AVE, where they differ, the
/// mean is rescaled by it).
#[derive(Debug, Clone, PartialEq)]
struct AxisPlan {
    pad: usize,
    offset: usize,
    count: usize,
    rescale: Vec<f64>,
}

/// The Caffe pad whose windows, from some offset, read the rows ONNX's
/// read: the first whose divisors are ONNX's too, else the first whose
/// divisors differ (see [`AxisPlan`]); or why there is none.
fn solve_axis(h: usize, k: usize, s: usize, pads: (usize, usize), ceil: bool, kind: Kind) -> Result<AxisPlan, String> {
    let want = onnx_windows(h, k, s, pads.0, pads.1, ceil, kind);
    if want.is_empty() {
        return Err("the pooling has no output window".into());
    }
    if let Some(o) = want.iter().position(|w| w.1 <= w.0) {
        return Err(format!("output {o} reads only padding"));
    }
    let mut last = String::new();
    let mut rescaled: Option<AxisPlan> = None;
    for offset in 0.. {
        let p = pads.0 + offset * s;
        if p >= k {
            break;
        }
        let got = caffe_windows(h, k, s, p, kind);
        if got.len() < offset + want.len() {
            last = format!(
                "with pad {p} Caffe has {} windows, ONNX needs {} from {offset}",
                got.len(),
                want.len()
            );
            continue;
        }
        let got = &got[offset..offset + want.len()];
        match want.iter().zip(got).position(|(w, g)| (w.0, w.1) != (g.0, g.1)) {
            None => {
                let rescale = want
                    .iter()
                    .zip(got)
                    .map(|(w, g)| {
                        if kind == Kind::Max {
                            1.0
                        } else {
                            g.2 as f64 / w.2 as f64
                        }
                    })
                    .collect::<Vec<f64>>();
                let plan = AxisPlan {
                    pad: p,
                    offset,
                    count: want.len(),
                    rescale,
                };
                // A pad whose divisors are ONNX's too needs no Scale after.
                if plan.rescale.iter().all(|&r| r == 1.0) {
                    return Ok(plan);
                }
                rescaled.get_or_insert(plan);
            }
            Some(o) => {
                let (w, g) = (want[o], got[o]);
                last = format!(
                    "window {o} reads rows {}..{} in ONNX, {}..{} in Caffe (pad {p})",
                    w.0, w.1, g.0, g.1
                )
            }
        }
    }
    rescaled.ok_or(last)
}

/// Caffe's Pooling with explicit kernel, stride and pad per axis.
fn pooling_param(
    kind: Kind,
    kernel: impl AsRef<[usize]>,
    strides: impl AsRef<[usize]>,
    pads: [usize; 2],
) -> PoolingParameter {
    let (k, s) = (kernel.as_ref(), strides.as_ref());
    PoolingParameter {
        pool: Some(if kind == Kind::Max {
            PoolMethod::Max
        } else {
            PoolMethod::Ave
        } as i32),
        kernel_h: Some(k[0] as u32),
        kernel_w: Some(k[1] as u32),
        stride_h: Some(s[0] as u32),
        stride_w: Some(s[1] as u32),
        pad_h: Some(pads[0] as u32),
        pad_w: Some(pads[1] as u32),
        ..Default::default()
    }
}

fn pool(cx: &mut Cx, node: &Node, kind: Kind) -> OpResult<Mapped> {
    node.arity(1, 1, None)?;
    if node.outputs().get(1).is_some_and(|o| !o.is_empty()) {
        refuse!("the Indices output has no Caffe form here (Caffe's Pooling mask indexes each plane, not the tensor)");
    }
    if let Value::Blob(b) = cx.value(node, 0)? {
        if b.rank() == 5 {
            let b = b.clone();
            return pool_depth(cx, node, kind, &b);
        }
    }
    let (x, extra) = match cx.value(node, 0)? {
        Value::Padded { source, pads, .. } if kind == Kind::Ave(true) => (source.clone(), Some(pads.clone())),
        _ => (nchw(cx, node, "Pooling")?, None),
    };
    let kernel = positive(
        node.ints("kernel_shape")
            .ok_or_else(|| crate::OpError::Invalid("no kernel_shape".into()))?,
        "kernel size",
    )?;
    if kernel.len() != 2 {
        refuse!("a {}-D pooling: Caffe's Pooling is 2-D", kernel.len());
    }
    let strides = positive(&ints_or(node, "strides", 2, 1)?, "stride")?;
    let dilations = positive(&ints_or(node, "dilations", 2, 1)?, "dilation")?;
    if dilations.iter().any(|&d| d != 1) {
        refuse!("dilations {dilations:?}: Caffe's Pooling has no dilation");
    }
    let ceil = node.int("ceil_mode", 0)? != 0;
    let mut pads = spatial_pads(node, &x.shape[2..], &kernel, &strides, &dilations)?;
    if let Some(extra) = &extra {
        for (i, p) in pads.iter_mut().enumerate() {
            p.0 += extra[i + 2].0;
            p.1 += extra[i + 2].1;
        }
    }
    let mut caffe_pads = [0usize; 2];
    let mut crops = Vec::new();
    let mut rescale = Vec::new();
    let mut full = vec![x.shape[0], x.shape[1], 0, 0];
    for i in 0..2 {
        let plan = solve_axis(x.shape[2 + i], kernel[i], strides[i], pads[i], ceil, kind).map_err(|why| {
            crate::OpError::Refuse(format!(
                "no Caffe Pooling computes these windows on axis {} (kernel {}, stride {}, pads {:?}, ceil_mode {}{}): {why}",
                2 + i,
                kernel[i],
                strides[i],
                pads[i],
                ceil as u8,
                match kind {
                    Kind::Ave(false) => ", count_include_pad 0: Caffe's AVE divides by the window inside the padded input",
                    _ => "",
                }
            ))
        })?;
        caffe_pads[i] = plan.pad;
        full[2 + i] = caffe_windows(x.shape[2 + i], kernel[i], strides[i], plan.pad, kind).len();
        crops.push((2 + i, plan.offset, plan.count));
        rescale.push(plan.rescale);
    }
    let merged = if extra.is_some() {
        ", the zero Pad before taken into its pads"
    } else {
        ""
    };
    let param = pooling_param(kind, kernel, strides, caffe_pads);
    if rescale.iter().flatten().any(|&r| r != 1.0) {
        // Caffe's mean divides by its own count; a Scale by Caffe's count
        // over ONNX's, per output position, gives ONNX's mean.
        let pooled = cx.part(node, "pooled", full);
        cx.layer(node, "", "Pooling", &[&x], &[&pooled], vec![], |l| {
            l.pooling_param = Some(param)
        });
        let cur = super::crop(cx, node, pooled, &crops, false);
        let factors = ndarray::Array2::from_shape_fn((rescale[0].len(), rescale[1].len()), |(i, j)| {
            (rescale[0][i] * rescale[1][j]) as f32
        });
        let out = cx.output_blob(node, 0, cur.shape.clone());
        cx.layer(
            node,
            "divisor",
            "Scale",
            &[&cur],
            &[&out],
            vec![factors.into_dyn()],
            |l| {
                l.scale_param = Some(caffe_io::proto::ScaleParameter {
                    axis: Some(2),
                    num_axes: Some(2),
                    ..Default::default()
                })
            },
        );
        return Mapped::composed(format!(
            "Pooling (Caffe's ceil rule) with pads {caffe_pads:?}, Slice crops to ONNX's windows, then a Scale by \
             Caffe's divisor over ONNX's per output (count_include_pad {}: within two roundings of ONNX's mean){merged}",
            (kind == Kind::Ave(true)) as u8
        ));
    }
    let top = main_top(cx, node, full, &crops);
    cx.layer(node, "", "Pooling", &[&x], &[&top], vec![], |l| {
        l.pooling_param = Some(param)
    });
    let cropped = crop_to_output(cx, node, top, &crops);
    if cropped {
        Mapped::composed(format!(
            "Pooling (Caffe's ceil rule) with pads {caffe_pads:?}, then Slice crops to ONNX's windows{merged}"
        ))
    } else {
        Mapped::exact(format!("Pooling with pads {caffe_pads:?}: the same windows{merged}"))
    }
}

/// A 3-D pooling whose window spans the first spatial axis only (kernel
/// (k, 1, 1), stride (s, 1, 1), no pads on H and W: how onnx-export writes
/// Caffe's cross-channel LRN): Reshape to (N, C, D, H*W), a 2-D Pooling
/// with kernel (k, 1), Reshape back. Exact where Caffe's windows are
/// ONNX's without a crop.
fn pool_depth(cx: &mut Cx, node: &Node, kind: Kind, x: &Blob) -> OpResult<Mapped> {
    let kernel = positive(
        node.ints("kernel_shape")
            .ok_or_else(|| crate::OpError::Invalid("no kernel_shape".into()))?,
        "kernel size",
    )?;
    let strides = positive(&ints_or(node, "strides", 3, 1)?, "stride")?;
    let dilations = positive(&ints_or(node, "dilations", 3, 1)?, "dilation")?;
    let pads = spatial_pads(node, &x.shape[2..], &kernel, &strides, &dilations)?;
    let ceil = node.int("ceil_mode", 0)? != 0;
    if kernel.len() != 3
        || kernel[1..] != [1, 1]
        || strides[1..] != [1, 1]
        || pads[1..] != [(0, 0), (0, 0)]
        || dilations.iter().any(|&d| d != 1)
    {
        refuse!(
            "a 3-D pooling (kernel {kernel:?}, strides {strides:?}): Caffe's Pooling is 2-D; only windows along the first \
             spatial axis are mapped"
        );
    }
    let (d, h, w) = (x.shape[2], x.shape[3], x.shape[4]);
    let plan = solve_axis(d, kernel[0], strides[0], pads[0], ceil, kind).map_err(crate::OpError::Refuse)?;
    let (p, n) = (plan.pad, plan.count);
    let full = caffe_windows(d, kernel[0], strides[0], p, kind).len();
    if plan.offset != 0 || n != full || plan.rescale.iter().any(|&r| r != 1.0) {
        refuse!("a 3-D pooling whose Caffe form would need a crop or a rescaled mean: not mapped");
    }
    let flat = cx.part(node, "as_2d", vec![x.shape[0], x.shape[1], d, h * w]);
    let reshape = |dims: Vec<usize>| super::reshape_param(dims.iter().map(|&v| v as i64));
    let flat_dims = flat.shape.clone();
    cx.layer(node, "as_2d", "Reshape", &[x], &[&flat], vec![], |l| {
        l.reshape_param = Some(reshape(flat_dims))
    });
    let pooled = cx.part(node, "pooled_2d", vec![x.shape[0], x.shape[1], n, h * w]);
    let param = pooling_param(kind, [kernel[0], 1], [strides[0], 1], [p, 0]);
    cx.layer(node, "pool", "Pooling", &[&flat], &[&pooled], vec![], |l| {
        l.pooling_param = Some(param)
    });
    let out = cx.output_blob(node, 0, vec![x.shape[0], x.shape[1], n, h, w]);
    let out_dims = out.shape.clone();
    cx.layer(node, "", "Reshape", &[&pooled], &[&out], vec![], |l| {
        l.reshape_param = Some(reshape(out_dims))
    });
    Mapped::composed(format!(
        "a window along axis 2 only: Reshape to 2-D, Pooling with kernel ({}, 1) and pad {p}, Reshape back",
        kernel[0]
    ))
}

pub fn max_pool(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    if node.int("storage_order", 0)? != 0 && node.outputs().len() > 1 {
        invalid!("storage_order applies to the Indices output");
    }
    if super::lift::is_1d(cx, node) {
        return super::lift::as_2d(cx, node, max_pool);
    }
    pool(cx, node, Kind::Max)
}

pub fn average_pool(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    let include = node.int("count_include_pad", 0)? != 0;
    if super::lift::is_1d(cx, node) {
        return super::lift::as_2d(cx, node, average_pool);
    }
    pool(cx, node, Kind::Ave(include))
}

/// A global Pooling of `x` to output 0 (also for ReduceMean/ReduceMax over
/// H and W with keepdims).
pub(crate) fn global(cx: &mut Cx, node: &Node, part: &str, x: &Blob, max: bool, out: &Blob) {
    let param = PoolingParameter {
        pool: Some(if max { PoolMethod::Max } else { PoolMethod::Ave } as i32),
        global_pooling: Some(true),
        ..Default::default()
    };
    cx.layer(node, part, "Pooling", &[x], &[out], vec![], |l| {
        l.pooling_param = Some(param)
    });
}

fn global_pool(cx: &mut Cx, node: &Node, max: bool) -> OpResult<Mapped> {
    node.arity(1, 1, Some(1))?;
    let x = nchw(cx, node, "Pooling")?;
    let out = cx.output_blob(node, 0, vec![x.shape[0], x.shape[1], 1, 1]);
    global(cx, node, "", &x, max, &out);
    Mapped::exact("Pooling with global_pooling")
}

pub fn global_average_pool(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    global_pool(cx, node, false)
}

pub fn global_max_pool(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    global_pool(cx, node, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_mode_with_pads_is_a_crop_of_caffes_ceil() {
        // 10 rows, kernel 3, stride 2, pad 1, floor: ONNX 5 windows, Caffe 6.
        let plan = solve_axis(10, 3, 2, (1, 1), false, Kind::Max).unwrap();
        assert_eq!((plan.pad, plan.offset, plan.count), (1, 0, 5));
        assert_eq!(caffe_windows(10, 3, 2, 1, Kind::Max).len(), 6);
    }

    #[test]
    fn excluded_pads_rescale_the_windows_that_touch_them() {
        // 8 rows, kernel 3, stride 2, pad 1: window 0 reads rows 0..2, which
        // Caffe divides by 3 (it counts the pad) and ONNX by 2.
        let plan = solve_axis(8, 3, 2, (1, 1), false, Kind::Ave(false)).unwrap();
        assert_eq!(plan.rescale, [1.5, 1.0, 1.0, 1.0]);
        // No padding at all: both divisors are the window inside the input.
        let plan = solve_axis(9, 3, 2, (0, 0), true, Kind::Ave(false)).unwrap();
        assert!(plan.rescale.iter().all(|&r| r == 1.0));
    }

    #[test]
    fn included_pads_with_ceil_overhang_match_caffe() {
        // Caffe's divisor stops at H + pad, as ONNX's count_include_pad does.
        assert!(solve_axis(9, 3, 2, (1, 1), true, Kind::Ave(true)).is_ok());
    }
}
