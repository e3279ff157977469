//! Weights that stay where they are: [`Payloads`] maps initializer names to
//! bytes borrowed from the caller (e.g. a net's parameter arrays), while the
//! `ModelProto` holds only each initializer's name, type and dims. The writer
//! splices the borrowed bytes into the file, so exporting a borrowed net costs
//! neither a copy of its weights in memory nor the time to make one.

use std::collections::HashMap;

use bytes::Bytes;
use ndarray::ArrayViewD;

use crate::onnx::tensor_proto::DataLocation;
use crate::onnx::{ModelProto, TensorProto};

/// Initializer payloads borrowed for the lifetime `'a`, by initializer name.
#[derive(Debug, Default, Clone)]
pub struct Payloads<'a> {
    by_name: HashMap<String, &'a [u8]>,
}

impl<'a> Payloads<'a> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `bytes` (little-endian, C order) as the data of initializer
    /// `name`; replaces an earlier entry for the name.
    pub fn insert(&mut self, name: &str, bytes: &'a [u8]) {
        self.by_name.insert(name.to_string(), bytes);
    }

    /// The bytes of `name`'s f32 data when they can be borrowed as they are:
    /// a contiguous C-order array on a little-endian host.
    pub fn f32_bytes(array: &ArrayViewD<'a, f32>) -> Option<&'a [u8]> {
        if !cfg!(target_endian = "little") {
            return None;
        }
        // `to_slice` keeps the view's lifetime `'a` (unlike `as_slice`).
        array.to_slice().map(bytemuck::cast_slice)
    }

    pub fn get(&self, name: &str) -> Option<&'a [u8]> {
        self.by_name.get(name).copied()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Total payload bytes.
    pub fn total_bytes(&self) -> u64 {
        self.by_name.values().map(|b| b.len() as u64).sum()
    }

    /// The payload for `tensor`, if it is a header-only initializer with one.
    pub(crate) fn for_tensor(&self, tensor: &TensorProto) -> Option<&'a [u8]> {
        if tensor.raw_data.is_some() || tensor.data_location() == DataLocation::External {
            return None;
        }
        self.get(tensor.name())
    }

    /// Copies every payload into its initializer's `raw_data`, making `model`
    /// self-contained (e.g. to run it in memory).
    pub fn fill(&self, model: &mut ModelProto) {
        if let Some(graph) = model.graph.as_mut() {
            for tensor in &mut graph.initializer {
                if let Some(bytes) = self.for_tensor(tensor) {
                    tensor.raw_data = Some(Bytes::copy_from_slice(bytes));
                }
            }
        }
    }
}
