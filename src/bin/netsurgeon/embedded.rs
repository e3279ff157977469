//! The data `netsurgeon demo` carries inside the binary (about 4 MB), so the
//! demo runs from any directory and from an installed binary, and the small
//! parsers that read it from memory: nets and weights go through caffe-io's
//! in-memory entry points, images through `decode_image`, and the three
//! `.npy` arrays through [`npy_f64`] / [`npy_i64`] below (the library's npy
//! readers take paths; these arrays are ours and plain C-order numpy files).

use std::path::Path;

use anyhow::{bail, ensure, Context, Result};
use ndarray::ArrayD;
use netsurgeon::caffe_io;

macro_rules! fixture {
    ($path:literal) => {
        include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/", $path))
    };
}

macro_rules! fixture_text {
    ($path:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/", $path))
    };
}

/// The tutorial's one-layer net: a 5x5 convolution with 3 filters.
pub const CONV_PROTOTXT: &str = fixture_text!("models/net_surgery/conv.prototxt");
/// The tutorial's grey cat (480x360).
pub const CAT_GRAY_JPG: &[u8] = fixture!("images/cat_gray.jpg");
/// The tutorial's colour cat.
pub const CAT_JPG: &[u8] = fixture!("images/cat.jpg");
/// BVLC's CaffeNet deploy definition (its trained weights are 233 MB and not shipped).
pub const CAFFENET_PROTOTXT: &str = fixture_text!("models/bvlc_reference_caffenet/deploy.prototxt");
/// The ImageNet mean image, 3 x 256 x 256 float64 (BGR).
pub const ILSVRC_MEAN_NPY: &[u8] = fixture!("models/ilsvrc_2012_mean.npy");
/// LeNet trained on 28x28 digits (sklearn's digits, upscaled), and its weights.
pub const LENET_PROTOTXT: &str = fixture_text!("golden/digits/deploy.prototxt");
pub const LENET_CAFFEMODEL: &[u8] = fixture!("golden/digits/lenet_digits.caffemodel");
/// A 56x56 canvas holding four test digits (3, 7, 0, 5), 1 x 1 x 56 x 56 float32.
pub const DIGITS_CANVAS_NPY: &[u8] = fixture!("golden/digits/full_conv/input_56.npy");
/// Real Caffe's 8x8 argmax map of the full-conv LeNet on that canvas (int64).
pub const DIGITS_ARGMAX_NPY: &[u8] = fixture!("golden/digits/full_conv/argmax_map.npy");
/// Real Caffe's min and max of the designer-filter output (JSON).
pub const DESIGNER_JSON: &str = fixture_text!("golden/designer/designer.json");

/// Parses embedded prototxt text; `name` stands for the file in messages.
pub fn prototxt(text: &str, name: &str) -> Result<caffe_io::NetParameter> {
    Ok(caffe_io::parse_prototxt(text, embedded_path(name))?)
}

/// Decodes embedded caffemodel bytes.
pub fn caffemodel(bytes: &[u8], name: &str) -> Result<caffe_io::NetParameter> {
    Ok(caffe_io::decode_caffemodel(bytes, embedded_path(name))?)
}

/// Decodes an embedded image as `caffe.io.load_image(name, color)`.
pub fn image(bytes: &[u8], name: &str, color: bool) -> Result<ndarray::Array3<f32>> {
    let options = netsurgeon::caffe_preprocess::ImageOptions::default().color(color);
    Ok(netsurgeon::caffe_preprocess::decode_image(
        bytes,
        embedded_path(name),
        &options,
    )?)
}

/// How embedded files are named in messages: `<embedded>/cat.jpg`.
pub fn embedded_path(name: &str) -> std::path::PathBuf {
    Path::new("<embedded>").join(name)
}

/// A little-endian, C-order `.npy` array of float64 or float32, as float64.
pub fn npy_f64(bytes: &[u8], name: &str) -> Result<ArrayD<f64>> {
    let (descr, shape, data) = npy_parts(bytes).with_context(|| format!("{}", embedded_path(name).display()))?;
    let values: Vec<f64> = match descr.as_str() {
        "<f8" => data
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("chunk of 8")))
            .collect(),
        "<f4" => data
            .chunks_exact(4)
            .map(|c| f64::from(f32::from_le_bytes(c.try_into().expect("chunk of 4"))))
            .collect(),
        other => bail!(
            "{}: dtype {other} is not float32/float64",
            embedded_path(name).display()
        ),
    };
    from_values(shape, values, name)
}

