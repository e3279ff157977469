//! What several test modules need: golden files, seeded inputs, and the
//! Python that runs the onnxruntime checks.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn};
use serde_json::Value;

pub fn read_npy(path: &Path) -> ArrayD<f32> {
    netsurgeon::caffe_io::read_npy_f32(path).unwrap()
}

/// A golden case's inputs by blob name, from its `case.json` (`inputs`:
/// name and file).
pub fn case_inputs(dir: &Path, json: &Value) -> HashMap<String, ArrayD<f32>> {
    json["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let name = i["name"].as_str().unwrap().to_string();
            (name, read_npy(&dir.join(i["file"].as_str().unwrap())))
        })
        .collect()
}

/// Deterministic values in [low, high) of a shape (a small LCG), so the
/// tests need no RNG crate.
pub fn seeded(shape: &[usize], seed: u64, low: f32, high: f32) -> ArrayD<f32> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let n = shape.iter().product();
    let values = (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            low + ((s >> 40) as f32 / (1u64 << 24) as f32) * (high - low)
        })
        .collect();
    ArrayD::from_shape_vec(IxDyn(shape), values).unwrap()
}

/// The Python with onnx and onnxruntime (`NETSURGEON_PYTHON`), or None with
/// a note that `what` is skipped; under CI a missing Python is an error.
pub fn python(what: &str) -> Option<PathBuf> {
    match std::env::var_os("NETSURGEON_PYTHON") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must set NETSURGEON_PYTHON (see .ci/run): {what} may not be skipped there"
            );
            eprintln!("NETSURGEON_PYTHON is not set: skipping {what}");
            None
        }
    }
}

/// The cases of a folder with an `index.json` (each entry's `case` names a
/// subfolder holding its `case.json`): (name, folder, case.json).
pub fn cases_in(root: &Path) -> Vec<(String, PathBuf, Value)> {
    let index: Value = serde_json::from_str(&std::fs::read_to_string(root.join("index.json")).unwrap()).unwrap();
    index
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let name = c["case"].as_str().unwrap().to_string();
            let dir = root.join(&name);
            let json: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("case.json")).unwrap()).unwrap();
            (name, dir, json)
        })
        .collect()
}
