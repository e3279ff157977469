//! pycaffe's `caffe.io.resize_image(im, new_dims, interp_order=1)`.
//!
//! For 1- or 3-channel images pycaffe min-max normalises the image to [0, 1],
//! calls `skimage.transform.resize(im_std, new_dims, order=1, mode='constant')`
//! and scales back; a constant image is returned filled with its value. The
//! skimage call is, in every skimage version from 0.13 to 0.26 (read in their
//! sources: `warp` with `bilinear_interpolation` up to 0.18, `ndi.zoom(...,
//! grid_mode=True)` with mode 'grid-constant' since 0.19):
//!
//! - pixel centres aligned: output pixel `i` samples the input at
//!   `(i + 0.5) * in / out - 0.5` along each axis;
//! - bilinear between the 4 neighbours `floor`/`ceil` of that position;
//! - a neighbour outside the image reads as `cval = 0`, i.e. as the image's
//!   minimum once scaled back: edge pixels of an upsampled image are pulled
//!   towards the minimum (e.g. 2 -> 4 pixels gives weights 0.75/0.25 against
//!   the zero border at the outermost output pixels).
//!
//! The one difference between skimage versions is anti-aliasing, since pycaffe
//! does not pass `anti_aliasing`: skimage <= 0.14 does none, skimage >= 0.15
//! (`anti_aliasing=True`/`None` by default) first blurs every downsampled axis
//! with a Gaussian of sigma `(in / out - 1) / 2` (truncated at 4 sigma, zero
//! outside, as `ndi.gaussian_filter(mode='constant')`). [`AntiAliasing`]
//! selects either; the default is `Off`, the skimage that BVLC Caffe's
//! `io.py` was written against (its `imread(..., as_grey=...)` keyword was
//! removed in skimage 0.16).
//!
//! Images with other channel counts go through
//! `scipy.ndimage.zoom(im, scale + (1,), order=1)`: corner-aligned
//! (`i * (in - 1) / (out - 1)`), no normalisation, no border effect.
//!
//! Rounding follows today's numpy/scipy/skimage dtypes (float32 image in,
//! float32 out of skimage, float32 rescale; float64 throughout for a float64
//! mean image), so results are bit-identical to pycaffe's `io.py` run with
//! skimage 0.26 and scipy 1.17, with and without anti-aliasing (tests/
//! transform.rs). skimage <= 0.18 interpolated in float64 and may differ from
//! that by one float32 ulp.

use ndarray::{Array3, ArrayView3, Axis};

use crate::error::{Error, Result};

/// Whether `skimage.transform.resize` smooths before downsampling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AntiAliasing {
    /// skimage <= 0.14 (and any skimage called with `anti_aliasing=False`).
    #[default]
    Off,
    /// skimage >= 0.15 defaults: Gaussian prefilter on downsampled axes.
    Gaussian,
}

/// Options of [`resize_image`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ResizeOptions {
    pub anti_aliasing: AntiAliasing,
}

/// Resizes an HxWxK image to `new_dims = (height, width)` as
/// `caffe.io.resize_image(im, new_dims)` (bilinear, see the module docs).
pub fn resize_image(im: ArrayView3<'_, f32>, new_dims: (usize, usize), options: ResizeOptions) -> Result<Array3<f32>> {
    let (h, w, k) = im.dim();
    let (out_h, out_w) = new_dims;
    if h == 0 || w == 0 || k == 0 {
        return Err(Error::shape(
            "resize_image",
            format!("cannot resize an empty {h}x{w}x{k} image"),
        ));
    }
    if out_h == 0 || out_w == 0 {
        return Err(Error::shape(
            "resize_image",
            format!("cannot resize to an empty {out_h}x{out_w} image"),
        ));
    }
    if k != 1 && k != 3 {
        // ndimage.zoom of a float32 array computes in float64, returns float32.
        return Ok(zoom_linear(im.mapv(f64::from).view(), new_dims).mapv(|v| v as f32));
    }
    // numpy's min/max propagate NaN; `max > min` is then false and pycaffe
    // fills the result with the (NaN) minimum. fold reproduces that.
    let im_min = im.iter().copied().fold(f32::INFINITY, nan_min);
    let im_max = im.iter().copied().fold(f32::NEG_INFINITY, nan_max);
    #[allow(clippy::neg_cmp_op_on_partial_ord)] // NaN must take the constant branch
    if !(im_max > im_min) {
        return Ok(Array3::from_elem((out_h, out_w, k), im_min));
    }
    // `(im - im_min) / (im_max - im_min)` in float32, as numpy computes it.
    let range = im_max - im_min;
    let std = im.mapv(|v| f64::from((v - im_min) / range));
    let resized = skimage_resize(std, new_dims, options, true);
    // skimage returns float32 for float32 input; pycaffe then computes
    // `resized_std * (im_max - im_min) + im_min` in float32.
    Ok(resized.mapv(|v| (v as f32) * range + im_min))
}

