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
        .arg(fixtures().join("bad/wrong_value_type.prototxt"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("wrong_value_type.prototxt:1:71"));
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

fn mini() -> PathBuf {
    fixtures().join("golden/public/mini_caffenet")
}

#[test]
fn check_passes_on_caffes_golden_blobs_and_fails_on_a_wrong_one() {
    netsurgeon()
        .arg("check")
        .arg(mini().join("net.prototxt"))
        .arg("--weights")
        .arg(mini().join("net.caffemodel"))
        .arg("--golden")
        .arg(mini())
        .assert()
        .success()
        .stdout(predicate::str::contains("15 blobs, 0 failed"));
    // The same folder with one blob off by 1% must fail.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("blobs")).unwrap();
    std::fs::copy(mini().join("input.npy"), dir.path().join("input.npy")).unwrap();
    for entry in std::fs::read_dir(mini().join("blobs")).unwrap() {
        let p = entry.unwrap().path();
        let mut a = netsurgeon::caffe_io::read_npy_f32(&p).unwrap();
        if p.file_name().unwrap() == "fc7.npy" {
            a.mapv_inplace(|v| v * 1.01);
        }
        netsurgeon::caffe_io::write_npy_f32(dir.path().join("blobs").join(p.file_name().unwrap()), a.view()).unwrap();
    }
    netsurgeon()
        .arg("check")
        .arg(mini().join("net.prototxt"))
        .arg("--weights")
        .arg(mini().join("net.caffemodel"))
        .arg("--golden")
        .arg(dir.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("fc7"))
        .stderr(predicate::str::contains("1 of 15 blobs differ"));
}

#[test]
fn convert_then_run_the_onnx_file_gives_caffes_output() {
    let dir = tempfile::tempdir().unwrap();
    let onnx = dir.path().join("mini.onnx");
    netsurgeon()
        .arg("convert")
        .arg(mini().join("net.prototxt"))
        .arg("--weights")
        .arg(mini().join("net.caffemodel"))
        .arg("-o")
        .arg(&onnx)
        .assert()
        .success()
        .stdout(predicate::str::contains("output prob (1, 10)"));
    let out = dir.path().join("out");
    netsurgeon()
        .arg("run")
        .arg(&onnx)
        .arg("--input")
        .arg(format!("data={}", mini().join("input.npy").display()))
        .arg("--out-dir")
        .arg(&out)
        .assert()
        .success();
    let ours = netsurgeon::caffe_io::read_npy_f32(out.join("prob.npy")).unwrap();
    let caffe = netsurgeon::caffe_io::read_npy_f32(mini().join("blobs/prob.npy")).unwrap();
    let scale = caffe.iter().fold(0f32, |m, v| m.max(v.abs()));
    let err = ours
        .iter()
        .zip(caffe.iter())
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(err <= 1e-4 * scale, "max error {err}");
    // Running the Caffe model with --all-blobs writes every blob.
    let all = dir.path().join("all");
    netsurgeon()
        .arg("run")
        .arg(mini().join("net.prototxt"))
        .arg("--weights")
        .arg(mini().join("net.caffemodel"))
        .arg("--input")
        .arg(format!("data={}", mini().join("input.npy").display()))
        .arg("--out-dir")
        .arg(&all)
        .arg("--all-blobs")
        .assert()
        .success();
    assert_eq!(std::fs::read_dir(&all).unwrap().count(), 15);
    // Existing outputs are not overwritten without --force.
    netsurgeon()
        .arg("run")
        .arg(&onnx)
        .arg("--input")
        .arg(format!("data={}", mini().join("input.npy").display()))
        .arg("--out-dir")
        .arg(&out)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("already exists"));
}

