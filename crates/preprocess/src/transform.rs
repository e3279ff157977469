//! pycaffe's `caffe.io.Transformer` for one net input: the same settings, the
//! same checks, and `preprocess` / `deprocess` applying them in pycaffe's
//! order (resize, transpose, channel swap, raw scale, mean, input scale), with
//! numpy's arithmetic: float32 throughout, except the mean, which is kept in
//! float64 as `np.load` gives it, so `x -= mean` rounds once from float64.
//!
//! Mean images follow pycaffe since 2017 (commit bfc638d, "Fix: mean shape
//! incompatible with input shape"): a CxHxW mean whose HxW differs from the
//! input's is resized with `resize_image`, min-max normalised around the call.
//! The tutorials' alternative, `mean.mean(1).mean(1)` (a per-channel mean), is
//! [`channel_mean`].

use std::path::Path;

use ndarray::{Array1, Array3, Array4, ArrayView3, ArrayViewD, Axis, Ix3, Slice};
use ndarray_npy::{ViewNpyError, ViewNpyExt};

use crate::error::{Error, Result};
use crate::resize::{resize_image, resize_image_f64, ResizeOptions};

/// Preprocessing for one net input, as `caffe.io.Transformer({name: shape})`.
#[derive(Debug, Clone)]
pub struct Transformer {
    /// The input blob's shape, N x C x H x W.
    shape: [usize; 4],
    transpose: Option<[usize; 3]>,
    channel_swap: Option<Vec<usize>>,
    raw_scale: Option<f32>,
    /// Broadcastable to C x H x W: C x 1 x 1, C x H x W or 1 x H x W.
    mean: Option<Array3<f64>>,
    input_scale: Option<f32>,
    resize: ResizeOptions,
}

impl Transformer {
    /// A transformer for an input blob of shape N x C x H x W, e.g.
    /// `net.blobs['data'].data.shape`.
    pub fn new(input_shape: &[usize]) -> Result<Self> {
        let shape: [usize; 4] = input_shape.try_into().map_err(|_| {
            Error::setting(
                "input shape",
                format!("expected N x C x H x W (4 dimensions), got {input_shape:?}"),
            )
        })?;
        if shape[1..].contains(&0) {
            return Err(Error::setting(
                "input shape",
                format!("{input_shape:?} has an empty dimension"),
            ));
        }
        Ok(Transformer {
            shape,
            transpose: None,
            channel_swap: None,
            raw_scale: None,
            mean: None,
            input_scale: None,
            resize: ResizeOptions::default(),
        })
    }

    /// The input blob's shape this transformer was made for.
    pub fn input_shape(&self) -> [usize; 4] {
        self.shape
    }

    /// How images are resized (anti-aliasing: see [`crate::AntiAliasing`]).
    /// Set it before [`Transformer::set_mean`]: a mean image of another size
    /// is resized when it is set.
    pub fn set_resize_options(&mut self, options: ResizeOptions) {
        self.resize = options;
    }

    /// Order of the dimensions, e.g. `[2, 0, 1]` for HxWxC -> CxHxW.
    pub fn set_transpose(&mut self, order: [usize; 3]) -> Result<()> {
        if !is_permutation(&order, 3) {
            return Err(Error::setting(
                "transpose",
                format!("{order:?} is not a permutation of the 3 axes (0, 1, 2)"),
            ));
        }
        self.transpose = Some(order);
        Ok(())
    }

    /// Order to take the channels in after transposing, e.g. `[2, 1, 0]`
    /// for RGB -> BGR. pycaffe requires one entry per input channel.
    pub fn set_channel_swap(&mut self, order: &[usize]) -> Result<()> {
        let channels = self.shape[1];
        if order.len() != channels {
            return Err(Error::setting(
                "channel_swap",
                format!(
                    "{order:?} has {} entries but the input has {channels} channels \
                     (pycaffe: 'Channel swap needs to have the same number of dimensions as the input channels')",
                    order.len()
                ),
            ));
        }
        if !is_permutation(order, channels) {
            return Err(Error::setting(
                "channel_swap",
                format!("{order:?} is not a permutation of 0..{channels}"),
            ));
        }
        self.channel_swap = Some(order.to_vec());
        Ok(())
    }

