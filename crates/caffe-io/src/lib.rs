//! Read and write Caffe models exactly as BVLC Caffe does.
//!
//! This crate knows bytes and Caffe's schema, nothing of graphs: it turns
//! `.prototxt`, `.caffemodel`, `.binaryproto` and `.npy` files into the prost
//! types of [`proto`] and back, upgrading legacy (V0/V1) nets on the way in.
//!
//! ```no_run
//! let net = caffe_io::read_prototxt("deploy.prototxt")?;
//! let weights = caffe_io::read_caffemodel("weights.caffemodel")?;
//! for layer in &weights.layer {
//!     for blob in &layer.blobs {
//!         println!("{} {:?}", layer.name(), caffe_io::blob::blob_shape(blob));
//!     }
//! }
//! caffe_io::write_prototxt("copy.prototxt", &net)?;
//! # Ok::<(), caffe_io::Error>(())
//! ```

pub mod binary;
pub mod blob;
pub mod dialect;
mod error;
pub mod fs;
pub mod kept;
pub mod limits;
pub mod npy;
pub mod print;
pub mod text;
pub mod upgrade;

pub mod proto {
    //! Plain prost types generated from `proto/caffe.proto`.
    #![allow(clippy::all, missing_docs)]
    include!(concat!(env!("OUT_DIR"), "/caffe.rs"));
    include!(concat!(env!("OUT_DIR"), "/caffe_extra.rs"));
}

use std::io::BufReader;
use std::path::Path;

pub use error::{Error, Location, Result};
pub use limits::{Limit, Limits};
pub use npy::{read_npy_f32, read_npy_i64, write_npy_f32};
pub use proto::{BlobProto, LayerParameter, NetParameter};
pub use text::DESCRIPTOR_SET;

use ndarray::ArrayD;

/// Reads a `.prototxt` and upgrades legacy forms as Caffe does on load.
pub fn read_prototxt(path: impl AsRef<Path>) -> Result<NetParameter> {
    Reader::default().read_prototxt(path)
}

/// Parses prototxt text (`path` names it in errors) and upgrades it.
pub fn parse_prototxt(text: &str, path: impl AsRef<Path>) -> Result<NetParameter> {
    Reader::default().parse_prototxt(text, path)
}

/// Reads a `.caffemodel`, streaming each weight blob from the file into its own
/// buffer, then upgrades legacy forms and checks every blob's size.
pub fn read_caffemodel(path: impl AsRef<Path>) -> Result<NetParameter> {
    Reader::default().read_caffemodel(path)
}

/// Reads a `.caffemodel` of `len` bytes from any reader (e.g. one that reports
/// progress), streaming as [`read_caffemodel`] does; `path` names it in errors.
pub fn read_caffemodel_from<R: std::io::Read>(reader: R, len: u64, path: impl AsRef<Path>) -> Result<NetParameter> {
    Reader::default().read_caffemodel_from(reader, len, path)
}

/// Decodes `.caffemodel` bytes held in memory (`path` names them in errors).
pub fn decode_caffemodel(bytes: &[u8], path: impl AsRef<Path>) -> Result<NetParameter> {
    Reader::default().decode_caffemodel(bytes, path)
}

/// Reads model files under chosen [`Limits`]; the free functions of this
/// crate use `Reader::default()`, whose limits fit every real model.
///
/// ```no_run
/// let reader = caffe_io::Reader::new(caffe_io::Limits {
///     max_weight_bytes: 16 << 30,
///     ..Default::default()
/// });
/// let weights = reader.read_caffemodel("huge.caffemodel")?;
/// # Ok::<(), caffe_io::Error>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Reader {
    pub limits: Limits,
}

impl Reader {
    pub fn new(limits: Limits) -> Self {
        Reader { limits }
    }

    /// As [`read_prototxt`].
    pub fn read_prototxt(&self, path: impl AsRef<Path>) -> Result<NetParameter> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, "read", e))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let offset = e.utf8_error().valid_up_to();
            Error::Text {
                path: path.to_path_buf(),
                location: Location::Byte(offset as u64),
                message: "the file is not UTF-8 text; a prototxt is protobuf text format \
                          (is this a binary .caffemodel? give it with --weights)"
                    .to_string(),
            }
        })?;
        self.parse_prototxt(&text, path)
    }

    /// As [`parse_prototxt`].
    pub fn parse_prototxt(&self, text: &str, path: impl AsRef<Path>) -> Result<NetParameter> {
        let path = path.as_ref();
        let mut net = text::parse_net(text, path, &self.limits)?;
        upgrade::upgrade_net(&mut net, path)?;
        Ok(net)
    }

    /// As [`read_caffemodel`].
    pub fn read_caffemodel(&self, path: impl AsRef<Path>) -> Result<NetParameter> {
        let path = path.as_ref();
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, "open", e))?;
        let len = file.metadata().map_err(|e| Error::io(path, "stat", e))?.len();
        self.read_caffemodel_from(file, len, path)
    }

    /// As [`read_caffemodel_from`].
    pub fn read_caffemodel_from<R: std::io::Read>(
        &self,
        reader: R,
        len: u64,
        path: impl AsRef<Path>,
    ) -> Result<NetParameter> {
        let path = path.as_ref();
        let net = binary::read_net(BufReader::with_capacity(1 << 20, reader), len, path, &self.limits)?;
        finish_weights(net, path)
    }

    /// As [`decode_caffemodel`].
    pub fn decode_caffemodel(&self, bytes: &[u8], path: impl AsRef<Path>) -> Result<NetParameter> {
        let path = path.as_ref();
        let net = binary::decode_net(bytes, path, &self.limits)?;
        finish_weights(net, path)
    }

    /// As [`read_binaryproto`].
    pub fn read_binaryproto(&self, path: impl AsRef<Path>) -> Result<ArrayD<f32>> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, "read", e))?;
        let blob = binary::decode_blob(&bytes, path, &self.limits)?;
        blob::blob_into_array(blob).map_err(|e| Error::invalid(path, Location::File, e.to_string()))
    }
}

