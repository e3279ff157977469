//! Blob-by-blob comparison of a run against a reference (Caffe's golden blobs
//! or a second run). Each blob gets the largest absolute difference and that
//! difference relative to the reference's largest magnitude,
//! `max|ours - ref| / max|ref|`: one tolerance then fits blobs of any scale,
//! from probabilities to raw conv activations in the hundreds.

use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;

use ndarray::{ArrayD, ArrayViewD};

use crate::error::{Error, Result};

/// The project's acceptance rule: `max|ours - ref| <= 1e-4 * max|ref|`.
pub const DEFAULT_TOLERANCE: f64 = 1e-4;

/// The outcome for one blob.
#[derive(Debug, Clone, PartialEq)]
pub enum BlobStatus {
    /// Both sides have the blob with the same shape.
    Compared {
        shape: Vec<usize>,
        /// `max|ours - ref|`; NaN if a NaN appears on one side only.
        max_abs: f64,
        /// `max|ref|` over finite values.
        max_ref: f64,
        /// `max_abs / max_ref` (0 when both are 0, infinite when only the
        /// reference is all zeros).
        rel: f64,
    },
    /// The shapes differ (no values compared).
    ShapeMismatch { ours: Vec<usize>, reference: Vec<usize> },
    /// The reference has the blob, our run does not.
    MissingOurs,
    /// Our run has the blob, the reference does not.
    MissingReference,
}

/// One line of a [`Report`].
#[derive(Debug, Clone, PartialEq)]
pub struct BlobReport {
    pub name: String,
    pub status: BlobStatus,
    pub passed: bool,
}

/// The comparison of every blob, in reference order then ours.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub blobs: Vec<BlobReport>,
    pub tolerance: f64,
}

impl Report {
    /// Whether every blob passed.
    pub fn passed(&self) -> bool {
        self.blobs.iter().all(|b| b.passed)
    }

    /// The blobs that failed.
    pub fn failures(&self) -> impl Iterator<Item = &BlobReport> {
        self.blobs.iter().filter(|b| !b.passed)
    }

    /// The compared blob with the largest relative error.
    pub fn worst(&self) -> Option<&BlobReport> {
        self.blobs
            .iter()
            .filter(|b| matches!(b.status, BlobStatus::Compared { .. }))
            .max_by(|a, b| rel(a).total_cmp(&rel(b)))
    }
}

fn rel(b: &BlobReport) -> f64 {
    match b.status {
        BlobStatus::Compared { rel, .. } if rel.is_nan() => f64::INFINITY,
        BlobStatus::Compared { rel, .. } => rel,
        _ => 0.0,
    }
}

/// The difference statistics of two arrays of the same shape:
/// `(max|ours - ref|, max|ref|)`. Positions where both sides are NaN, or both
/// the same infinity, count as equal.
pub fn max_errors(ours: ArrayViewD<'_, f32>, reference: ArrayViewD<'_, f32>) -> (f64, f64) {
    let mut max_abs = 0f64;
    let mut max_ref = 0f64;
    for (&a, &r) in ours.iter().zip(reference.iter()) {
        if r.is_finite() {
            max_ref = max_ref.max((r as f64).abs());
        }
        if a == r || (a.is_nan() && r.is_nan()) {
            continue;
        }
        let d = (a as f64 - r as f64).abs();
        if d.is_nan() {
            max_abs = f64::NAN;
        } else if !max_abs.is_nan() {
            max_abs = max_abs.max(d);
        }
    }
    (max_abs, max_ref)
}

fn compare_one(name: &str, ours: Option<&ArrayD<f32>>, reference: Option<&ArrayD<f32>>, tolerance: f64) -> BlobReport {
    let status = match (ours, reference) {
        (None, _) => BlobStatus::MissingOurs,
        (Some(_), None) => BlobStatus::MissingReference,
        (Some(a), Some(r)) if a.shape() != r.shape() => BlobStatus::ShapeMismatch {
            ours: a.shape().to_vec(),
            reference: r.shape().to_vec(),
        },
        (Some(a), Some(r)) => {
            let (max_abs, max_ref) = max_errors(a.view(), r.view());
            let rel = if max_abs == 0.0 {
                0.0
            } else if max_ref == 0.0 {
                f64::INFINITY
            } else {
                max_abs / max_ref
            };
            BlobStatus::Compared {
                shape: a.shape().to_vec(),
                max_abs,
                max_ref,
                rel,
            }
        }
    };
    let passed = match &status {
        // NaN compares false, so a one-sided NaN fails.
        BlobStatus::Compared { max_abs, max_ref, .. } => *max_abs <= tolerance * max_ref || *max_abs == 0.0,
        _ => false,
    };
    BlobReport {
        name: name.to_string(),
        status,
        passed,
    }
}