    /// Scale applied before the mean, e.g. 255 for nets trained on [0, 255].
    pub fn set_raw_scale(&mut self, scale: f32) {
        self.raw_scale = Some(scale);
    }

    /// Scale applied after the mean.
    pub fn set_input_scale(&mut self, scale: f32) {
        self.input_scale = Some(scale);
    }

    /// The mean to subtract, as pycaffe's `set_mean`: a 1-D per-channel mean
    /// (C values), or a mean image (C x H' x W', or H' x W' for a 1-channel
    /// input). A mean image of another H' x W' is resized to the input's, as
    /// pycaffe does; its channels must match.
    pub fn set_mean(&mut self, mean: ArrayViewD<'_, f64>) -> Result<()> {
        let [_, c, h, w] = self.shape;
        let ms = mean.shape().to_vec();
        let mean3 = match ms.len() {
            1 => {
                if ms[0] != c {
                    return Err(Error::setting(
                        "mean",
                        format!("{} channel means for an input of {c} channels", ms[0]),
                    ));
                }
                mean.to_owned()
                    .into_shape_with_order((c, 1, 1))
                    .expect("1-D of length c")
            }
            2 | 3 => {
                let mut m = mean.to_owned();
                if ms.len() == 2 {
                    if c != 1 {
                        return Err(Error::setting(
                            "mean",
                            format!("a 2-D mean image {ms:?} only fits a 1-channel input; this input has {c}"),
                        ));
                    }
                    m = m.insert_axis(Axis(0));
                }
                let m = m.into_dimensionality::<Ix3>().expect("3-D");
                let (mc, mh, mw) = m.dim();
                if mc != c {
                    return Err(Error::setting(
                        "mean",
                        format!("mean image of shape {ms:?} has {mc} channels; the input has {c}"),
                    ));
                }
                if mh == 0 || mw == 0 {
                    return Err(Error::setting("mean", format!("mean image of shape {ms:?} is empty")));
                }
                if (mh, mw) == (h, w) {
                    m
                } else {
                    resize_mean(m.view(), (h, w), self.resize)
                }
            }
            n => {
                return Err(Error::setting(
                    "mean",
                    format!("shape {ms:?} has {n} dimensions: expected C (per-channel) or C x H x W (pycaffe: 'Mean shape invalid')"),
                ))
            }
        };
        self.mean = Some(mean3);
        Ok(())
    }

    /// The mean as it will be subtracted (C x 1 x 1 or C x H x W).
    pub fn mean(&self) -> Option<&Array3<f64>> {
        self.mean.as_ref()
    }

    /// Formats an H' x W' x K image (e.g. from [`crate::load_image`]) for the
    /// net: a K x H x W array when the transpose is `[2, 0, 1]`.
    pub fn preprocess(&self, image: ArrayView3<'_, f32>) -> Result<Array3<f32>> {
        let [_, _, h, w] = self.shape;
        let mut data = if (image.dim().0, image.dim().1) != (h, w) {
            resize_image(image, (h, w), self.resize)?
        } else {
            image.to_owned()
        };
        if let Some(order) = self.transpose {
            data = data.permuted_axes(order).as_standard_layout().into_owned();
        }
        if let Some(order) = &self.channel_swap {
            if data.dim().0 != order.len() {
                return Err(Error::shape(
                    "preprocess",
                    format!(
                        "channel swap {order:?} applies to the first axis after transposing, which has {} entries \
                         (is the transpose set? the image is {:?})",
                        data.dim().0,
                        image.shape()
                    ),
                ));
            }
            data = data.select(Axis(0), order);
        }
        if let Some(s) = self.raw_scale {
            data.mapv_inplace(|v| v * s);
        }
        if let Some(mean) = &self.mean {
            let m = mean.broadcast(data.raw_dim()).ok_or_else(|| {
                Error::shape(
                    "preprocess",
                    format!(
                        "mean of shape {:?} does not broadcast to the data's {:?} (is the transpose set?)",
                        mean.shape(),
                        data.shape()
                    ),
                )
            })?;
            data.zip_mut_with(&m, |v, &m| *v = (f64::from(*v) - m) as f32);
        }
        if let Some(s) = self.input_scale {
            data.mapv_inplace(|v| v * s);
        }
        Ok(data)
    }

