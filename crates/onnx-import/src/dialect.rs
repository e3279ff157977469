//! The Caffe a model is written for: which layer types (and which of their
//! fields) the importer may emit. `caffe1` is what every Caffe reads (BVLC
//! Caffe 1.0, every fork, OpenCV's importer, NNIE's mapper); the others add
//! the layers of one build, and `nnie` also lints the limits of HiSilicon's
//! mapper.

use std::fmt;
use std::str::FromStr;

/// A target Caffe dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Dialect {
    /// Caffe 1.0's layers and fields, minus what OpenCV's importer lacks
    /// (`Bias`): what BVLC Caffe, every fork, OpenCV and NNIE all run.
    #[default]
    Caffe1,
    /// BVLC master: Caffe 1.0 plus `Clip`, `Swish` and Pooling's
    /// `round_mode` (OpenCV cannot load these: its field 13 and 148 differ).
    Bvlc,
    /// The SSD fork (weiliu89/caffe): Caffe 1.0 plus `Permute`, `Normalize`,
    /// `PriorBox`, `DetectionOutput`.
    Ssd,
    /// OpenCV's `opencv-caffe.proto`: the SSD layers plus `ReLU6`, `Interp`,
    /// `ShuffleChannel`, Pooling's `ceil_mode`.
    OpenCv,
    /// HiSilicon NNIE ("based on Caffe 1.0"): Caffe 1.0 plus `Upsample`,
    /// `PassThrough`, `Normalize`, `ROIPooling`, `Permute` with order
    /// (0, 2, 3, 1) only; 4-D blobs, at most 16 outputs.
    Nnie,
}

impl Dialect {
    /// Every dialect, in the order the help text lists them.
    pub const ALL: [Dialect; 5] = [
        Dialect::Caffe1,
        Dialect::Bvlc,
        Dialect::Ssd,
        Dialect::OpenCv,
        Dialect::Nnie,
    ];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::Caffe1 => "caffe1",
            Dialect::Bvlc => "bvlc",
            Dialect::Ssd => "ssd",
            Dialect::OpenCv => "opencv",
            Dialect::Nnie => "nnie",
        }
    }

    /// True when the dialect has `Permute` (with any order; NNIE's takes
    /// only (0, 2, 3, 1), see [`Dialect::permute_allowed`]).
    pub fn has_permute(self) -> bool {
        matches!(self, Dialect::Ssd | Dialect::OpenCv | Dialect::Nnie)
    }

    /// True when `order` may be written as a `Permute` layer.
    pub fn permute_allowed(self, order: &[usize]) -> bool {
        match self {
            Dialect::Ssd | Dialect::OpenCv => true,
            Dialect::Nnie => order == [0, 2, 3, 1],
            _ => false,
        }
    }

    /// True when the dialect has `ReLU6` (OpenCV's).
    pub fn has_relu6(self) -> bool {
        self == Dialect::OpenCv
    }

    /// True when the dialect's consumers run Caffe's `ArgMax` (OpenCV's
    /// importer has no such layer, so neither `opencv` nor `caffe1` do).
    pub fn has_argmax(self) -> bool {
        matches!(self, Dialect::Bvlc | Dialect::Ssd | Dialect::Nnie)
    }

    /// True when the dialect has BVLC master's `Clip`.
    pub fn has_clip(self) -> bool {
        self == Dialect::Bvlc
    }

    /// The largest blob rank the dialect's consumers run.
    pub fn max_rank(self) -> usize {
        match self {
            Dialect::Nnie => 4,
            _ => usize::MAX,
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Dialect {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Dialect::ALL.into_iter().find(|d| d.name() == s).ok_or_else(|| {
            let names: Vec<_> = Dialect::ALL.iter().map(|d| d.name()).collect();
            format!("unknown dialect '{s}' (known: {})", names.join(", "))
        })
    }
}
