//! The error type of netsurgeon-render: an array it cannot draw names what it
//! is and why; a file that cannot be written names the file.

/// Errors of netsurgeon-render.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An array given to a function has a shape (or values) it cannot draw.
    #[error("{what}: {message}")]
    Shape { what: &'static str, message: String },

    /// The PNG file could not be written (the file is named inside).
    #[error(transparent)]
    Write(#[from] caffe_io::Error),
}

impl Error {
    pub(crate) fn shape(what: &'static str, message: impl Into<String>) -> Self {
        Error::Shape {
            what,
            message: message.into(),
        }
    }
}

/// Result with netsurgeon-render's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