/// `resize_image` of a float64 HxWxK array, as `Transformer.set_mean` calls it
/// on a mean image: the arithmetic stays in float64 until the final
/// `.astype(np.float32)`.
pub(crate) fn resize_image_f64(
    im: ArrayView3<'_, f64>,
    new_dims: (usize, usize),
    options: ResizeOptions,
) -> Array3<f32> {
    let (_, _, k) = im.dim();
    if k != 1 && k != 3 {
        return zoom_linear(im, new_dims).mapv(|v| v as f32);
    }
    let im_min = im.iter().copied().fold(f64::INFINITY, f64::min);
    let im_max = im.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if im_max <= im_min {
        return Array3::from_elem((new_dims.0, new_dims.1, k), im_min as f32);
    }
    let range = im_max - im_min;
    let std = im.mapv(|v| (v - im_min) / range);
    skimage_resize(std, new_dims, options, false).mapv(|v| (v * range + im_min) as f32)
}

/// `skimage.transform.resize(std, new_dims, order=1, mode='constant')` of an
/// image already in [0, 1], in float64.
/// `float32` tells whether skimage sees a float32 array (pycaffe's images)
/// or float64 (pycaffe's mean images).
fn skimage_resize(
    std: Array3<f64>,
    (out_h, out_w): (usize, usize),
    options: ResizeOptions,
    float32: bool,
) -> Array3<f64> {
    let (h, w, k) = std.dim();
    let std = match options.anti_aliasing {
        AntiAliasing::Off => std,
        AntiAliasing::Gaussian => {
            // sigma = max(0, (factor - 1) / 2) per axis; the channel axis has
            // factor 1 and is never blurred.
            let blurred = gaussian_blur_axis(std.view(), Axis(0), (h as f64 / out_h as f64 - 1.0) / 2.0, float32);
            gaussian_blur_axis(blurred.view(), Axis(1), (w as f64 / out_w as f64 - 1.0) / 2.0, float32)
        }
    };
    let rows = axis_weights(h, out_h);
    let cols = axis_weights(w, out_w);
    let mut out = Array3::<f64>::zeros((out_h, out_w, k));
    for (oy, ry) in rows.iter().enumerate() {
        for (ox, rx) in cols.iter().enumerate() {
            for c in 0..k {
                let mut acc = 0.0f64;
                for &(y, wy) in &ry.taps {
                    for &(x, wx) in &rx.taps {
                        acc += wy * wx * std[[y, x, c]];
                    }
                }
                out[[oy, ox, c]] = acc;
            }
        }
    }
    out
}

fn nan_min(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() {
        f32::NAN
    } else {
        a.min(b)
    }
}

fn nan_max(a: f32, b: f32) -> f32 {
    if a.is_nan() || b.is_nan() {
        f32::NAN
    } else {
        a.max(b)
    }
}

/// The input taps of one output pixel along one axis: (index, weight), with
/// out-of-image neighbours (which read as 0) left out.
struct Taps {
    taps: Vec<(usize, f64)>,
}

