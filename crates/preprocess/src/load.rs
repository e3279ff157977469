//! Image loading as pycaffe's `caffe.io.load_image(filename, color)`:
//! `skimage.img_as_float(skimage.io.imread(filename, as_grey=not color))`,
//! then grey images get a channel axis (HxWx1), tiled to HxWx3 when `color`,
//! and RGBA loses its alpha. Values are in [0, 1] (uint8 / 255, uint16 / 65535,
//! each computed in float64 and rounded to float32, as numpy does).
//!
//! `skimage.io.imread` decodes with Pillow, so this module reproduces Pillow:
//! JPEG through libjpeg-turbo (see [`crate::jpeg`]), PNG through the `image`
//! crate, whose PNG decoding is lossless and so exact. Pillow's quirks kept:
//! 16-bit RGB(A) PNGs are reduced to their high byte (Pillow opens them as
//! 8-bit "RGB"), 16-bit grey stays 16-bit. EXIF orientation is not applied
//! (neither does Pillow's `Image.open`, nor skimage's imread since imageio v3).
//!
//! Where pycaffe has no sensible answer this crate picks one and says so:
//! grey+alpha images (pycaffe returns a useless HxWx2 array, and fails with
//! `color=False`) are read as grey with the alpha dropped; with `color=False`
//! an RGBA image is converted with its alpha ignored, as skimage <= 0.14's
//! `rgb2gray` did (newer skimage first blends it over white).
//!
//! Every decoder sees the header first and checks its dimensions against
//! [`Limits`] before allocating pixel memory, so a forged 60000x60000 header
//! fails fast instead of exhausting memory.

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader};
use ndarray::Array3;

use crate::error::{Error, Result};

/// Decoding limits, checked against an image's header before its pixels are
/// allocated. The defaults admit any real photograph: 16384 x 16384, and the
/// float32 HxWxC array returned at most 4 GiB (16384 x 16384 x 3 x 4 bytes is
/// 3 GiB).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted width in pixels.
    pub max_width: u32,
    /// Largest accepted height in pixels.
    pub max_height: u32,
    /// Largest accepted size in bytes of the float32 array that
    /// [`load_image`] returns (and so of every buffer behind it: the decoded
    /// 8- or 16-bit samples are at most half of it).
    pub max_alloc: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_width: 16384,
            max_height: 16384,
            max_alloc: 4 << 30,
        }
    }
}

impl Limits {
    /// Checks a header's dimensions; `channels` is what the decoder will
    /// produce (3 are assumed for the returned array, the largest case).
    pub(crate) fn check(&self, path: &Path, width: u64, height: u64, channels: usize) -> Result<()> {
        let too_large = |limit: String| Error::TooLarge {
            path: path.to_path_buf(),
            detail: format!(
                "{width}x{height} (width x height) with {channels} channel{}: {limit}",
                if channels == 1 { "" } else { "s" }
            ),
        };
        if width == 0 || height == 0 {
            return Err(Error::corrupt(
                path,
                "image",
                format!("header declares an empty {width}x{height} image"),
            ));
        }
        if width > u64::from(self.max_width) || height > u64::from(self.max_height) {
            return Err(too_large(format!(
                "at most {}x{} pixels are accepted (see caffe_preprocess::Limits)",
                self.max_width, self.max_height
            )));
        }
        // The returned array has 3 channels whenever the image is colour or
        // is loaded with color=true: bound that, the worst case.
        let bytes = width.saturating_mul(height).saturating_mul(3).saturating_mul(4);
        if bytes > self.max_alloc {
            return Err(too_large(format!(
                "its float32 array would take {bytes} bytes, more than max_alloc = {} \
                 (see caffe_preprocess::Limits)",
                self.max_alloc
            )));
        }
        Ok(())
    }
}

/// Decoded samples, before conversion to float.
pub(crate) enum Samples {
    U8(Vec<u8>),
    U16(Vec<u16>),
}

