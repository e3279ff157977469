//! netsurgeon: Caffe net surgery in Rust.
//!
//! Read Caffe models (`.prototxt` + `.caffemodel`), operate on them as pycaffe's
//! net-surgery tutorial does, and export them to ONNX checked with tract. This
//! facade re-exports the stage crates:
//!
//! - [`caffe_io`]: Caffe's file formats, read and written exactly.

pub use caffe_io;

/// The converter's version, as recorded in exported models.
pub const VERSION: &str = env!("NETSURGEON_VERSION");