fn find<'a>(set: &'a [(String, ArrayD<f32>)], name: &str) -> Option<&'a ArrayD<f32>> {
    set.iter().find(|(n, _)| n == name).map(|(_, a)| a)
}

/// Compares two sets of named blobs (e.g. tract against a second runtime).
/// A blob on one side only is reported missing on the other.
pub fn compare(ours: &[(String, ArrayD<f32>)], reference: &[(String, ArrayD<f32>)], tolerance: f64) -> Report {
    let mut seen = HashSet::new();
    let mut blobs = Vec::new();
    for (name, r) in reference {
        if seen.insert(name.as_str()) {
            blobs.push(compare_one(name, find(ours, name), Some(r), tolerance));
        }
    }
    for (name, a) in ours {
        if seen.insert(name.as_str()) {
            blobs.push(compare_one(name, Some(a), None, tolerance));
        }
    }
    Report { blobs, tolerance }
}

/// The file name of blob `name` in a golden folder: '/' is written "__"
/// (GoogLeNet's "inception_3a/1x1" is `inception_3a__1x1.npy`).
pub fn blob_file_name(name: &str) -> String {
    format!("{}.npy", name.replace('/', "__"))
}

/// A golden folder of Caffe blobs, `<dir>/<blob name with '/' as "__">.npy`.
#[derive(Debug, Clone)]
pub struct GoldenDir {
    dir: PathBuf,
}

impl GoldenDir {
    /// A golden folder (not read until blobs are asked for).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        GoldenDir { dir: dir.into() }
    }

    /// The path of blob `name`'s file.
    pub fn path_of(&self, name: &str) -> PathBuf {
        self.dir.join(blob_file_name(name))
    }

    /// Reads blob `name`, or `None` if the folder has no file for it.
    pub fn load(&self, name: &str) -> Result<Option<ArrayD<f32>>> {
        let path = self.path_of(name);
        if !path.exists() {
            return Ok(None);
        }
        // caffe-io's reader: float32 as is, other dtypes as numpy's astype.
        caffe_io::read_npy_f32(&path).map(Some).map_err(|e| Error::Npy {
            path: path.clone(),
            message: e.to_string(),
        })
    }

    /// Compares our blobs with the golden ones. `names` lists the blobs that
    /// must be present on both sides (e.g. every blob of the Caffe net); with
    /// `None`, each of our blobs is looked up and a missing file is reported
    /// as missing in the reference.
    pub fn compare(&self, ours: &[(String, ArrayD<f32>)], names: Option<&[&str]>, tolerance: f64) -> Result<Report> {
        let mut blobs = Vec::new();
        let mut seen = HashSet::new();
        let wanted: Vec<&str> = match names {
            Some(names) => names.to_vec(),
            None => ours.iter().map(|(n, _)| n.as_str()).collect(),
        };
        for name in wanted {
            if !seen.insert(name) {
                continue;
            }
            let reference = self.load(name)?;
            blobs.push(compare_one(name, find(ours, name), reference.as_ref(), tolerance));
        }
        Ok(Report { blobs, tolerance })
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.blobs.iter().map(|b| b.name.len()).max().unwrap_or(0).max(4);
        writeln!(
            f,
            "{:<width$}  {:<16}  {:>12}  {:>12}  {:>10}  status",
            "blob", "shape", "max|diff|", "max|ref|", "rel"
        )?;
        for b in &self.blobs {
            let verdict = if b.passed { "ok" } else { "FAIL" };
            match &b.status {
                BlobStatus::Compared {
                    shape,
                    max_abs,
                    max_ref,
                    rel,
                } => writeln!(
                    f,
                    "{:<width$}  {:<16}  {:>12.3e}  {:>12.3e}  {:>10.2e}  {verdict}",
                    b.name,
                    shape_str(shape),
                    max_abs,
                    max_ref,
                    rel
                )?,
                BlobStatus::ShapeMismatch { ours, reference } => writeln!(
                    f,
                    "{:<width$}  {:<16}  {:>12}  {:>12}  {:>10}  {verdict}: shape {} vs reference {}",
                    b.name,
                    shape_str(ours),
                    "-",
                    "-",
                    "-",
                    shape_str(ours),
                    shape_str(reference)
                )?,
                BlobStatus::MissingOurs => writeln!(
                    f,
                    "{:<width$}  {:<16}  {:>12}  {:>12}  {:>10}  {verdict}: missing in our run",
                    b.name, "-", "-", "-", "-"
                )?,
                BlobStatus::MissingReference => writeln!(
                    f,
                    "{:<width$}  {:<16}  {:>12}  {:>12}  {:>10}  {verdict}: missing in the reference",
                    b.name, "-", "-", "-", "-"
                )?,
            }
        }
        let failed = self.failures().count();
        write!(
            f,
            "{} blobs, {} failed (pass: max|diff| <= {:e} * max|ref|)",
            self.blobs.len(),
            failed,
            self.tolerance
        )
    }
}

