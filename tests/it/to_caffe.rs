//! ONNX -> Caffe (`onnx_import`, `netsurgeon to-caffe`) against numbers that
//! netsurgeon did not compute:
//! - every case of `fixtures/onnx-cases` (small ONNX graphs with
//!   onnxruntime's outputs): the Caffe net written is run in tract and every
//!   output must match onnxruntime's within 1e-4 x max|ref|; `may-refuse`
//!   cases may instead be refused, naming the node and its op type
//!   (`python/tests/test_to_caffe.py` runs the same nets in OpenCV);
//! - round trip: each real-Caffe golden case exported to ONNX by
//!   onnx-export and brought back must compute Caffe's golden outputs.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use ndarray::ArrayD;
use netsurgeon::graph_ir::Net;
use netsurgeon::onnx_export::{export, ExportOptions};
use netsurgeon::onnx_import::{import, Dialect, Error as ImportError, How, ImportOptions};
use netsurgeon::runtime::{compare::max_errors, GoldenDir, DEFAULT_TOLERANCE};
use netsurgeon::{forward, Forward, ForwardOptions};
use serde_json::Value;

use crate::common::{case_inputs, cases_in, read_npy};

fn onnx_cases() -> Vec<(String, PathBuf, Value)> {
    cases_in(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/onnx-cases"))
}

/// The worst `max|ours - ref| / max|ref|` over the case's outputs, running
/// the imported net in tract.
fn run_case(dir: &Path, json: &Value, dialect: Dialect) -> Result<f64, ImportError> {
    let model = netsurgeon::onnx_export::read_model(dir.join("model.onnx")).unwrap();
    let options = ImportOptions {
        dialect,
        ..Default::default()
    };
    let imported = import(&model, &options)?;
    let inputs: HashMap<String, ArrayD<f32>> = json["inputs"]
        .as_object()
        .unwrap()
        .keys()
        .map(|name| (name.clone(), read_npy(&dir.join(format!("input_{name}.npy")))))
        .collect();
    let outputs: Vec<String> = json["outputs"].as_object().unwrap().keys().cloned().collect();
    let options = ForwardOptions::default().outputs(Some(outputs.clone()));
    let blobs = forward(&imported.net, inputs, &options).unwrap();
    let mut worst = 0f64;
    for name in &outputs {
        let reference = read_npy(&dir.join(format!("output_{name}.npy")));
        let ours = blobs.get(name).unwrap_or_else(|| panic!("no blob '{name}'"));
        assert_eq!(ours.shape(), reference.shape(), "{name}");
        let (max_abs, max_ref) = max_errors(ours.view(), reference.view());
        worst = worst.max(if max_abs == 0.0 { 0.0 } else { max_abs / max_ref });
    }
    Ok(worst)
}

/// Every case of `fixtures/onnx-cases` converts in the default dialect
/// (those its README says may be refused too: each now has an exact form)
/// and matches onnxruntime in tract.
#[test]
fn onnx_cases_match_onnxruntime() {
    let mut failures = Vec::new();
    for (case, dir, json) in onnx_cases() {
        match run_case(&dir, &json, Dialect::Caffe1) {
            Ok(rel) => {
                eprintln!("{case:28} rel {rel:.2e}");
                if rel > DEFAULT_TOLERANCE {
                    failures.push(format!("{case}: rel {rel:.2e}"));
                }
            }
            Err(e) => failures.push(format!("{case}: {e}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn permute_dialects_convert_the_transpose_case() {
    let (_, dir, json) = onnx_cases().into_iter().find(|c| c.0 == "transpose_nhwc").unwrap();
    let model = netsurgeon::onnx_export::read_model(dir.join("model.onnx")).unwrap();
    for dialect in [Dialect::Ssd, Dialect::OpenCv, Dialect::Nnie, Dialect::Bvlc] {
        let rel = run_case(&dir, &json, dialect).unwrap();
        assert!(rel <= DEFAULT_TOLERANCE, "{dialect}: {rel}");
        let options = ImportOptions {
            dialect,
            ..Default::default()
        };
        let imported = import(&model, &options).unwrap();
        let types: Vec<&str> = imported.net.layers().iter().map(|l| l.type_name()).collect();
        // Without Permute, (0, 2, 3, 1) keeps the batch axis: a permutation
        // of the C*H*W values as a one-hot 1x1 Convolution.
        let want: &[&str] = if dialect == Dialect::Bvlc {
            &["Input", "Reshape", "Convolution", "Reshape"]
        } else {
            &["Input", "Permute"]
        };
        assert_eq!(types, want, "{dialect}");
    }
}

#[test]
fn floor_pooling_is_cropped_and_reported() {
    let (_, dir, _) = onnx_cases().into_iter().find(|c| c.0 == "maxpool_floor_pad").unwrap();
    let model = netsurgeon::onnx_export::read_model(dir.join("model.onnx")).unwrap();
    let imported = import(&model, &ImportOptions::default()).unwrap();
    let node = &imported.report.nodes[0];
    assert_eq!(node.how, How::Composed, "{node:?}");
    let types: Vec<&str> = imported.net.layers().iter().map(|l| l.type_name()).collect();
    // The output, made by a Slice, is moved to a Split of one top (Caffe shares
    // its data) so that OpenCV finds it by name.
    assert_eq!(
        types,
        ["Input", "Pooling", "Slice", "Silence", "Slice", "Silence", "Split"]
    );
}

/// Every real-Caffe golden case: Caffe -> ONNX (onnx-export) -> Caffe
/// (onnx-import) computes Caffe's own outputs.
#[test]
fn golden_cases_round_trip() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/golden/public");
    let mut failures = Vec::new();
    for (case, dir, json) in cases_in(&root) {
        let case = case.as_str();
        let net = Net::load_with_weights(dir.join("net.prototxt"), dir.join("net.caffemodel")).unwrap();
        let model = export(&net, &ExportOptions::default()).unwrap().to_model();
        // BVLC Caffe is where the golden numbers come from (and has Bias).
        let options = ImportOptions {
            dialect: Dialect::Bvlc,
            ..Default::default()
        };
        let imported = match import(&model, &options) {
            Ok(i) => i,
            Err(e) => {
                failures.push(format!("{case}: {e}"));
                continue;
            }
        };
        let outputs: Vec<String> = json["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o.as_str().unwrap().to_string())
            .collect();
        let options = ForwardOptions::default().outputs(Some(outputs.clone()));
        let session = Forward::new(&imported.net, &options).unwrap();
        // Inputs only their shape was read from (Crop's reference) are gone.
        let used: Vec<String> = session.inputs().map(str::to_string).collect();
        let inputs = case_inputs(&dir, &json).into_iter().filter(|(n, _)| used.contains(n));
        let blobs = match session.run(inputs) {
            Ok(b) => b.into_vec(),
            Err(e) => {
                failures.push(format!("{case}: forward: {e}"));
                continue;
            }
        };
        let names: Vec<&str> = outputs.iter().map(String::as_str).collect();
        let report = GoldenDir::new(dir.join("blobs"))
            .compare(&blobs, Some(&names), DEFAULT_TOLERANCE)
            .unwrap();
        eprintln!("{case}: {report}");
        if !report.passed() {
            failures.push(format!("{case}: {report}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `netsurgeon to-caffe MODEL --out-prototxt P --out-weights W EXTRA...`.
fn to_caffe_cli(model: &Path, prototxt: &Path, weights: &Path, extra: &[&str]) -> assert_cmd::assert::Assert {
    Command::cargo_bin("netsurgeon")
        .unwrap()
        .arg("to-caffe")
        .arg(model)
        .args(["--out-prototxt", prototxt.to_str().unwrap()])
        .args(["--out-weights", weights.to_str().unwrap()])
        .args(extra)
        .assert()
}

#[test]
fn cli_writes_both_files_or_none() {
    let (_, dir, _) = onnx_cases().into_iter().find(|c| c.0 == "maxpool_floor_pad").unwrap();
    let out = tempfile::tempdir().unwrap();
    let (p, w, r) = (
        out.path().join("m.prototxt"),
        out.path().join("m.caffemodel"),
        out.path().join("r.json"),
    );
    let assert = to_caffe_cli(&dir.join("model.onnx"), &p, &w, &["--report", r.to_str().unwrap()]).success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(stdout.contains("self-check (tract"), "{stdout}");
    assert!(p.exists() && w.exists());
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&r).unwrap()).unwrap();
    assert_eq!(report["nodes"][0]["how"], "exact composition");
    // The written pair loads as any Caffe model does.
    Net::load_with_weights(&p, &w).unwrap();

    // A model with no exact Caffe form: Erf (GELU's), which no Caffe layer computes.
    let refused = out.path().join("erf.onnx");
    let mut g = netsurgeon::onnx_export::GraphBuilder::new("g");
    g.add_input("x", &netsurgeon::onnx_export::builder::dims(&[1, 3, 4, 4]))
        .unwrap();
    g.add_node("Erf", "gelu_erf", &["x"], &["y"], vec![]).unwrap();
    g.add_output("y", None).unwrap();
    let model = g.into_model(&netsurgeon::onnx_export::ModelOptions::default()).unwrap();
    netsurgeon::onnx_export::write_model(&refused, &model, &Default::default()).unwrap();
    let (p2, w2) = (out.path().join("r.prototxt"), out.path().join("r.caffemodel"));
    let assert = to_caffe_cli(&refused, &p2, &w2, &[]).code(1);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).to_string();
    assert!(
        stderr.contains("'gelu_erf' (Erf)") && stderr.contains("nothing was written"),
        "{stderr}"
    );
    assert!(!p2.exists() && !w2.exists());
    // With --allow-approximate it writes both, naming the node and its error.
    let assert = to_caffe_cli(&refused, &p2, &w2, &["--allow-approximate"]).success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(
        stdout.contains("approximate: node 'gelu_erf' (Erf): max |error|") && stdout.contains("1 approximate"),
        "{stdout}"
    );
    assert!(p2.exists() && w2.exists());
}

/// Per family of `tests/to_caffe/grid.py`: (cases converted, cases refused,
/// the reasons a refusal may give). Exact counts, so that a change that
/// refuses more (or converts what has no exact form) fails here.
const GRID: &[(&str, usize, usize, &[&str])] = &[
    ("conv", 128, 0, &[]),
    // Every one (output_padding past the end pad: the kernel grows by zero taps).
    ("deconv", 120, 0, &[]),
    // Every window ONNX defines (divisors that differ from Caffe's rescaled).
    ("pool", 240, 0, &[]),
    // Nearest: replication as a Deconvolution, the other modes as weight matrices.
    ("resize", 87, 0, &[]),
    // Linear and cubic: refused only for a ROI crop and antialiased downscaling.
    ("interp", 98, 2, &["tf_crop_and_resize", "antialias"]),
    ("forms", 25, 0, &[]),
    // Strided slices (any axis), depth/space, channel shuffles, middle-axis transposes.
    ("layout", 21, 0, &[]),
    // Ties in ONNX's order (first index; TopK lower index first).
    ("argmax", 32, 0, &[]),
    // Every reduction over any axes.
    ("reduce", 140, 0, &[]),
    // Blob-by-blob broadcasts, either side; Pow of constants folded.
    ("broadcast", 27, 0, &[]),
    // InstanceNormalization, LayerNormalization, LayerNorm spelled out.
    ("norm", 6, 0, &[]),
    // PyTorch's exports of its nn modules (the onnx wheel's
    // pytorch-converted, with PyTorch's outputs): 3-D convolutions and
    // poolings, dilated poolings and PReLU slopes along the last axis have
    // no Caffe 1.0 form.
    (
        "pytorch",
        58,
        18,
        &["is 2-D", "2-D (NCHW) only", "no dilation", "one slope per channel"],
    ),
    // The wheel's light zoo models (Caffe2's opset-9 exports).
    ("light", 9, 0, &[]),
    // Erf has no exact form: refused unless approximations are allowed
    // (checked below with them allowed).
    ("approx", 0, 2, &["--allow-approximate"]),
];

/// Families OpenCV cannot run: its Caffe importer has no ArgMax layer (so
/// they are converted in the bvlc dialect, caffe1 refusing ArgMax). Their
/// Caffe models are checked in tract only, through the Caffe ArgMax
/// of graph-ir (checked against real Caffe by the `argmax` golden case; its
/// order among ties, larger index first, is that of Caffe's
/// `argmax_layer.cpp`, which sorts (value, index) pairs descending).
const NOT_IN_OPENCV: &[&str] = &["argmax"];

/// The attribute grids (`tests/to_caffe/grid.py`, onnxruntime's outputs)
/// and the onnx wheel's models (`tests/to_caffe/onnx_wheel.py`: PyTorch's
/// exports with PyTorch's outputs, the light zoo models with onnxruntime's):
/// each case converts and matches its reference in tract, or is refused for
/// a reason its family allows; then every Caffe model written, and every
/// `fixtures/onnx-cases` model, runs in OpenCV's Caffe importer and matches
/// the reference too.
#[test]
fn attribute_grids_match_onnxruntime_in_tract_and_opencv() {
    let Some(python) = crate::common::python("the ONNX -> Caffe attribute grids") else {
        return;
    };
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/to_caffe");
    let dir = tempfile::tempdir().unwrap();
    let grid = dir.path().join("grid");
    let status = std::process::Command::new(&python)
        .arg(here.join("grid.py"))
        .arg(&grid)
        .status()
        .unwrap();
    assert!(status.success(), "grid.py failed");
    let index: Value = serde_json::from_str(&std::fs::read_to_string(grid.join("index.json")).unwrap()).unwrap();
    let mut counts: HashMap<String, (usize, usize)> = HashMap::new();
    let mut failures = Vec::new();
    let mut jobs = Vec::new();
    let mut worst_tract = (0f64, String::new());
    let mut all: Vec<(String, PathBuf, Value)> = index
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["case"].as_str().unwrap().to_string(),
                grid.join(c["case"].as_str().unwrap()),
                c.clone(),
            )
        })
        .collect();
    // The onnx wheel's PyTorch exports and light zoo models.
    let wheel = dir.path().join("wheel");
    let status = std::process::Command::new(&python)
        .arg(here.join("onnx_wheel.py"))
        .arg(&wheel)
        .status()
        .unwrap();
    assert!(status.success(), "onnx_wheel.py failed");
    let wheel_index: Value = serde_json::from_str(&std::fs::read_to_string(wheel.join("index.json")).unwrap()).unwrap();
    all.extend(wheel_index.as_array().unwrap().iter().map(|c| {
        let name = c["case"].as_str().unwrap().to_string();
        (name.clone(), wheel.join(&name), c.clone())
    }));
    all.extend(onnx_cases().into_iter().map(|(n, d, mut j)| {
        j["family"] = Value::from("onnx-cases");
        (n, d, j)
    }));
    for (case, dir_, json) in &all {
        let family = json["family"].as_str().unwrap().to_string();
        let model = netsurgeon::onnx_export::read_model(dir_.join("model.onnx")).unwrap();
        let entry = counts.entry(family.clone()).or_default();
        // ArgMax exists only where OpenCV is not the consumer.
        let dialect = if family == "argmax" {
            Dialect::Bvlc
        } else {
            Dialect::Caffe1
        };
        let options = ImportOptions {
            dialect,
            ..Default::default()
        };
        let imported = match import(&model, &options) {
            Ok(i) => i,
            Err(e @ ImportError::Refused { .. }) => {
                entry.1 += 1;
                let allowed = GRID.iter().find(|g| g.0 == family).map_or(&[][..], |g| g.3);
                let message = e.to_string();
                if family != "onnx-cases" && !allowed.iter().any(|a| message.contains(a)) {
                    failures.push(format!("{case}: {message}"));
                }
                continue;
            }
            Err(e) => {
                failures.push(format!("{case}: {e}"));
                continue;
            }
        };
        entry.0 += 1;
        let rel = run_case(dir_, json, dialect).unwrap();
        if rel > worst_tract.0 {
            worst_tract = (rel, case.clone());
        }
        if rel > DEFAULT_TOLERANCE {
            failures.push(format!("{case}: tract rel {rel:.2e}"));
        }
        if NOT_IN_OPENCV.contains(&family.as_str()) {
            continue;
        }
        let out = dir.path().join("caffe").join(case);
        std::fs::create_dir_all(&out).unwrap();
        let (p, w) = (out.join("net.prototxt"), out.join("net.caffemodel"));
        imported.save(&p, &w).unwrap();
        let files = |key: &str, prefix: &str| -> serde_json::Map<String, Value> {
            json[key]
                .as_object()
                .unwrap()
                .keys()
                .map(|n| {
                    (
                        n.clone(),
                        Value::from(dir_.join(format!("{prefix}_{n}.npy")).to_str().unwrap()),
                    )
                })
                .collect()
        };
        jobs.push(serde_json::json!({
            "case": case, "prototxt": p.to_str().unwrap(), "caffemodel": w.to_str().unwrap(),
            "inputs": files("inputs", "input"), "outputs": files("outputs", "output"),
        }));
    }
    // With approximations allowed, Erf converts; the error against
    // onnxruntime stays within the one the report gives (plus rounding).
    for (case, dir_, _) in all.iter().filter(|c| c.2["family"] == "approx") {
        let model = netsurgeon::onnx_export::read_model(dir_.join("model.onnx")).unwrap();
        let options = ImportOptions {
            allow_approximate: true,
            ..Default::default()
        };
        let imported = import(&model, &options).unwrap();
        let approximated: Vec<_> = imported.report.with(How::Approximate).collect();
        assert_eq!(approximated.len(), 1, "{case}");
        let bound = approximated[0].max_error.unwrap();
        let inputs = [("x".to_string(), read_npy(&dir_.join("input_x.npy")))];
        let options = ForwardOptions::default().outputs(Some(vec!["y".to_string()]));
        let blobs = forward(&imported.net, inputs, &options).unwrap();
        let reference = read_npy(&dir_.join("output_y.npy"));
        let (max_abs, _) = max_errors(blobs.get("y").unwrap().view(), reference.view());
        eprintln!("{case}: approximated, max |error| {max_abs:.2e} (bound {bound:.2e})");
        // GELU multiplies erf's error by at most 0.5 * max|x| = 1; tract and
        // onnxruntime round differently by about one f32 ulp of 1 (1.2e-7).
        if max_abs > bound + f64::from(f32::EPSILON) {
            failures.push(format!("{case}: error {max_abs:.2e} above the bound {bound:.2e}"));
        }
    }
    let jobs_file = dir.path().join("jobs.json");
    std::fs::write(&jobs_file, serde_json::to_string(&jobs).unwrap()).unwrap();
    let output = std::process::Command::new(&python)
        .arg(here.join("opencv_run.py"))
        .arg(&jobs_file)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "opencv_run.py: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut worst = (0f64, String::new());
    for job in &jobs {
        let case = job["case"].as_str().unwrap();
        let r = &results[case];
        match r["rel"].as_f64() {
            Some(rel) if rel <= DEFAULT_TOLERANCE => {
                if rel > worst.0 {
                    worst = (rel, case.to_string());
                }
            }
            _ => failures.push(format!("{case}: OpenCV {r}")),
        }
    }
    eprintln!("tract: worst {:.2e} ({})", worst_tract.0, worst_tract.1);
    eprintln!("OpenCV: {} models, worst {:.2e} ({})", jobs.len(), worst.0, worst.1);
    for (family, ok, refused, _) in GRID {
        let got = counts.get(*family).copied().unwrap_or_default();
        eprintln!("{family}: {} converted, {} refused", got.0, got.1);
        if got != (*ok, *refused) {
            failures.push(format!(
                "{family}: {} converted and {} refused, expected {ok} and {refused}",
                got.0, got.1
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
