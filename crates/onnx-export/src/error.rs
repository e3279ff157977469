//! The one error type of onnx-export: each variant names the tensor, node or
//! file it is about, so that a failure deep in a 200-layer export still says
//! where it happened.

use std::path::{Path, PathBuf};

/// Errors of onnx-export.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A tensor name was defined twice (ONNX graphs are in SSA form: each value
    /// has exactly one producer).
    #[error("tensor '{name}' is defined twice (by {first} and by {second})")]
    DuplicateTensor {
        name: String,
        first: String,
        second: String,
    },

    /// A node reads a tensor that nothing has defined yet.
    #[error("node '{node}' ({op_type}) reads tensor '{name}', which is not defined yet")]
    UnknownTensor {
        name: String,
        node: String,
        op_type: String,
    },

    /// A graph output names a tensor that nothing defines.
    #[error("graph output '{name}' is not defined by any input, initializer or node")]
    UnknownOutput { name: String },

    /// The requested opset is outside the range this exporter knows the IR
    /// version of.
    #[error("ONNX opset {opset} is not supported (supported: {min} to {max})")]
    UnsupportedOpset { opset: i64, min: i64, max: i64 },

    /// A tensor's data does not match its declared shape or type.
    #[error("tensor '{name}': {message}")]
    InvalidTensor { name: String, message: String },

    /// The model would exceed protobuf's 2 GB message limit when written
    /// without external data.
    #[error(
        "{}: the model encodes to {bytes} bytes, over protobuf's 2 GB limit; write it with external data",
        path.display()
    )]
    TooLarge { path: PathBuf, bytes: u64 },

    /// A file could not be created, written, read or renamed.
    #[error("{}: {action}: {source}", path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },

    /// An ONNX file is not a valid `onnx.ModelProto`.
    #[error("{}: not a valid ONNX model: {source}", path.display())]
    Decode {
        path: PathBuf,
        #[source]
        source: prost::DecodeError,
    },

    /// A Caffe layer (or one of its settings) has no ONNX export.
    #[error("layer '{layer}' ({type_name}): cannot export to ONNX: {message}")]
    Unsupported {
        layer: String,
        type_name: String,
        message: String,
    },

    /// The export options do not fit the net (e.g. symbolic dims asked for
    /// an input the net does not have).
    #[error("export options: {message}")]
    Options { message: String },

    /// The net could not answer a question the export asked (e.g. a blob
    /// whose shape depends on a database).
    #[error(transparent)]
    Net(Box<graph_ir::Error>),

    /// A tensor's external data reference is malformed or points outside the
    /// model's directory or past the end of its file.
    #[error("{}: tensor '{tensor}': external data: {message}", path.display())]
    ExternalData {
        path: PathBuf,
        tensor: String,
        message: String,
    },
}

impl Error {
    pub(crate) fn io(path: &Path, action: &'static str, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            action,
            source,
        }
    }
}

// Boxed: graph-ir's error is large and every builder call returns this type.
impl From<graph_ir::Error> for Error {
    fn from(e: graph_ir::Error) -> Self {
        Error::Net(Box::new(e))
    }
}

/// Result with onnx-export's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
