//! Size limits for untrusted model files, each raisable by its user.
//!
//! Lengths are already checked against the bytes that exist before anything is
//! allocated; these limits bound what a *well-formed* but hostile (or mistaken)
//! file can ask for: a 40 GB weight file, a prototxt nested ten thousand levels
//! deep, a million layers, or a shape whose product is astronomic. The defaults
//! are far above real models (VGG-16's largest blob, fc6, has 103 M elements;
//! Caffe itself refuses weight files over 2 GiB) so they only stop mistakes.

use std::fmt;

/// The limits a reader enforces. `Limits::default()` fits every real model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest number of elements in one blob (weights or activations).
    pub max_blob_elements: u64,
    /// Largest total size of all weight blobs of a model, in bytes.
    pub max_weight_bytes: u64,
    /// Deepest `{ ... }` nesting in a prototxt.
    pub max_text_depth: usize,
    /// Largest number of layers in a net.
    pub max_layers: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_blob_elements: 1 << 30,
            max_weight_bytes: 8 << 30,
            max_text_depth: 64,
            max_layers: 100_000,
        }
    }
}

impl Limits {
    /// No limits at all (for trusted files; lengths are still checked).
    pub fn none() -> Self {
        Limits {
            max_blob_elements: u64::MAX,
            max_weight_bytes: u64::MAX,
            max_text_depth: usize::MAX,
            max_layers: usize::MAX,
        }
    }
}

/// Which limit was exceeded: names the field of [`Limits`] and the command-line
/// option that raises it, so an error can say what to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    BlobElements,
    WeightBytes,
    TextDepth,
    Layers,
}

impl Limit {
    /// The [`Limits`] field.
    pub fn field(self) -> &'static str {
        match self {
            Limit::BlobElements => "max_blob_elements",
            Limit::WeightBytes => "max_weight_bytes",
            Limit::TextDepth => "max_text_depth",
            Limit::Layers => "max_layers",
        }
    }

    /// The `netsurgeon` option that raises it.
    pub fn option(self) -> &'static str {
        match self {
            Limit::BlobElements => "--max-blob-elements",
            Limit::WeightBytes => "--max-weight-bytes",
            Limit::TextDepth => "--max-text-depth",
            Limit::Layers => "--max-layers",
        }
    }

    /// The current value of this limit in `limits`.
    pub fn value(self, limits: &Limits) -> u64 {
        match self {
            Limit::BlobElements => limits.max_blob_elements,
            Limit::WeightBytes => limits.max_weight_bytes,
            Limit::TextDepth => limits.max_text_depth as u64,
            Limit::Layers => limits.max_layers as u64,
        }
    }

    fn what(self) -> &'static str {
        match self {
            Limit::BlobElements => "elements in one blob",
            Limit::WeightBytes => "bytes of weights",
            Limit::TextDepth => "levels of nesting",
            Limit::Layers => "layers",
        }
    }
}

/// The tail of every limit error: the limit, and how to raise it if the file is genuine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exceeded {
    pub limit: Limit,
    /// The value found (or reached, when reading stopped there).
    pub found: u64,
    pub max: u64,
}

impl fmt::Display for Exceeded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} exceeds the limit of {}; if the file is genuine, raise the limit with {} N (library: Limits::{})",
            self.found,
            self.limit.what(),
            self.max,
            self.limit.option(),
            self.limit.field()
        )
    }
}

impl Limits {
    /// `Err` when `found` is over `limit`.
    pub fn check(&self, limit: Limit, found: u64) -> Result<(), Exceeded> {
        let max = limit.value(self);
        if found > max {
            Err(Exceeded { limit, found, max })
        } else {
            Ok(())
        }
    }
}