    /// Inverts [`Transformer::preprocess`] (except the resize), for display:
    /// a K x H x W array (or 1 x K x H x W, one image of a batch) back to
    /// H x W x K. pycaffe's `deprocess` squeezes every length-1 axis, which
    /// breaks 1-channel inputs; here only a batch axis of 1 is dropped.
    pub fn deprocess(&self, data: ArrayViewD<'_, f32>) -> Result<Array3<f32>> {
        let data = match data.ndim() {
            3 => data,
            4 if data.shape()[0] == 1 => data.index_axis_move(Axis(0), 0),
            _ => {
                return Err(Error::shape(
                    "deprocess",
                    format!("expected K x H x W or 1 x K x H x W, got {:?}", data.shape()),
                ))
            }
        };
        let mut out = data.into_dimensionality::<Ix3>().expect("3-D").to_owned();
        if let Some(s) = self.input_scale {
            out.mapv_inplace(|v| v / s);
        }
        if let Some(mean) = &self.mean {
            let m = mean.broadcast(out.raw_dim()).ok_or_else(|| {
                Error::shape(
                    "deprocess",
                    format!(
                        "mean of shape {:?} does not broadcast to {:?}",
                        mean.shape(),
                        out.shape()
                    ),
                )
            })?;
            out.zip_mut_with(&m, |v, &m| *v = (f64::from(*v) + m) as f32);
        }
        if let Some(s) = self.raw_scale {
            out.mapv_inplace(|v| v / s);
        }
        if let Some(order) = &self.channel_swap {
            if out.dim().0 != order.len() {
                return Err(Error::shape(
                    "deprocess",
                    format!(
                        "channel swap {order:?} does not fit the first axis of {:?}",
                        out.shape()
                    ),
                ));
            }
            out = out.select(Axis(0), &argsort(order));
        }
        if let Some(order) = self.transpose {
            let inverse = argsort(&order);
            out = out
                .permuted_axes([inverse[0], inverse[1], inverse[2]])
                .as_standard_layout()
                .into_owned();
        }
        Ok(out)
    }
}

fn is_permutation(order: &[usize], n: usize) -> bool {
    let mut seen = vec![false; n];
    order.len() == n
        && order.iter().all(|&i| {
            if i >= n || seen[i] {
                return false;
            }
            seen[i] = true;
            true
        })
}

/// `np.argsort` of a permutation: its inverse.
fn argsort(order: &[usize]) -> Vec<usize> {
    let mut inverse = vec![0; order.len()];
    for (i, &o) in order.iter().enumerate() {
        inverse[o] = i;
    }
    inverse
}

/// pycaffe's mean resize: normalise to [0, 1] in float64, `resize_image` (its
/// result is float32), scale back in float64.
fn resize_mean(mean: ArrayView3<'_, f64>, dims: (usize, usize), options: ResizeOptions) -> Array3<f64> {
    let m_min = mean.iter().copied().fold(f64::INFINITY, f64::min);
    let m_max = mean.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (c, _, _) = mean.dim();
    if m_max <= m_min {
        // pycaffe divides by zero here and gets NaN; a constant mean is
        // resized to the same constant.
        return Array3::from_elem((c, dims.0, dims.1), m_min);
    }
    let range = m_max - m_min;
    let normal = mean.mapv(|v| (v - m_min) / range);
    let hwc = normal.view().permuted_axes([1, 2, 0]);
    let resized = resize_image_f64(hwc, dims, options);
    resized
        .permuted_axes([2, 0, 1])
        .as_standard_layout()
        .mapv(|v| f64::from(v) * range + m_min)
}

/// `mean.mean(1).mean(1)`: the per-channel mean of a C x H x W mean image, as
/// the pycaffe tutorials compute it for `set_mean`.
pub fn channel_mean(mean: ArrayView3<'_, f64>) -> Array1<f64> {
    let (c, h, w) = mean.dim();
    let n = (h * w) as f64;
    Array1::from_iter((0..c).map(|ch| mean.index_axis(Axis(0), ch).iter().sum::<f64>() / n))
}