#[test]
fn convert_with_fc_to_conv_and_external_data() {
    let dir = tempfile::tempdir().unwrap();
    let onnx = dir.path().join("lenet_fc.onnx");
    let digits = fixtures().join("golden/digits");
    netsurgeon()
        .arg("convert")
        .arg(digits.join("deploy.prototxt"))
        .arg("--weights")
        .arg(digits.join("lenet_digits.caffemodel"))
        .args(["--fc-to-conv", "--input", "data=1,1,56,56", "--external-data", "-o"])
        .arg(&onnx)
        .assert()
        .success()
        .stdout(predicate::str::contains("cast ip1 -> ip1-conv"))
        .stdout(predicate::str::contains("output prob (1, 10, 8, 8)"));
    assert!(dir.path().join("lenet_fc.onnx.data").exists());
    // The ONNX file with its side file reproduces Caffe's full-conv map.
    let out = dir.path().join("out");
    netsurgeon()
        .arg("run")
        .arg(&onnx)
        .arg("--input")
        .arg(format!("data={}", digits.join("full_conv/input_56.npy").display()))
        .arg("--out-dir")
        .arg(&out)
        .assert()
        .success();
    let ours = netsurgeon::caffe_io::read_npy_f32(out.join("prob.npy")).unwrap();
    let caffe = netsurgeon::caffe_io::read_npy_f32(digits.join("full_conv/blobs/prob.npy")).unwrap();
    assert_eq!(ours.shape(), caffe.shape());
    let err = ours
        .iter()
        .zip(caffe.iter())
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(err <= 1e-4, "max error {err}");
}

