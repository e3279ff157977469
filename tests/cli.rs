//! The `netsurgeon` command line, run as a user would: outputs, exit codes
//! (0 success, 1 bad model or data, 2 usage), and no output file left behind
//! on failure or overwritten without --force.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn netsurgeon() -> Command {
    Command::cargo_bin("netsurgeon").unwrap()
}

fn caffenet() -> PathBuf {
    fixtures().join("models/bvlc_reference_caffenet/deploy.prototxt")
}

#[test]
fn inspect_prints_pycaffe_shapes() {
    netsurgeon()
        .arg("inspect")
        .arg(caffenet())
        .assert()
        .success()
        .stdout(predicate::str::contains("  data (10, 3, 227, 227)\n"))
        .stdout(predicate::str::contains("  pool5 (10, 256, 6, 6)\n"))
        .stdout(predicate::str::contains("  fc6 (4096, 9216) (4096,)\n"));
}

#[test]
fn inspect_json_and_stats_read_the_weights() {
    let digits = fixtures().join("golden/digits");
    let out = netsurgeon()
        .args(["inspect", "--json", "--stats", "--input", "data=2,1,28,28"])
        .arg(digits.join("deploy.prototxt"))
        .arg("--weights")
        .arg(digits.join("lenet_digits.caffemodel"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["blobs"][0]["name"], "data");
    assert_eq!(report["blobs"][0]["shape"], serde_json::json!([2, 1, 28, 28]));
    let ip1 = &report["params"][2];
    assert_eq!(ip1["layer"], "ip1");
    assert_eq!(ip1["shapes"], serde_json::json!([[500, 800], [500]]));
    // Trained weights: not all zero, small.
    let s = &ip1["stats"][0];
    assert!(
        s["std"].as_f64().unwrap() > 1e-3 && s["max"].as_f64().unwrap() < 10.0,
        "{s}"
    );
}

#[test]
fn synth_then_fc_to_conv_makes_the_full_conv_net() {
    let dir = tempfile::tempdir().unwrap();
    let weights = dir.path().join("w.caffemodel");
    netsurgeon()
        .arg("synth-weights")
        .arg(fixtures().join("golden/digits/deploy.prototxt"))
        .args(["--seed", "3", "-o"])
        .arg(&weights)
        .assert()
        .success();
    let (p, m) = (dir.path().join("fc.prototxt"), dir.path().join("fc.caffemodel"));
    netsurgeon()
        .arg("fc-to-conv")
        .arg(fixtures().join("golden/digits/deploy.prototxt"))
        .arg("--weights")
        .arg(&weights)
        .args(["--input", "data=1,1,56,56", "--out-prototxt"])
        .arg(&p)
        .arg("--out-weights")
        .arg(&m)
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "ip1 -> ip1-conv (kernel 4x4, weights (500, 50, 4, 4))",
        ))
        .stdout(predicate::str::contains("output prob (1, 10, 8, 8)"));
    netsurgeon()
        .arg("inspect")
        .arg(&p)
        .arg("--weights")
        .arg(&m)
        .assert()
        .success()
        .stdout(predicate::str::contains("  ip2-conv (10, 500, 1, 1) (10,)\n"));
}

#[test]
fn existing_outputs_need_force_and_inputs_are_never_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("w.caffemodel");
    std::fs::write(&out, b"keep me").unwrap();
    let proto = fixtures().join("golden/digits/deploy.prototxt");
    netsurgeon()
        .arg("synth-weights")
        .arg(&proto)
        .arg("-o")
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("already exists; pass --force"));
    assert_eq!(std::fs::read(&out).unwrap(), b"keep me");
    netsurgeon()
        .arg("synth-weights")
        .arg(&proto)
        .arg("-o")
        .arg(&proto)
        .arg("--force")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("would overwrite an input"));
    netsurgeon()
        .arg("synth-weights")
        .arg(&proto)
        .arg("-o")
        .arg(&out)
        .arg("--force")
        .assert()
        .success();
    assert_ne!(std::fs::read(&out).unwrap(), b"keep me");
}

#[test]
fn bad_models_exit_1_naming_the_file_and_usage_errors_exit_2() {
    netsurgeon()
        .arg("inspect")
        .arg(fixtures().join("bad/unknown_field.prototxt"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("unknown_field.prototxt:5:3"));
    netsurgeon()
        .arg("inspect")
        .arg(caffenet())
        .arg("--weights")
        .arg(fixtures().join("bad/truncated.caffemodel"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("truncated.caffemodel"));
    netsurgeon().args(["inspect", "--no-such-flag"]).assert().code(2);
    netsurgeon()
        .args(["inspect", "x.prototxt", "--input", "data"])
        .assert()
        .code(2);
}

#[test]
fn a_failed_write_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let weights = dir.path().join("w.caffemodel");
    // The weights do not fit the net: the command fails before writing anything.
    netsurgeon()
        .arg("fc-to-conv")
        .arg(caffenet())
        .arg("--weights")
        .arg(fixtures().join("golden/digits/lenet_digits.caffemodel"))
        .arg("--out-prototxt")
        .arg(dir.path().join("p.prototxt"))
        .arg("--out-weights")
        .arg(&weights)
        .assert()
        .code(1);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}