/// An image as decoded: `channels` is 1 (grey) or 3 (RGB); alpha is already
/// dropped, as `load_image` drops it.
pub(crate) struct Decoded {
    pub width: usize,
    pub height: usize,
    pub channels: usize,
    pub samples: Samples,
}

/// How [`load_image`] reads an image: pycaffe's `color` argument and the
/// decoding [`Limits`]. The default is pycaffe's `load_image(filename)`:
/// colour, default limits.
///
/// ```
/// use caffe_preprocess::{ImageOptions, Limits};
/// let grey = ImageOptions::grey(); // caffe.io.load_image(f, color=False)
/// let tight = ImageOptions::default().limits(Limits { max_width: 4096, max_height: 4096, ..Limits::default() });
/// assert!(!grey.color && tight.color);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageOptions {
    /// An HxWx3 RGB array (true, pycaffe's default) or an HxWx1 intensity
    /// array (false).
    pub color: bool,
    /// Checked against the image's header before its pixels are allocated.
    pub limits: Limits,
}

impl Default for ImageOptions {
    fn default() -> Self {
        ImageOptions {
            color: true,
            limits: Limits::default(),
        }
    }
}

impl ImageOptions {
    /// `caffe.io.load_image(filename, color=False)`: one intensity channel.
    pub fn grey() -> Self {
        ImageOptions {
            color: false,
            ..Self::default()
        }
    }

    /// Sets [`color`](Self::color).
    pub fn color(mut self, color: bool) -> Self {
        self.color = color;
        self
    }

    /// Sets the decoding [`limits`](Self::limits).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

/// Loads an image as pycaffe's `caffe.io.load_image(path, color)`: an HxWx3
/// RGB array (`options.color`, the default) or HxWx1 intensity array of
/// float32 in [0, 1].
///
/// ```no_run
/// use caffe_preprocess::{load_image, ImageOptions};
/// let cat = load_image("cat.jpg", &ImageOptions::default())?; // 360 x 480 x 3
/// let grey = load_image("cat.jpg", &ImageOptions::grey())?; // 360 x 480 x 1
/// # Ok::<(), caffe_preprocess::Error>(())
/// ```
pub fn load_image(path: impl AsRef<Path>, options: &ImageOptions) -> Result<Array3<f32>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, "read", e))?;
    decode_image(&bytes, path, options)
}

/// Decodes image bytes held in memory (`path` names them in errors) as
/// [`load_image`] does.
pub fn decode_image(bytes: &[u8], path: impl AsRef<Path>, options: &ImageOptions) -> Result<Array3<f32>> {
    let decoded = decode_samples(bytes, path.as_ref(), &options.limits)?;
    Ok(to_float(decoded, options.color))
}

/// Decodes to 8/16-bit samples, choosing the decoder by the file's magic
/// bytes, not its name (as Pillow does).
pub(crate) fn decode_samples(bytes: &[u8], path: &Path, limits: &Limits) -> Result<Decoded> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return crate::jpeg::decode(bytes, path, limits);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return decode_png(bytes, path, limits);
    }
    let what = match image::guess_format(bytes) {
        Ok(format) => format!("{format:?} images are not read, only JPEG and PNG"),
        Err(_) if bytes.is_empty() => "the file is empty".to_string(),
        Err(_) => "not a JPEG or PNG file (unrecognised leading bytes)".to_string(),
    };
    Err(Error::unsupported(path, what))
}

