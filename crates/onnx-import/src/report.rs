//! What became of every ONNX node: the Caffe layers it became and how.

use std::fmt;

/// How a node was brought to Caffe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum How {
    /// One Caffe layer that computes the same (up to float rounding where
    /// the note says so).
    Exact,
    /// Several Caffe layers whose composition computes the same.
    Composed,
    /// No layer: the node is the identity at inference (Dropout, Identity).
    Removed,
    /// Computed at import: all its inputs were constants (or shapes).
    Folded,
    /// Merged into the layer of a later node (a zero Pad into a Conv).
    Merged,
    /// Layers that compute an approximation, within the node's measured
    /// `max_error` (only with `ImportOptions::allow_approximate`).
    Approximate,
    /// No exact form in the dialect.
    Refused,
}

impl How {
    /// The word the report uses.
    pub fn as_str(self) -> &'static str {
        match self {
            How::Exact => "exact",
            How::Composed => "exact composition",
            How::Removed => "removed",
            How::Folded => "folded",
            How::Merged => "merged",
            How::Approximate => "approximate",
            How::Refused => "refused",
        }
    }
}

impl fmt::Display for How {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One node's entry.
#[derive(Debug, Clone)]
pub struct NodeReport {
    pub node: String,
    pub op_type: String,
    pub how: How,
    /// The Caffe layers it became, in order.
    pub layers: Vec<String>,
    /// What is worth knowing (the rule applied, the reason for a refusal).
    pub note: String,
    /// For an approximate node: the largest absolute difference from the
    /// ONNX op, measured over its input range.
    pub max_error: Option<f64>,
}

/// Every node of the graph, in graph order.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub nodes: Vec<NodeReport>,
}

impl Report {
    /// The entries of one kind.
    pub fn with(&self, how: How) -> impl Iterator<Item = &NodeReport> {
        self.nodes.iter().filter(move |n| n.how == how)
    }
}