fn shape_str(shape: &[usize]) -> String {
    if shape.is_empty() {
        return "scalar".to_string();
    }
    shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("x")
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{arr1, arr2};

    fn blob(name: &str, a: ArrayD<f32>) -> (String, ArrayD<f32>) {
        (name.to_string(), a)
    }

    #[test]
    fn relative_error_uses_the_reference_scale() {
        let reference = vec![blob("big", arr1(&[100f32, -200.0]).into_dyn())];
        let ours = vec![blob("big", arr1(&[100.01f32, -200.0]).into_dyn())];
        let report = compare(&ours, &reference, DEFAULT_TOLERANCE);
        let BlobStatus::Compared {
            max_abs, max_ref, rel, ..
        } = report.blobs[0].status
        else {
            panic!("{report}")
        };
        assert!((max_abs - 0.01).abs() < 1e-5);
        assert_eq!(max_ref, 200.0);
        assert!((rel - 5e-5).abs() < 1e-7);
        assert!(report.passed(), "{report}");
        let report = compare(&ours, &reference, 1e-5);
        assert!(!report.passed());
    }

    #[test]
    fn shapes_missing_blobs_and_nans_fail() {
        let reference = vec![
            blob("a", arr2(&[[1f32, 2.0]]).into_dyn()),
            blob("b", arr1(&[1f32]).into_dyn()),
            blob("n", arr1(&[f32::NAN, 1.0]).into_dyn()),
            blob("z", arr1(&[0f32, 0.0]).into_dyn()),
        ];
        let ours = vec![
            blob("a", arr1(&[1f32, 2.0]).into_dyn()),
            blob("n", arr1(&[f32::NAN, f32::NAN]).into_dyn()),
            blob("z", arr1(&[0f32, 0.0]).into_dyn()),
            blob("extra", arr1(&[0f32]).into_dyn()),
        ];
        let report = compare(&ours, &reference, DEFAULT_TOLERANCE);
        let status: Vec<_> = report.blobs.iter().map(|b| (b.name.as_str(), b.passed)).collect();
        assert_eq!(
            status,
            [("a", false), ("b", false), ("n", false), ("z", true), ("extra", false)]
        );
        assert!(matches!(report.blobs[0].status, BlobStatus::ShapeMismatch { .. }));
        assert_eq!(report.blobs[1].status, BlobStatus::MissingOurs);
        assert_eq!(report.blobs[4].status, BlobStatus::MissingReference);
        let text = report.to_string();
        assert!(text.contains("missing in our run"), "{text}");
        assert!(text.contains("5 blobs, 4 failed"), "{text}");
        // NaN in the same place on both sides is equal.
        let same = compare(&reference[2..3], &reference[2..3], DEFAULT_TOLERANCE);
        assert!(same.passed(), "{same}");
    }

    #[test]
    fn golden_dir_reads_slash_names_and_reports_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let golden = GoldenDir::new(dir.path());
        let a = arr2(&[[1f32, 2.0], [3.0, 4.0]]).into_dyn();
        caffe_io::write_npy_f32(golden.path_of("inception/1x1"), a.view()).unwrap();
        assert!(golden.path_of("inception/1x1").ends_with("inception__1x1.npy"));
        let ours = vec![blob("inception/1x1", a.clone()), blob("other", a)];
        let report = golden.compare(&ours, None, DEFAULT_TOLERANCE).unwrap();
        assert!(report.blobs[0].passed);
        assert_eq!(report.blobs[1].status, BlobStatus::MissingReference);
    }
}
