//! The one error type of caffe-io: every variant names the file it is about and
//! where in it the problem lies, because a user with a 200 MB model cannot
//! bisect it by hand.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where in a file something went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Location {
    /// A text file position, 1-based.
    LineColumn { line: usize, column: usize },
    /// A binary file position: the byte offset from the start of the file.
    Byte(u64),
    /// A layer of the net, by index and name.
    Layer { index: usize, name: String },
    /// Nowhere more precise than the file itself.
    File,
}

/// Written right after the file name: `net.prototxt:3:7`, `w.caffemodel: byte 12`.
impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::LineColumn { line, column } => write!(f, ":{line}:{column}"),
            Location::Byte(offset) => write!(f, ": byte {offset}"),
            Location::Layer { index, name } => write!(f, ": layer {index} '{name}'"),
            Location::File => Ok(()),
        }
    }
}

/// Errors of caffe-io.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be opened, read or written.
    #[error("{}: {action}: {source}", path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },

    /// A `.prototxt` is not valid protobuf text format for `caffe.NetParameter`.
    #[error("{}{location}: {message}", path.display())]
    Text {
        path: PathBuf,
        location: Location,
        message: String,
    },

    /// A binary protobuf file (`.caffemodel`, `.binaryproto`) is malformed.
    #[error("{}{location}: {context}{message}", path.display())]
    Binary {
        path: PathBuf,
        location: Location,
        /// The message being decoded, e.g. "layer 3 'fc6', blob 0: ".
        context: String,
        message: String,
    },

    /// A net or blob is well-formed protobuf but not a valid Caffe model.
    #[error("{}{location}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        location: Location,
        message: String,
    },

    /// The file exceeds one of the reader's [`Limits`](crate::Limits).
    #[error("{}{location}: {context}{exceeded}", path.display())]
    Limit {
        path: PathBuf,
        location: Location,
        /// What was being read, e.g. "layer 3 'fc6', blob 0: ".
        context: String,
        exceeded: crate::limits::Exceeded,
    },

    /// An `.npy` file could not be read or written as float32.
    #[error("{}: {message}", path.display())]
    Npy { path: PathBuf, message: String },
}

impl Error {
    pub(crate) fn io(path: &Path, action: &'static str, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            action,
            source,
        }
    }

    pub(crate) fn invalid(path: &Path, location: Location, message: impl Into<String>) -> Self {
        Error::Invalid {
            path: path.to_path_buf(),
            location,
            message: message.into(),
        }
    }

    /// The file the error is about.
    pub fn path(&self) -> &Path {
        match self {
            Error::Io { path, .. }
            | Error::Text { path, .. }
            | Error::Binary { path, .. }
            | Error::Invalid { path, .. }
            | Error::Limit { path, .. }
            | Error::Npy { path, .. } => path,
        }
    }
}

/// Result with caffe-io's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
