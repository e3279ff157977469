//! The error type of netsurgeon-runtime. tract reports errors as `anyhow` chains;
//! they are kept as text with their whole context chain ("{:#}"), since the
//! innermost cause (e.g. which node failed to type) is the useful part.

use std::path::PathBuf;

/// Errors of netsurgeon-runtime.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// tract could not read or translate the ONNX model.
    #[error("{origin}: tract cannot load the model: {detail}")]
    Load { origin: String, detail: String },

    /// tract panicked on the model (a malformed model that tract does not
    /// check); the model is refused.
    #[error("{origin}: tract cannot {stage} the model (tract panicked: {message}); the model is malformed or uses a form tract does not handle")]
    Panic {
        origin: String,
        stage: &'static str,
        message: String,
    },

    /// An input name given to the session is not an input of the model.
    #[error("'{name}' is not an input of the model (inputs: {})", known.join(", "))]
    UnknownInput { name: String, known: Vec<String> },

    /// A tensor asked for as an output is not produced by the model.
    #[error("no tensor named '{name}' in the model")]
    UnknownTensor { name: String },

    /// An input of the model was not given.
    #[error("input '{name}' is missing")]
    MissingInput { name: String },

    /// Ordered inputs do not match the model's input count.
    #[error("the model has {expected} inputs, {got} were given")]
    InputCount { expected: usize, got: usize },

    /// tract failed while typing, optimizing or planning the model.
    #[error("tract cannot {stage} the model: {detail}")]
    Prepare { stage: &'static str, detail: String },

    /// tract failed while running the model.
    #[error("tract failed to run the model: {detail}")]
    Run { detail: String },

    /// tract panicked while running the model: an input value out of what the
    /// model can take (an Embed index past its table) or a form tract mishandles.
    #[error(
        "tract failed to run the model (tract panicked: {message}); check the input values (e.g. an Embed \
         layer's indices must lie within its input_dim)"
    )]
    RunPanic { message: String },

    /// An output could not be turned into an f32 array.
    #[error("output '{name}': {detail}")]
    Output { name: String, detail: String },

    /// A reference file could not be read.
    #[error("{}: {action}: {source}", path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: std::io::Error,
    },

    /// A reference `.npy` file is not a float array.
    #[error("{}: {message}", path.display())]
    Npy { path: PathBuf, message: String },
}

/// Formats a tract (anyhow) error with its context chain.
pub(crate) fn detail(e: impl std::fmt::Display) -> String {
    format!("{e:#}")
}

/// Result with netsurgeon-runtime's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
