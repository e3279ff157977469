//! Runs `tests/ort_check.py` (onnx's checker and onnxruntime) on a small
//! exported case when `NETSURGEON_PYTHON` names a Python with onnx,
//! onnxruntime and numpy; skipped otherwise (CI's `.ci/run` sets it).

use std::path::{Path, PathBuf};
use std::process::Command;

use ndarray::ArrayD;
use onnx_export::builder::Dim;
use onnx_export::{ExternalData, Payloads, WriteOptions};

use crate::common;
use common::{array, conv_relu_model_with, naive_conv, weights, PARAMS};

fn python() -> Option<PathBuf> {
    match std::env::var_os("NETSURGEON_PYTHON") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must set NETSURGEON_PYTHON (see .ci/run): the onnxruntime check may not be skipped there"
            );
            eprintln!("NETSURGEON_PYTHON is not set: skipping the onnxruntime cross-check");
            None
        }
    }
}

fn write_npy(path: &Path, a: &ArrayD<f32>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    caffe_io::write_npy_f32(path, a.view()).unwrap();
}

/// A case directory: model.onnx, inputs/, blobs/. The weights are borrowed
/// and spliced in when the model is written, inline or as external data.
fn write_case(dir: &Path, perturb: f32, external: ExternalData) {
    std::fs::create_dir_all(dir).unwrap();
    let (w, b) = weights();
    let mut payloads = Payloads::new();
    let model = conv_relu_model_with(&w, &b, Dim::from("N"), Some(&mut payloads));
    let options = WriteOptions {
        external,
        location: None,
    };
    onnx_export::write_model_with(dir.join("model.onnx"), &model, &payloads, &options).unwrap();
    let x = array(&[2, 4, 7, 9], 7);
    let conv = naive_conv(&x, &w, &b, &PARAMS).into_dyn();
    let mut relu = conv.mapv(|v| v.max(0.0));
    relu[[1, 5, 3, 4]] += perturb;
    write_npy(&dir.join("inputs/data.npy"), &x);
    write_npy(&dir.join("blobs/data.npy"), &x);
    write_npy(&dir.join("blobs/conv.npy"), &conv);
    write_npy(&dir.join("blobs/relu.npy"), &relu);
}

fn run_check(python: &Path, dir: &Path) -> (bool, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ort_check.py");
    let out = Command::new(python)
        .arg(&script)
        .arg(dir)
        .output()
        .expect("NETSURGEON_PYTHON runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn onnxruntime_agrees_with_the_naive_convolution() {
    let Some(python) = python() else { return };
    let root = tempfile::tempdir().unwrap();
    write_case(&root.path().join("good"), 0.0, ExternalData::Never);
    let (ok, text) = run_check(&python, root.path());
    eprintln!("{text}");
    assert!(ok, "{text}");
    assert!(text.contains("1 cases, 0 failed"), "{text}");

    // A wrong expected value must make the script fail (this case also checks
    // external data).
    write_case(&root.path().join("bad"), 0.5, ExternalData::Always { threshold: 64 });
    let (ok, text) = run_check(&python, root.path());
    eprintln!("{text}");
    assert!(!ok, "{text}");
    assert!(text.contains("2 cases, 1 failed"), "{text}");
}