/// A little-endian, C-order `.npy` array of int64.
pub fn npy_i64(bytes: &[u8], name: &str) -> Result<ArrayD<i64>> {
    let (descr, shape, data) = npy_parts(bytes).with_context(|| format!("{}", embedded_path(name).display()))?;
    ensure!(
        descr == "<i8",
        "{}: dtype {descr} is not int64",
        embedded_path(name).display()
    );
    let values = data
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().expect("chunk of 8")))
        .collect();
    from_values(shape, values, name)
}

fn from_values<T>(shape: Vec<usize>, values: Vec<T>, name: &str) -> Result<ArrayD<T>> {
    let n = values.len();
    ArrayD::from_shape_vec(shape.clone(), values)
        .with_context(|| format!("{}: {n} values for shape {shape:?}", embedded_path(name).display()))
}

/// Splits an `.npy` file into its dtype descriptor, shape and data bytes
/// (exactly as many as the shape needs). Only what numpy writes for a plain
/// C-order array is accepted.
fn npy_parts(bytes: &[u8]) -> Result<(String, Vec<usize>, &[u8])> {
    ensure!(bytes.starts_with(b"\x93NUMPY"), "not an .npy file");
    ensure!(bytes.len() >= 10, "truncated .npy header");
    let (header_len, start) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 => {
            ensure!(bytes.len() >= 12, "truncated .npy header");
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            )
        }
        v => bail!(".npy format version {v} is not supported"),
    };
    let header = bytes.get(start..start + header_len).context("truncated .npy header")?;
    let header = std::str::from_utf8(header).context(".npy header is not text")?;
    let field = |key: &str| -> Result<&str> {
        let at = header
            .find(&format!("'{key}':"))
            .with_context(|| format!(".npy header has no '{key}'"))?;
        Ok(header[at + key.len() + 3..].trim_start())
    };
    let descr = field("descr")?
        .strip_prefix('\'')
        .and_then(|s| s.split('\'').next())
        .context(".npy descr is not a string")?
        .to_string();
    ensure!(
        field("fortran_order")?.starts_with("False"),
        "Fortran-order .npy arrays are not supported"
    );
    let dims = field("shape")?
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .context(".npy shape is not a tuple")?;
    let shape = dims
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| d.parse::<usize>().context(".npy shape has a non-integer dimension"))
        .collect::<Result<Vec<_>>>()?;
    let item = match descr.as_str() {
        "<f8" | "<i8" => 8,
        "<f4" | "<i4" => 4,
        other => bail!(".npy dtype {other} is not supported"),
    };
    let need = shape
        .iter()
        .try_fold(item, |acc: usize, &d| acc.checked_mul(d))
        .context(".npy shape overflows")?;
    let data = &bytes[start + header_len..];
    ensure!(
        data.len() >= need,
        ".npy data holds {} bytes; its shape {shape:?} needs {need}",
        data.len()
    );
    Ok((descr, shape, &data[..need]))
}

/// Real Caffe's `(min, max)` of the designer-filter output.
pub fn designer_min_max() -> Result<(f64, f64)> {
    let v: serde_json::Value = serde_json::from_str(DESIGNER_JSON).context("designer.json")?;
    let get = |k: &str| {
        v[k].as_f64()
            .with_context(|| format!("designer.json has no number '{k}'"))
    };
    Ok((get("min")?, get("max")?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_arrays_parse() {
        let mean = npy_f64(ILSVRC_MEAN_NPY, "ilsvrc_2012_mean.npy").unwrap();
        assert_eq!(mean.shape(), &[3, 256, 256]);
        let canvas = npy_f64(DIGITS_CANVAS_NPY, "input_56.npy").unwrap();
        assert_eq!(canvas.shape(), &[1, 1, 56, 56]);
        let map = npy_i64(DIGITS_ARGMAX_NPY, "argmax_map.npy").unwrap();
        assert_eq!(map.shape(), &[8, 8]);
        assert!(map.iter().all(|&c| (0..10).contains(&c)));
        assert!(npy_f64(b"\x93NUMPY\x01\x00", "x.npy").is_err());
        assert!(npy_f64(&DIGITS_CANVAS_NPY[..200], "x.npy").is_err());
        let (lo, hi) = designer_min_max().unwrap();
        assert!(lo < 0.0 && hi > 0.0);
    }
}