fn finish_weights(mut net: NetParameter, path: &Path) -> Result<NetParameter> {
    upgrade::upgrade_net(&mut net, path)?;
    if net.layer.is_empty() {
        return Err(Error::invalid(
            path,
            Location::File,
            "holds no layers: the file is empty or is not a Caffe weight file",
        ));
    }
    for (index, layer) in net.layer.iter().enumerate() {
        for (i, b) in layer.blobs.iter().enumerate() {
            blob::check_blob(b).map_err(|e| {
                Error::invalid(
                    path,
                    Location::Layer {
                        index,
                        name: layer.name().to_string(),
                    },
                    format!("blob {i}: {e}"),
                )
            })?;
        }
    }
    Ok(net)
}

/// Writes `net` as Caffe-style prototxt (weights left out), atomically.
pub fn write_prototxt(path: impl AsRef<Path>, net: &NetParameter) -> Result<()> {
    let text = print::net_to_prototxt(net);
    fs::write_atomic(path.as_ref(), |w| std::io::Write::write_all(w, text.as_bytes()))
}

/// Writes `net` with its weight blobs as a binary `.caffemodel`, atomically,
/// streaming the weights from memory to disk.
pub fn write_caffemodel(path: impl AsRef<Path>, net: &NetParameter) -> Result<()> {
    fs::write_atomic(path.as_ref(), |w| binary::write_net(net, w))
}

/// Writes a `.caffemodel` whose layer `i` (of `net.layer`) holds the blobs
/// `blobs(i, layer)`: weights kept outside the `NetParameter` (e.g. as arrays)
/// are streamed to disk without a second copy. Written atomically.
pub fn write_caffemodel_with<'a, F>(path: impl AsRef<Path>, net: &NetParameter, blobs: F) -> Result<()>
where
    F: Fn(usize, &LayerParameter) -> Vec<binary::BlobRef<'a>>,
{
    fs::write_atomic(path.as_ref(), |w| binary::write_net_with(net, blobs, w))
}

/// Reads a `.binaryproto` blob (e.g. `imagenet_mean.binaryproto`) as an array.
pub fn read_binaryproto(path: impl AsRef<Path>) -> Result<ArrayD<f32>> {
    Reader::default().read_binaryproto(path)
}

/// Writes an array as a `.binaryproto` blob (legacy 4-D fields for 4-D arrays,
/// as Caffe's own mean files), atomically.
pub fn write_binaryproto(path: impl AsRef<Path>, array: ndarray::ArrayViewD<'_, f32>) -> Result<()> {
    let mut blob = blob::array_to_blob(array.view());
    if array.ndim() == 4 {
        let s = array.shape();
        blob.num = Some(s[0] as i32);
        blob.channels = Some(s[1] as i32);
        blob.height = Some(s[2] as i32);
        blob.width = Some(s[3] as i32);
        blob.shape = None;
    }
    fs::write_atomic(path.as_ref(), |w| binary::write_blob(&blob, w))
}

/// Reads a mean file: `.npy` (e.g. `ilsvrc_2012_mean.npy`) or `.binaryproto`.
/// A binaryproto mean of shape (1, C, H, W) is returned as (C, H, W), as
/// pycaffe's `blobproto_to_array(...)[0]`.
pub fn read_mean(path: impl AsRef<Path>) -> Result<ArrayD<f32>> {
    let path = path.as_ref();
    let is_npy = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("npy"));
    if is_npy {
        return read_npy_f32(path);
    }
    let mean = read_binaryproto(path)?;
    if mean.ndim() == 4 && mean.shape()[0] == 1 {
        let shape = mean.shape()[1..].to_vec();
        // Dropping a leading axis of 1 keeps the element count: cannot fail.
        Ok(mean.into_shape_with_order(shape).expect("same element count"))
    } else {
        Ok(mean)
    }
}
