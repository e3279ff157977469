//! What can go wrong importing an ONNX model: the file, the model's form, a
//! node with no exact Caffe form (named, with the reason), or the Caffe net
//! built from it.

use std::fmt;
use std::path::PathBuf;

/// A node the importer cannot express exactly in the target dialect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The node's name (or `<op_type>_<index>` when it has none).
    pub node: String,
    /// Its ONNX op type.
    pub op_type: String,
    /// Why it has no exact Caffe form, and what would give it one.
    pub reason: String,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "node '{}' ({}): {}", self.node, self.op_type, self.reason)
    }
}

/// The refusals of one import, listed one per line.
#[derive(Debug, Clone)]
pub struct Refusals(pub Vec<Refusal>);

impl fmt::Display for Refusals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "  {r}")?;
        }
        Ok(())
    }
}

/// Errors of the ONNX importer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The ONNX file could not be read or decoded.
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: Box<onnx_export::Error>,
    },

    /// The model has no graph, an opset outside 7 to 21, or another defect of
    /// its form.
    #[error("the ONNX model {0}")]
    Model(String),

    /// A graph input has no static shape and none was given.
    #[error("graph input '{input}': {message}")]
    Input { input: String, message: String },

    /// A node is malformed (a missing input, an attribute out of range).
    #[error("node '{node}' ({op_type}): {message}")]
    Node {
        node: String,
        op_type: String,
        message: String,
    },

    /// Nodes with no exact form in the dialect: no file is written.
    #[error(
        "{} node(s) have no exact Caffe form in the '{dialect}' dialect; nothing was written:\n{refusals}",
        refusals.0.len()
    )]
    Refused { dialect: &'static str, refusals: Refusals },

    /// The Caffe net built does not set up in graph-ir (an importer bug: the
    /// message names the layer).
    #[error("the Caffe net built from the model does not set up: {0}")]
    Net(Box<graph_ir::Error>),

    /// A blob's Caffe shape differs from the ONNX shape it stands for (an
    /// importer bug: the message names the node).
    #[error("node '{node}' ({op_type}): {message} (an importer bug)")]
    ShapeMismatch {
        node: String,
        op_type: String,
        message: String,
    },
}

impl From<graph_ir::Error> for Error {
    fn from(e: graph_ir::Error) -> Self {
        Error::Net(Box::new(e))
    }
}

/// The importer's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why one op mapping did not map its node: a refusal (no exact form), or a
/// malformed node.
#[derive(Debug)]
pub enum OpError {
    /// No exact Caffe form in this dialect; the reason says why and the way on.
    Refuse(String),
    /// The node is malformed.
    Invalid(String),
}

/// A refusal with a formatted reason.
#[macro_export]
macro_rules! refuse {
    ($($arg:tt)*) => { return Err($crate::OpError::Refuse(format!($($arg)*))) };
}

/// A malformed node, with a formatted message.
#[macro_export]
macro_rules! invalid {
    ($($arg:tt)*) => { return Err($crate::OpError::Invalid(format!($($arg)*))) };
}

/// What an op mapping returns.
pub type OpResult<T = ()> = std::result::Result<T, OpError>;
