//! The ONNX op types the importer maps, by name: each op's mapping lives in
//! its module under `ops/` and is registered here with one line.

use std::collections::HashMap;

use crate::cx::Cx;
use crate::error::OpResult;
use crate::node::Node;
use crate::report::How;

/// What a mapping did: how, and a note for the report (the rule applied).
#[derive(Debug, Clone)]
pub struct Mapped {
    pub how: How,
    pub note: String,
}

impl Mapped {
    /// One exact layer.
    pub fn exact(note: impl Into<String>) -> OpResult<Mapped> {
        Ok(Mapped {
            how: How::Exact,
            note: note.into(),
        })
    }

    /// An exact composition of layers.
    pub fn composed(note: impl Into<String>) -> OpResult<Mapped> {
        Ok(Mapped {
            how: How::Composed,
            note: note.into(),
        })
    }

    /// An approximation (the node's error is given by `Cx::approximate`).
    pub fn approximate(note: impl Into<String>) -> OpResult<Mapped> {
        Ok(Mapped {
            how: How::Approximate,
            note: note.into(),
        })
    }

    /// No layer: the identity.
    pub fn removed(note: impl Into<String>) -> OpResult<Mapped> {
        Ok(Mapped {
            how: How::Removed,
            note: note.into(),
        })
    }

    /// Kept for a later node to merge.
    pub fn merged(note: impl Into<String>) -> OpResult<Mapped> {
        Ok(Mapped {
            how: How::Merged,
            note: note.into(),
        })
    }
}

/// An op mapping: reads the node's inputs from the context, emits layers,
/// defines the node's outputs.
pub type MapFn = fn(&mut Cx, &Node) -> OpResult<Mapped>;

/// The op types the importer maps, by ONNX op type (default domain).
#[derive(Clone)]
pub struct OnnxOpRegister {
    ops: HashMap<String, MapFn>,
}

impl std::fmt::Debug for OnnxOpRegister {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxOpRegister").field("ops", &self.op_types()).finish()
    }
}

impl OnnxOpRegister {
    /// No op at all.
    pub fn empty() -> Self {
        OnnxOpRegister { ops: HashMap::new() }
    }

    /// The built-in mappings.
    pub fn builtin() -> Self {
        let mut r = Self::empty();
        crate::ops::register(&mut r);
        r
    }

    /// Maps `op_type` with `map` (replacing a mapping of that name).
    pub fn insert(&mut self, op_type: &str, map: MapFn) {
        self.ops.insert(op_type.to_string(), map);
    }

    /// The mapping of `op_type`.
    pub fn get(&self, op_type: &str) -> Option<MapFn> {
        self.ops.get(op_type).copied()
    }

    /// Every op type mapped, sorted.
    pub fn op_types(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.ops.keys().map(String::as_str).collect();
        v.sort_unstable();
        v
    }
}

impl Default for OnnxOpRegister {
    fn default() -> Self {
        Self::builtin()
    }
}