fn decode_png(bytes: &[u8], path: &Path, limits: &Limits) -> Result<Decoded> {
    let corrupt = |e: image::ImageError| match e {
        image::ImageError::Limits(l) => Error::TooLarge {
            path: path.to_path_buf(),
            detail: format!("{l} (see caffe_preprocess::Limits)"),
        },
        image::ImageError::Unsupported(u) => Error::unsupported(path, u.to_string()),
        other => Error::corrupt(path, "PNG", other.to_string()),
    };
    let mut reader = ImageReader::new(Cursor::new(bytes));
    reader.set_format(ImageFormat::Png);
    let mut image_limits = image::Limits::default();
    // Dimensions are checked by `limits.check` below, once the header is
    // read, so that the error can name them; the decoder's own buffers (at
    // most 8 bytes a pixel, RGBA16) stay under the same byte budget.
    image_limits.max_image_width = None;
    image_limits.max_image_height = None;
    image_limits.max_alloc = Some(limits.max_alloc);
    reader.limits(image_limits);
    let decoder = reader.into_decoder().map_err(corrupt)?;
    let (width, height) = decoder.dimensions();
    let channels = decoder.color_type().channel_count() as usize;
    limits.check(path, width.into(), height.into(), channels)?;
    let image = DynamicImage::from_decoder(decoder).map_err(corrupt)?;
    let (width, height) = (width as usize, height as usize);
    let (channels, samples) = match image {
        DynamicImage::ImageLuma8(b) => (1, Samples::U8(b.into_raw())),
        DynamicImage::ImageLumaA8(b) => (1, Samples::U8(drop_alpha(b.as_raw(), 2))),
        DynamicImage::ImageRgb8(b) => (3, Samples::U8(b.into_raw())),
        DynamicImage::ImageRgba8(b) => (3, Samples::U8(drop_alpha(b.as_raw(), 4))),
        // Pillow opens 16-bit grey as "I;16": the full 16 bits survive.
        DynamicImage::ImageLuma16(b) => (1, Samples::U16(b.into_raw())),
        // Pillow opens 16-bit grey+alpha and RGB(A) as 8-bit "RGBA"/"RGB",
        // keeping each sample's high byte.
        DynamicImage::ImageLumaA16(b) => (1, Samples::U8(high_bytes(&drop_alpha(b.as_raw(), 2)))),
        DynamicImage::ImageRgb16(b) => (3, Samples::U8(high_bytes(b.as_raw()))),
        DynamicImage::ImageRgba16(b) => (3, Samples::U8(high_bytes(&drop_alpha(b.as_raw(), 4)))),
        other => {
            return Err(Error::unsupported(
                path,
                format!("PNG decoded as {:?}, which is not read", other.color()),
            ))
        }
    };
    Ok(Decoded {
        width,
        height,
        channels,
        samples,
    })
}

/// Keeps the first `stride - 1` samples of every `stride`.
fn drop_alpha<T: Copy>(samples: &[T], stride: usize) -> Vec<T> {
    samples
        .chunks_exact(stride)
        .flat_map(|px| px[..stride - 1].iter().copied())
        .collect()
}

fn high_bytes(samples: &[u16]) -> Vec<u8> {
    samples.iter().map(|&v| (v >> 8) as u8).collect()
}

/// skimage's `img_as_float` (x / max in float64), the `as_grey` conversion
/// (`rgb2gray`: 0.2125 R + 0.7154 G + 0.0721 B on those floats), then
/// pycaffe's `.astype(np.float32)` and channel handling.
fn to_float(decoded: Decoded, color: bool) -> Array3<f32> {
    let Decoded {
        width,
        height,
        channels,
        samples,
    } = decoded;
    let unit: Vec<f64> = match samples {
        Samples::U8(v) => v.iter().map(|&x| f64::from(x) / 255.0).collect(),
        Samples::U16(v) => v.iter().map(|&x| f64::from(x) / 65535.0).collect(),
    };
    let out: Vec<f32> = match (channels, color) {
        (1, false) | (3, true) => unit.iter().map(|&x| x as f32).collect(),
        // np.tile(img, (1, 1, 3)) of the float32 intensity image.
        (1, true) => unit.iter().flat_map(|&x| [x as f32; 3]).collect(),
        // rgb2gray: `rgb @ [0.2125, 0.7154, 0.0721]` in float64, summed in order.
        _ => unit
            .chunks_exact(3)
            .map(|px| (px[0] * 0.2125 + px[1] * 0.7154 + px[2] * 0.0721) as f32)
            .collect(),
    };
    let out_channels = if color { 3 } else { 1 };
    // Every decoder returns width x height pixels of `channels` samples, and
    // each branch above maps a pixel to `out_channels` values.
    Array3::from_shape_vec((height, width, out_channels), out).expect("decoder output has the header's size")
}
