//! Helpers shared by the integration tests: fixture paths and golden cases.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The repository's fixtures folder.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

/// The 34 public golden cases (folders with net.prototxt), sorted.
pub fn golden_cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(fixtures().join("golden/public"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("net.prototxt").exists())
        .collect();
    cases.sort();
    assert_eq!(cases.len(), 34, "the 34 public golden cases are in fixtures/");
    cases
}

/// A case's case.json.
pub fn case_json(case: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(case.join("case.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A JSON array of numbers as a shape.
pub fn json_shape(v: &serde_json::Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect()
}

/// A JSON array of strings.
pub fn json_strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// Parses prototxt text written inline in a test.
pub fn parse(text: &str) -> caffe_io::NetParameter {
    caffe_io::parse_prototxt(text, Path::new("inline.prototxt")).unwrap()
}