/// Reads a mean file at full precision: `.npy` (float64 such as
/// `ilsvrc_2012_mean.npy`, or float32) or `.binaryproto` (float32 in the file;
/// a leading axis of 1 is dropped, as pycaffe's `blobproto_to_array(...)[0]`).
pub fn load_mean(path: impl AsRef<Path>) -> Result<ndarray::ArrayD<f64>> {
    let path = path.as_ref();
    let is_npy = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    if !is_npy {
        return Ok(caffe_io::read_mean(path)?.mapv(f64::from));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, "read", e))?;
    // Copy into 8-byte-aligned storage: viewing float64 needs alignment.
    let mut words = vec![0u64; bytes.len().div_ceil(8)];
    let aligned: &mut [u8] = &mut bytemuck::cast_slice_mut::<u64, u8>(&mut words)[..bytes.len()];
    aligned.copy_from_slice(&bytes);
    let aligned: &[u8] = aligned;
    let bad = |e: ViewNpyError| Error::unsupported(path, format!("not a float32/float64 .npy mean: {e}"));
    match ndarray::ArrayViewD::<f64>::view_npy(aligned) {
        Ok(v) => Ok(v.as_standard_layout().into_owned()),
        Err(ViewNpyError::WrongDescriptor(_)) => ndarray::ArrayViewD::<f32>::view_npy(aligned)
            .map(|v| v.mapv(f64::from))
            .map_err(bad),
        Err(e) => Err(bad(e)),
    }
}

/// pycaffe's `caffe.io.oversample`: from each H x W x K image, the 4 corner
/// crops and the centre crop of `crop_dims = (h, w)`, then the same 5
/// mirrored left-right: 10 crops per image, as (10 N) x h x w x K.
pub fn oversample(images: &[ArrayView3<'_, f32>], crop_dims: (usize, usize)) -> Result<Array4<f32>> {
    let Some(first) = images.first() else {
        return Err(Error::shape("oversample", "no images"));
    };
    let (ih, iw, k) = first.dim();
    let (ch, cw) = crop_dims;
    if ch == 0 || cw == 0 || ch > ih || cw > iw {
        return Err(Error::shape(
            "oversample",
            format!("crop {ch}x{cw} does not fit in the {ih}x{iw} image"),
        ));
    }
    // Corner crops, then the centre: `im_center = shape / 2.0` and
    // `center -/+ crop / 2.0`, truncated to int as numpy's assignment does.
    let mut starts = vec![(0, 0), (0, iw - cw), (ih - ch, 0), (ih - ch, iw - cw)];
    let centre = |n: usize, c: usize| {
        let lo = (n as f64 / 2.0 - c as f64 / 2.0) as usize;
        let hi = (n as f64 / 2.0 + c as f64 / 2.0) as usize;
        (lo, hi - lo)
    };
    let (y0, cy) = centre(ih, ch);
    let (x0, cx) = centre(iw, cw);
    if (cy, cx) != (ch, cw) {
        return Err(Error::shape(
            "oversample",
            format!("the centre crop of {ih}x{iw} would be {cy}x{cx}, not {ch}x{cw}"),
        ));
    }
    starts.push((y0, x0));
    let mut out = Array4::<f32>::zeros((10 * images.len(), ch, cw, k));
    for (n, im) in images.iter().enumerate() {
        if im.dim() != (ih, iw, k) {
            return Err(Error::shape(
                "oversample",
                format!(
                    "image {n} is {:?}, image 0 is {:?}: all must have one shape",
                    im.shape(),
                    first.shape()
                ),
            ));
        }
        for (i, &(y, x)) in starts.iter().enumerate() {
            let crop = im.slice_each_axis(|ax| match ax.axis.index() {
                0 => Slice::from(y..y + ch),
                1 => Slice::from(x..x + cw),
                _ => Slice::from(..),
            });
            out.index_axis_mut(Axis(0), 10 * n + i).assign(&crop);
            let mirrored = crop.slice_axis(Axis(1), Slice::from(..).step_by(-1));
            out.index_axis_mut(Axis(0), 10 * n + 5 + i).assign(&mirrored);
        }
    }
    Ok(out)
}