/// skimage's mapping `src = (i + 0.5) * in / out - 0.5`, bilinear between
/// `floor(src)` and `ceil(src)` (one tap when `src` is an integer).
fn axis_weights(n_in: usize, n_out: usize) -> Vec<Taps> {
    let factor = n_in as f64 / n_out as f64;
    (0..n_out)
        .map(|i| {
            let src = factor * (i as f64 + 0.5) - 0.5;
            let lo = src.floor();
            let frac = src - lo;
            let mut taps = Vec::with_capacity(2);
            let mut push = |index: f64, weight: f64| {
                if weight != 0.0 && index >= 0.0 && index < n_in as f64 {
                    taps.push((index as usize, weight));
                }
            };
            if frac == 0.0 {
                push(lo, 1.0);
            } else {
                push(lo, 1.0 - frac);
                push(lo + 1.0, frac);
            }
            Taps { taps }
        })
        .collect()
}

/// `scipy.ndimage.gaussian_filter1d(..., sigma, mode='constant', cval=0,
/// truncate=4.0)` along one axis; scipy skips sigmas
/// <= 1e-15. Summed as scipy's `correlate1d` does for a symmetric kernel
/// (centre, then `(x[i - j] + x[i + j]) * w[j]`), and, for a float32 image,
/// rounded to float32 as scipy's output array of the input's dtype is: results
/// then match skimage >= 0.19 to the last bit.
fn gaussian_blur_axis(a: ndarray::ArrayView3<'_, f64>, axis: Axis, sigma: f64, float32: bool) -> Array3<f64> {
    if sigma <= 1e-15 {
        return a.to_owned();
    }
    let radius = (4.0 * sigma + 0.5) as usize;
    // `_gaussian_kernel1d`: exp(-0.5 / sigma2 * x ** 2), normalised by its sum.
    let sigma2 = sigma * sigma;
    let full: Vec<f64> = (-(radius as isize)..=radius as isize)
        .map(|x| (-0.5 / sigma2 * (x * x) as f64).exp())
        .collect();
    let sum: f64 = full.iter().sum();
    // Half kernel: weight[j] for offset +-j.
    let weight: Vec<f64> = full[radius..].iter().map(|v| v / sum).collect();
    let mut out = Array3::<f64>::zeros(a.raw_dim());
    for (src, mut dst) in a.lanes(axis).into_iter().zip(out.lanes_mut(axis)) {
        let n = src.len();
        let at = |i: isize| {
            if (0..n as isize).contains(&i) {
                src[i as usize]
            } else {
                0.0
            }
        };
        for i in 0..n {
            let mut acc = src[i] * weight[0];
            for (j, w) in weight.iter().enumerate().skip(1) {
                let j = j as isize;
                acc += (at(i as isize - j) + at(i as isize + j)) * w;
            }
            dst[i] = if float32 { f64::from(acc as f32) } else { acc };
        }
    }
    out
}

/// `scipy.ndimage.zoom(im, (out_h / h, out_w / w, 1), order=1)`: bilinear,
/// corner-aligned, no normalisation.
fn zoom_linear(im: ArrayView3<'_, f64>, (out_h, out_w): (usize, usize)) -> Array3<f64> {
    let (h, w, k) = im.dim();
    let coords = |n_in: usize, n_out: usize| -> Vec<(usize, usize, f64)> {
        // zoom = (in - 1) / (out - 1), or 1 for a single output pixel.
        let zoom = if n_out > 1 {
            (n_in - 1) as f64 / (n_out - 1) as f64
        } else {
            1.0
        };
        (0..n_out)
            .map(|i| {
                let src = (i as f64 * zoom).clamp(0.0, (n_in - 1) as f64);
                let lo = src.floor() as usize;
                let hi = (lo + 1).min(n_in - 1);
                (lo, hi, src - lo as f64)
            })
            .collect()
    };
    let rows = coords(h, out_h);
    let cols = coords(w, out_w);
    let mut out = Array3::<f64>::zeros((out_h, out_w, k));
    for (oy, &(y0, y1, fy)) in rows.iter().enumerate() {
        for (ox, &(x0, x1, fx)) in cols.iter().enumerate() {
            for c in 0..k {
                let p = |y: usize, x: usize| im[[y, x, c]];
                let top = (1.0 - fx) * p(y0, x0) + fx * p(y0, x1);
                let bottom = (1.0 - fx) * p(y1, x0) + fx * p(y1, x1);
                out[[oy, ox, c]] = (1.0 - fy) * top + fy * bottom;
            }
        }
    }
    out
}