#[test]
fn bench_prints_json_timings() {
    let out = netsurgeon()
        .arg("bench")
        .arg(mini().join("net.prototxt"))
        .arg("--weights")
        .arg(mini().join("net.caffemodel"))
        .args(["--runs", "3", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let t: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let (min, med, max) = (
        t["min_ms"].as_f64().unwrap(),
        t["median_ms"].as_f64().unwrap(),
        t["max_ms"].as_f64().unwrap(),
    );
    assert!(0.0 < min && min <= med && med <= max, "{t}");
}

/// `run`, `bench` and `heatmap` use every core unless `--threads N` pins
/// them, as onnxruntime does; 0 threads is a usage error.
#[test]
fn threads_default_to_every_core() {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let bench = |threads: Option<&str>| {
        let mut cmd = netsurgeon();
        cmd.arg("bench")
            .arg(mini().join("net.prototxt"))
            .args(["--runs", "1", "--json"]);
        if let Some(n) = threads {
            cmd.args(["--threads", n]);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let t: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        t["threads"].as_u64().unwrap()
    };
    assert_eq!(bench(None), cores as u64);
    assert_eq!(bench(Some("1")), 1);
    for subcommand in ["run", "bench", "heatmap"] {
        netsurgeon()
            .args([subcommand, "--threads", "0"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains("at least 1"));
    }
    let dir = tempfile::tempdir().unwrap();
    netsurgeon()
        .arg("run")
        .arg(mini().join("net.prototxt"))
        .arg("--weights")
        .arg(mini().join("net.caffemodel"))
        .arg("--input")
        .arg(format!("data={}", mini().join("input.npy").display()))
        .arg("--out-dir")
        .arg(dir.path())
        .args(["--threads", "1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("prob (1, 10)"));
}

/// A mistyped input name is named with the net's inputs and the likely one.
#[test]
fn run_names_a_mistyped_input() {
    let dir = tempfile::tempdir().unwrap();
    netsurgeon()
        .arg("run")
        .arg(mini().join("net.prototxt"))
        .arg("--weights")
        .arg(mini().join("net.caffemodel"))
        .arg("--input")
        .arg(format!("dta={}", mini().join("input.npy").display()))
        .arg("--out-dir")
        .arg(dir.path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "'dta' is not an input of the net (its inputs: 'data'); did you mean 'data'?",
        ));
}

/// `run MODEL.onnx --all-blobs` writes every tensor the model computes; for
/// netsurgeon's own export these are the Caffe blobs under their Caffe names,
/// with Caffe's values, and no weights.
#[test]
fn run_onnx_all_blobs_writes_every_computed_tensor() {
    let dir = tempfile::tempdir().unwrap();
    let onnx = dir.path().join("mini.onnx");
    netsurgeon()
        .arg("convert")
        .arg(mini().join("net.prototxt"))
        .arg("--weights")
        .arg(mini().join("net.caffemodel"))
        .arg("-o")
        .arg(&onnx)
        .assert()
        .success();
    let run = |model: &Path, out: &Path| {
        let mut cmd = netsurgeon();
        cmd.arg("run").arg(model);
        if model.extension().is_some_and(|e| e == "prototxt") {
            cmd.arg("--weights").arg(mini().join("net.caffemodel"));
        }
        cmd.arg("--input")
            .arg(format!("data={}", mini().join("input.npy").display()))
            .arg("--out-dir")
            .arg(out)
            .arg("--all-blobs")
            .assert()
            .success();
        let mut names: Vec<String> = std::fs::read_dir(out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let from_onnx = run(&onnx, &dir.path().join("onnx"));
    let from_caffe = run(&mini().join("net.prototxt"), &dir.path().join("caffe"));
    assert_eq!(from_caffe.len(), 15);
    for name in &from_caffe {
        assert!(from_onnx.contains(name), "{name} missing from {from_onnx:?}");
    }
    // No initializer (a weight) is among them: every file is an activation
    // with the batch dimension of the input.
    for name in &from_onnx {
        let a = netsurgeon::caffe_io::read_npy_f32(dir.path().join("onnx").join(name)).unwrap();
        assert_eq!(a.shape().first(), Some(&1), "{name}: {:?}", a.shape());
    }
    // Each Caffe blob holds Caffe's numbers.
    for name in &from_caffe {
        let ours = netsurgeon::caffe_io::read_npy_f32(dir.path().join("onnx").join(name)).unwrap();
        let caffe = netsurgeon::caffe_io::read_npy_f32(mini().join("blobs").join(name)).unwrap();
        assert_eq!(ours.shape(), caffe.shape(), "{name}");
        let scale = caffe.iter().fold(0f32, |m, v| m.max(v.abs()));
        let err = ours
            .iter()
            .zip(caffe.iter())
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(err <= 1e-4 * scale.max(1e-6), "{name}: max error {err}");
    }
}

#[test]
fn convert_and_bench_failures_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    // Weights that do not fit the net: exit 1, the layer named, no ONNX file.
    let onnx = dir.path().join("x.onnx");
    netsurgeon()
        .arg("convert")
        .arg(caffenet())
        .arg("--weights")
        .arg(fixtures().join("golden/digits/lenet_digits.caffemodel"))
        .arg("-o")
        .arg(&onnx)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("conv1"));
    assert!(!onnx.exists());
    // A layer type the converter does not know is named with its type.
    let proto = dir.path().join("custom.prototxt");
    std::fs::write(
        &proto,
        "layer { name: 'data' type: 'Input' top: 'data' input_param { shape { dim: 1 dim: 3 dim: 8 dim: 8 } } }\n\
         layer { name: 'roi' type: 'Python' bottom: 'data' top: 'roi' python_param { module: 'm' layer: 'L' } }\n",
    )
    .unwrap();
    netsurgeon()
        .arg("convert")
        .arg(&proto)
        .arg("-o")
        .arg(&onnx)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("roi").and(predicate::str::contains("Python")));
    assert!(!onnx.exists());
    let empty = dir.path().join("empty.prototxt");
    std::fs::write(&empty, "# nothing here\n").unwrap();
    netsurgeon()
        .arg("convert")
        .arg(&empty)
        .arg("-o")
        .arg(&onnx)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("empty.prototxt: defines no layers"));
    netsurgeon()
        .arg("bench")
        .arg(mini().join("net.prototxt"))
        .args(["--runs", "0"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--runs"));
    netsurgeon()
        .arg("run")
        .arg(mini().join("net.prototxt"))
        .arg("--weights")
        .arg(mini().join("net.caffemodel"))
        .arg("--input")
        .arg(format!("data={}", dir.path().join("missing.npy").display()))
        .arg("--out-dir")
        .arg(dir.path().join("o"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("missing.npy"));
}

#[test]
fn dynamic_spatial_model_runs_at_any_size() {
    let dir = tempfile::tempdir().unwrap();
    let onnx = dir.path().join("any.onnx");
    let digits = fixtures().join("golden/digits");
    netsurgeon()
        .arg("convert")
        .arg(digits.join("lenet_full_conv.prototxt"))
        .arg("--weights")
        .arg(digits.join("lenet_full_conv.caffemodel"))
        .args(["--dynamic-spatial", "-o"])
        .arg(&onnx)
        .assert()
        .success();
    // At Caffe's canvas size it reproduces Caffe's map; at another size it runs too.
    let out = dir.path().join("out56");
    netsurgeon()
        .arg("run")
        .arg(&onnx)
        .arg("--input")
        .arg(format!("data={}", digits.join("full_conv/input_56.npy").display()))
        .arg("--out-dir")
        .arg(&out)
        .assert()
        .success()
        .stdout(predicate::str::contains("prob (1, 10, 8, 8)"));
    let ours = netsurgeon::caffe_io::read_npy_f32(out.join("prob.npy")).unwrap();
    let caffe = netsurgeon::caffe_io::read_npy_f32(digits.join("full_conv/blobs/prob.npy")).unwrap();
    let err = ours
        .iter()
        .zip(caffe.iter())
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(err <= 1e-4, "max error {err}");
    let canvas = netsurgeon::caffe_io::read_npy_f32(digits.join("full_conv/input_56.npy")).unwrap();
    let wide = ndarray::concatenate(ndarray::Axis(3), &[canvas.view(), canvas.view()]).unwrap();
    let wide_path = dir.path().join("wide.npy");
    netsurgeon::caffe_io::write_npy_f32(&wide_path, wide.view()).unwrap();
    netsurgeon()
        .arg("run")
        .arg(&onnx)
        .arg("--input")
        .arg(format!("data={}", wide_path.display()))
        .arg("--out-dir")
        .arg(dir.path().join("out112"))
        .assert()
        .success()
        .stdout(predicate::str::contains("prob (1, 10, 8, 22)"));
    // A classifier cannot be size-free: refused, naming the layer.
    netsurgeon()
        .arg("convert")
        .arg(digits.join("deploy.prototxt"))
        .arg("--weights")
        .arg(digits.join("lenet_digits.caffemodel"))
        .args(["--dynamic-spatial", "-o"])
        .arg(dir.path().join("no.onnx"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("ip1"));
}

#[test]
fn check_covers_caffes_split_copies() {
    // Caffe's automatic split blobs share their source's tensor: each must
    // still be returned under its own name.
    let case = fixtures().join("golden/public/split_implicit");
    netsurgeon()
        .arg("check")
        .arg(case.join("net.prototxt"))
        .arg("--weights")
        .arg(case.join("net.caffemodel"))
        .arg("--golden")
        .arg(&case)
        .assert()
        .success()
        .stdout(predicate::str::contains("data_data_0_split_1"))
        .stdout(predicate::str::contains("conv_a_conv_a_0_split_1"))
        .stdout(predicate::str::contains("11 blobs, 0 failed"));
}

/// A LeNet whose conv2 feeds a layer netsurgeon does not model.
const WITH_PYTHON_LAYER: &str = r#"name: "custom"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 1 dim: 28 dim: 28 } } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1" convolution_param { num_output: 20 kernel_size: 5 } }
layer { name: "roi" type: "Python" bottom: "conv1" top: "roi" python_param { module: "rpn" layer: "ProposalLayer" } }
layer { name: "relu" type: "ReLU" bottom: "roi" top: "relu" }
"#;

#[test]
fn custom_layers_can_be_inspected_but_not_exported() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("custom.prototxt");
    std::fs::write(&net, WITH_PYTHON_LAYER).unwrap();
    let weights = fixtures().join("golden/digits/lenet_digits.caffemodel");
    // inspect lists what it can (conv1's trained weights included) and says why the rest is unknown.
    netsurgeon()
        .arg("inspect")
        .arg(&net)
        .arg("--weights")
        .arg(&weights)
        .assert()
        .success()
        .stdout(predicate::str::contains("  conv1 (1, 20, 24, 24)\n"))
        .stdout(predicate::str::contains("  roi (unknown)\n"))
        .stdout(predicate::str::contains("  conv1 (20, 1, 5, 5) (20,)\n"))
        .stderr(predicate::str::contains(
            "note: layer 'roi' has type 'Python', which netsurgeon does not model",
        ))
        .stderr(predicate::str::contains("can still be inspected"))
        // LeNet's other trained layers are not in this net: warned by name.
        .stderr(predicate::str::contains(
            "weights of 3 layers that the net does not have were ignored, as Caffe does (renamed layers?): 'conv2', 'ip1', 'ip2'",
        ));
    let out = netsurgeon().args(["inspect", "--json"]).arg(&net).output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["custom_layers"],
        serde_json::json!([{"name": "roi", "type": "Python"}])
    );
    assert_eq!(report["blobs"][2], serde_json::json!({"name": "roi", "shape": null}));
    // Export names the layer, its type and the file.
    let onnx = dir.path().join("custom.onnx");
    netsurgeon()
        .arg("convert")
        .arg(&net)
        .arg("-o")
        .arg(&onnx)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("layer 'roi' has type 'Python'"));
    assert!(!onnx.exists());
}

#[test]
fn missing_weights_need_an_explicit_choice() {
    let digits = fixtures().join("golden/digits");
    let partial = fixtures().join("bad/graph/lenet_without_ip1.caffemodel");
    let dir = tempfile::tempdir().unwrap();
    let convert = |extra: &[&str], out: &str| {
        let mut cmd = netsurgeon();
        cmd.arg("convert")
            .arg(digits.join("deploy.prototxt"))
            .arg("--weights")
            .arg(&partial)
            .args(extra)
            .arg("-o")
            .arg(dir.path().join(out));
        cmd
    };
    convert(&[], "a.onnx")
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "lenet_without_ip1.caffemodel: the weights give no params for layer 'ip1'",
        ))
        .stderr(predicate::str::contains("--missing-weights filler"));
    convert(&["--missing-weights", "zero"], "b.onnx").assert().success();
    convert(&["--missing-weights", "filler"], "c.onnx").assert().success();
    assert!(!dir.path().join("a.onnx").exists());
}

#[test]
fn limits_are_named_and_can_be_raised() {
    let digits = fixtures().join("golden/digits");
    let inspect = |extra: &[&str]| {
        let mut cmd = netsurgeon();
        cmd.arg("inspect")
            .arg(digits.join("deploy.prototxt"))
            .arg("--weights")
            .arg(digits.join("lenet_digits.caffemodel"))
            .args(extra);
        cmd
    };
    // ip1's weights are 500 x 800 = 400000 elements.
    inspect(&["--max-blob-elements", "399999"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "'ip1', blob 0: 400000 elements in one blob exceeds the limit of 399999",
        ))
        .stderr(predicate::str::contains("--max-blob-elements"));
    inspect(&["--max-blob-elements", "400000"]).assert().success();
    inspect(&["--max-weight-bytes", "1000"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("bytes of weights exceeds the limit of 1000"));
    inspect(&["--max-layers", "3"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("layers exceeds the limit of 3"));
    inspect(&["--max-text-depth", "1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("levels of nesting exceeds the limit of 1"));
}

/// A DetectionOutput without its parameters is refused naming the layer; the
/// head before it exports on its own, its outputs the blobs DetectionOutput reads.
#[test]
fn ssd_detection_output_without_its_params_is_refused_naming_the_layer() {
    let dir = tempfile::tempdir().unwrap();
    let head = fixtures().join("golden/ssd/ssd_head");
    let text = std::fs::read_to_string(head.join("net.prototxt")).unwrap()
        + r#"layer { name: "det" type: "DetectionOutput" bottom: "loc_flat" bottom: "loc_flat" bottom: "priorbox" top: "det" }"#;
    let net = dir.path().join("ssd.prototxt");
    std::fs::write(&net, text).unwrap();
    let onnx = dir.path().join("ssd.onnx");
    let convert = |net: &std::path::Path| {
        let mut cmd = netsurgeon();
        cmd.arg("convert")
            .arg(net)
            .arg("--weights")
            .arg(head.join("net.caffemodel"))
            .arg("-o")
            .arg(&onnx)
            .arg("--force");
        cmd
    };
    convert(&net).assert().code(1).stderr(predicate::str::contains(
        "layer 'det' (DetectionOutput): detection_output_param (with num_classes) is required",
    ));
    assert!(!onnx.exists());
    // Without it, the head exports, its outputs the blobs DetectionOutput would read.
    convert(&head.join("net.prototxt"))
        .assert()
        .success()
        .stdout(predicate::str::contains("output loc_flat (2, 2880)"))
        .stdout(predicate::str::contains("output priorbox (1, 2, 2880)"));
}

/// An Embed index past the table is Caffe's undefined behaviour; here the
/// run stops with an error that points at the input, not a panic.
#[test]
fn an_embed_index_out_of_range_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let case = fixtures().join("golden/layers/embed_parameter");
    let input = dir.path().join("indices.npy");
    let indices =
        ndarray::ArrayD::<f32>::from_shape_vec(vec![2, 5], vec![0., 1., 9., 2., 3., 1., 1., 1., 1., 1.]).unwrap();
    netsurgeon::caffe_io::write_npy_f32(&input, indices.view()).unwrap();
    netsurgeon()
        .arg("run")
        .arg(case.join("net.prototxt"))
        .arg("--weights")
        .arg(case.join("net.caffemodel"))
        .arg("--input")
        .arg(format!("data={}", input.display()))
        .arg("--out-dir")
        .arg(dir.path().join("out"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "Embed layer's indices must lie within its input_dim",
        ))
        .stderr(predicate::str::contains("panicked at").not());
}

/// A small net: a convolution, a Python layer netsurgeon does not model, an
/// InnerProduct after it, and a Silence reading the convolution's ReLU.
const NET_WITH_A_PYTHON_LAYER: &str = r#"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 2 dim: 6 dim: 6 } } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" convolution_param { num_output: 3 kernel_size: 3 } }
layer { name: "relu" type: "ReLU" bottom: "conv" top: "relu" }
layer { name: "quiet" type: "Silence" bottom: "relu" }
layer { name: "py" type: "Python" bottom: "conv" top: "rois" python_param { module: "rpn.proposal_layer" layer: "ProposalLayer" } }
layer { name: "fc" type: "InnerProduct" bottom: "rois" top: "fc" inner_product_param { num_output: 2 } }
"#;

/// `convert --outputs` cuts the net before a layer it cannot export; a typo
/// is named with the closest blob; a blob only Silence reads is an output.
#[test]
fn convert_outputs_cut_the_net_and_silenced_blobs_are_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net.prototxt");
    std::fs::write(&net, NET_WITH_A_PYTHON_LAYER).unwrap();
    let onnx = dir.path().join("net.onnx");
    let convert = || {
        let mut cmd = netsurgeon();
        cmd.arg("convert").arg(&net).arg("-o").arg(&onnx).arg("--force");
        cmd
    };
    convert()
        .assert()
        .code(1)
        .stderr(predicate::str::contains("layer 'py' has type 'Python'"))
        .stderr(predicate::str::contains("convert --outputs"));
    assert!(!onnx.exists());
    convert()
        .args(["--outputs", "conv,relu"])
        .assert()
        .success()
        .stdout(predicate::str::contains("output conv (1, 3, 4, 4)"))
        .stdout(predicate::str::contains("output relu (1, 3, 4, 4)"));
    let model = netsurgeon::onnx_export::read_model(&onnx).unwrap();
    let graph = model.graph.unwrap();
    let outputs: Vec<&str> = graph.output.iter().map(|o| o.name()).collect();
    assert_eq!(outputs, ["conv", "relu"]);
    convert()
        .args(["--outputs", "relu1"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "output 'relu1' is not a blob of the net; did you mean 'relu'?",
        ));
    // Without the Python layer, the ReLU only Silence reads is the output, with a note.
    let text = NET_WITH_A_PYTHON_LAYER
        .lines()
        .filter(|l| !l.contains("\"py\"") && !l.contains("\"fc\""))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&net, text).unwrap();
    convert()
        .assert()
        .success()
        .stdout(predicate::str::contains("output relu (1, 3, 4, 4)"))
        .stderr(predicate::str::contains("blob 'relu' is read only by a Silence layer"));
}

/// `synth-weights` on a net with a layer it does not model names what it
/// cannot fill and writes nothing, unless told to skip them.
#[test]
fn synth_weights_names_the_layers_it_cannot_fill() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("net.prototxt");
    std::fs::write(&net, NET_WITH_A_PYTHON_LAYER).unwrap();
    let weights = dir.path().join("w.caffemodel");
    netsurgeon()
        .arg("synth-weights")
        .arg(&net)
        .arg("-o")
        .arg(&weights)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("2 of 6 layers cannot be given weights"))
        .stderr(predicate::str::contains("py (Python): not a type netsurgeon models"))
        .stderr(predicate::str::contains(
            "fc: its param shapes are unknown: it follows layer 'py' (Python), which netsurgeon does not model",
        ))
        .stderr(predicate::str::contains("nothing written"));
    assert!(!weights.exists());
    netsurgeon()
        .arg("synth-weights")
        .arg(&net)
        .arg("-o")
        .arg(&weights)
        .arg("--skip-unknown")
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "--skip-unknown: writing the weights of the other layers",
        ));
    let written = netsurgeon::caffe_io::read_caffemodel(&weights).unwrap();
    let conv = written.layer.iter().find(|l| l.name() == "conv").unwrap();
    assert_eq!(conv.blobs.len(), 2);
}
