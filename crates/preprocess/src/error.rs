//! The one error type of caffe-preprocess: a bad image names its file and what
//! is wrong with it, a bad setting names the setting, and nothing panics.

use std::path::{Path, PathBuf};

/// Errors of caffe-preprocess.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file could not be read.
    #[error("{}: {action}: {source}", path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },

    /// The bytes are not an image this crate reads (JPEG and PNG), or a kind of
    /// JPEG/PNG it does not handle (e.g. CMYK JPEG).
    #[error("{}: unsupported image: {detail}", path.display())]
    Unsupported { path: PathBuf, detail: String },

    /// The file claims to be a JPEG or PNG but cannot be decoded.
    #[error("{}: corrupt {format} image: {detail}", path.display())]
    Corrupt {
        path: PathBuf,
        format: &'static str,
        detail: String,
    },

    /// The image header declares dimensions over the configured
    /// [`crate::Limits`]; nothing was allocated for the pixels.
    #[error("{}: image too large: {detail}", path.display())]
    TooLarge { path: PathBuf, detail: String },

    /// A [`crate::Transformer`] setting does not fit the net input it is for.
    #[error("transformer setting {setting}: {message}")]
    Setting { setting: &'static str, message: String },

    /// An array given to a function has a shape it cannot work with.
    #[error("{what}: {message}")]
    Shape { what: &'static str, message: String },

    /// A file could not be written (PNG output) or read through caffe-io
    /// (a `.binaryproto` mean).
    #[error(transparent)]
    CaffeIo(#[from] caffe_io::Error),
}

impl Error {
    pub(crate) fn io(path: &Path, action: &'static str, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            action,
            source,
        }
    }

    pub(crate) fn unsupported(path: &Path, detail: impl Into<String>) -> Self {
        Error::Unsupported {
            path: path.to_path_buf(),
            detail: detail.into(),
        }
    }

    pub(crate) fn corrupt(path: &Path, format: &'static str, detail: impl Into<String>) -> Self {
        Error::Corrupt {
            path: path.to_path_buf(),
            format,
            detail: detail.into(),
        }
    }

    pub(crate) fn setting(setting: &'static str, message: impl Into<String>) -> Self {
        Error::Setting {
            setting,
            message: message.into(),
        }
    }

    pub(crate) fn shape(what: &'static str, message: impl Into<String>) -> Self {
        Error::Shape {
            what,
            message: message.into(),
        }
    }

    /// The file the error is about, if it is about a file.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Error::Io { path, .. }
            | Error::Unsupported { path, .. }
            | Error::Corrupt { path, .. }
            | Error::TooLarge { path, .. } => Some(path),
            Error::CaffeIo(e) => Some(e.path()),
            Error::Setting { .. } | Error::Shape { .. } => None,
        }
    }
}

/// Result with caffe-preprocess's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
