//! The golden suite through ONNX: each case of `fixtures/golden/public` is
//! loaded with graph-ir, exported with onnx-export, run with tract with every
//! blob exposed, and compared blob by blob with Caffe's own values
//! (`max|ours - caffe| <= 1e-4 * max|caffe|`). The cases of
//! `fixtures/golden/layers` (layers without a real-Caffe golden: their
//! reference is a NumPy transcription of Caffe's forward, cross-checked by
//! OpenCV where it implements the layer; see `make_cases.py` there) and of
//! `fixtures/golden/ssd` (the SSD fork's Normalize, Permute and PriorBox:
//! OpenCV's output, confirmed by a transcription of the fork's code) go
//! through the same. With `NETSURGEON_PYTHON` set, every export also goes
//! through onnx's checker and onnxruntime.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use graph_ir::passes::{split_large_conv, SplitConvOptions};
use graph_ir::Net;
use ndarray::ArrayD;
use onnx_export::{export, BatchDim, Export, ExportOptions, ModelOptions, WriteOptions};
use serde_json::Value;
use tract_runtime::{compare, GoldenDir, SessionBuilder, DEFAULT_TOLERANCE};

fn golden_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/golden/public")
}

fn layer_cases_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/golden/layers")
}

fn ssd_cases_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/golden/ssd")
}

/// The real-Caffe golden cases.
fn cases() -> Vec<(String, PathBuf, Value)> {
    cases_in(&golden_root())
}

fn cases_in(root: &Path) -> Vec<(String, PathBuf, Value)> {
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

fn read_npy(path: &Path) -> ArrayD<f32> {
    let bytes = std::fs::read(path).unwrap();
    tract_runtime::compare::read_npy_f32(&bytes, path).unwrap()
}

fn load_and_export<'n>(case: &str, net: &'n Net, batch: BatchDim) -> Result<Export<'n>, onnx_export::Error> {
    let options = ExportOptions {
        model: ModelOptions {
            source_model: Some(case.to_string()),
            ..Default::default()
        },
        batch,
        ..Default::default()
    };
    export(net, &options)
}

/// Exports `net`, runs it in tract with every blob exposed, and returns each
/// Caffe blob's value (split copies included).
fn run_net(case: &str, net: &Net, inputs: HashMap<String, ArrayD<f32>>) -> Result<Vec<(String, ArrayD<f32>)>, String> {
    let exported = load_and_export(case, net, BatchDim::Fixed).map_err(|e| format!("export: {e}"))?;
    let mut tensors: Vec<String> = Vec::new();
    for b in &exported.blobs {
        if !tensors.contains(&b.tensor) {
            tensors.push(b.tensor.clone());
        }
    }
    let session = SessionBuilder::from_bytes(&exported.encode())
        .and_then(|s| s.outputs(&tensors))
        .and_then(|s| s.build())
        .map_err(|e| format!("tract: {e}"))?;
    let outputs = session.run_named(inputs).map_err(|e| format!("tract run: {e}"))?;
    let by_tensor: HashMap<&str, &ArrayD<f32>> = outputs.iter().map(|(n, a)| (n.as_str(), a)).collect();
    Ok(exported
        .blobs
        .iter()
        .map(|b| (b.name.clone(), by_tensor[b.tensor.as_str()].clone()))
        .collect())
}

/// Compares blobs with a golden folder's files (blobs without a file are
/// skipped: the digits folders record a subset).
fn compare_with(dir: &Path, ours: &[(String, ArrayD<f32>)]) -> tract_runtime::Report {
    let golden = GoldenDir::new(dir);
    let names: Vec<&str> = ours
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| golden.path_of(n).exists())
        .collect();
    golden.compare(ours, Some(&names), DEFAULT_TOLERANCE).unwrap()
}

fn argmax_rows(prob: &ArrayD<f32>) -> Vec<usize> {
    prob.outer_iter()
        .map(|row| {
            row.iter()
                .enumerate()
                .fold((0, f32::MIN), |best, (i, &v)| if v > best.1 { (i, v) } else { best })
                .0
        })
        .collect()
}

/// LeNet trained on sklearn's digits: the 10 samples blob by blob, and the
/// 360 test digits' accuracy as Caffe measured it.
#[test]
fn digits_lenet_matches_caffe() {
    let dir = golden_root().join("../digits");
    let mut net = Net::load(dir.join("deploy.prototxt"), Some(&dir.join("lenet_digits.caffemodel"))).unwrap();
    net.reshape_input("data", &[10, 1, 28, 28]).unwrap();
    let input = read_npy(&dir.join("samples/input.npy"));
    let blobs = run_net("digits", &net, HashMap::from([("data".to_string(), input)])).unwrap();
    let report = compare_with(&dir.join("samples/blobs"), &blobs);
    eprintln!("{report}");
    assert!(report.passed() && report.blobs.len() >= 8, "{report}");
    let prob = &blobs.iter().find(|(n, _)| n == "prob").unwrap().1;
    assert_eq!(argmax_rows(prob), (0..10).collect::<Vec<_>>());

    let all = read_npy(&dir.join("test_inputs_all.npy"));
    let labels = read_npy(&dir.join("test_labels_all.npy"));
    net.reshape_input("data", all.shape()).unwrap();
    let blobs = run_net("digits", &net, HashMap::from([("data".to_string(), all)])).unwrap();
    let prob = &blobs.iter().find(|(n, _)| n == "prob").unwrap().1;
    let correct = argmax_rows(prob)
        .iter()
        .zip(labels.iter())
        .filter(|(p, l)| **p == **l as usize)
        .count();
    // Caffe's deploy accuracy: 356 / 360 = 0.98888...
    assert_eq!(correct, 356, "accuracy {correct}/360");
}

/// The fully convolutional LeNet (the net surgery tutorial on digits): a
/// 56x56 input with four digits gives Caffe's 8x8 class map.
#[test]
fn digits_full_conv_matches_caffe() {
    let dir = golden_root().join("../digits");
    let net = Net::load(
        dir.join("lenet_full_conv.prototxt"),
        Some(&dir.join("lenet_full_conv.caffemodel")),
    )
    .unwrap();
    let input = read_npy(&dir.join("full_conv/input_56.npy"));
    let blobs = run_net("full_conv", &net, HashMap::from([("data".to_string(), input)])).unwrap();
    let report = compare_with(&dir.join("full_conv/blobs"), &blobs);
    eprintln!("{report}");
    assert!(report.passed() && report.blobs.len() >= 8, "{report}");
}

/// Runs one case in tract (with its convolutions split first when `split`
/// is given); returns the report's text and whether it passed.
fn run_case(case: &str, dir: &Path, json: &Value, split: Option<&SplitConvOptions>) -> Result<(bool, String), String> {
    let mut net = load_case(dir).map_err(|e| format!("load: {e}"))?;
    if let Some(options) = split {
        split_large_conv(&mut net, options).map_err(|e| format!("split: {e}"))?;
    }
    let inputs: HashMap<String, ArrayD<f32>> = json["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let name = i["name"].as_str().unwrap().to_string();
            (name, read_npy(&dir.join(i["file"].as_str().unwrap())))
        })
        .collect();
    let blobs = run_net(case, &net, inputs)?;
    // Every blob Caffe recorded must be among ours.
    for f in json["blob_files"].as_array().unwrap() {
        let name = f["name"].as_str().unwrap();
        if !blobs.iter().any(|(b, _)| b == name) {
            return Err(format!("Caffe blob '{name}' is not in the export"));
        }
    }
    let golden = GoldenDir::new(dir.join("blobs"));
    let mut ours = Vec::new();
    let mut reference = Vec::new();
    for (name, value) in blobs {
        let r = golden.load(&name).map_err(|e| e.to_string())?;
        // The parts of a split convolution are ours alone; Caffe has no such blobs.
        if r.is_none() && split.is_some() {
            continue;
        }
        reference.extend(r.map(|r| (name.clone(), r)));
        ours.push((name, value));
    }
    let report = compare(&ours, &reference, DEFAULT_TOLERANCE);
    let worst = report.worst().map_or(String::new(), |b| match &b.status {
        tract_runtime::BlobStatus::Compared { rel, .. } => format!(", worst {} rel {rel:.2e}", b.name),
        _ => String::new(),
    });
    eprintln!("{case}: {} blobs{worst}", report.blobs.len());
    Ok((report.passed(), report.to_string()))
}

/// A case's net, with its weights when it has any.
#[allow(clippy::result_large_err)] // a test helper; the error is printed, not passed around
fn load_case(dir: &Path) -> Result<Net, graph_ir::Error> {
    let weights = dir.join("net.caffemodel");
    Net::load(dir.join("net.prototxt"), weights.exists().then_some(weights.as_path()))
}

#[test]
fn golden_cases_match_caffe_in_tract() {
    check_cases_in_tract(cases());
}

#[test]
fn layer_cases_match_their_reference_in_tract() {
    let cases = cases_in(&layer_cases_root());
    assert_eq!(cases.len(), 9, "the layer cases of fixtures/golden/layers/index.json");
    check_cases_in_tract(cases);
}

#[test]
fn ssd_cases_match_opencv_in_tract() {
    let cases = cases_in(&ssd_cases_root());
    assert_eq!(cases.len(), 3, "the cases of fixtures/golden/ssd/index.json");
    check_cases_in_tract(cases);
}

fn check_cases_in_tract(cases: Vec<(String, PathBuf, Value)>) {
    let mut failures = Vec::new();
    for (case, dir, json) in cases {
        match run_case(&case, &dir, &json, None) {
            Ok((true, _)) => {}
            Ok((false, report)) => failures.push(format!("== {case}\n{report}")),
            Err(e) => failures.push(format!("== {case}\n{e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `split_large_conv` changes the arithmetic only by float reassociation:
/// with a threshold low enough to split nearly every convolution of the
/// golden cases (into parts of a few channels), every blob still matches
/// Caffe's within the suite's tolerance.
#[test]
fn golden_cases_match_caffe_with_convolutions_split() {
    let options = SplitConvOptions {
        max_k: 8,
        min_positions: 1,
    };
    let (mut failures, mut split_cases) = (Vec::new(), 0);
    for (case, dir, json) in cases() {
        let net = Net::load(dir.join("net.prototxt"), Some(&dir.join("net.caffemodel"))).unwrap();
        if graph_ir::passes::split_conv::would_split(&net, &options)
            .unwrap()
            .is_empty()
        {
            continue;
        }
        split_cases += 1;
        match run_case(&case, &dir, &json, Some(&options)) {
            Ok((true, _)) => {}
            Ok((false, report)) => failures.push(format!("== {case}\n{report}")),
            Err(e) => failures.push(format!("== {case}\n{e}")),
        }
    }
    assert!(
        split_cases >= 5,
        "only {split_cases} golden cases have a convolution to split"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Writes each case as `<root>/<case>/{model.onnx, case.json}` for
/// `tests/ort_check.py`, the manifest pointing at the golden files; each case
/// is exported with a fixed and with a symbolic batch.
#[test]
fn golden_cases_pass_onnx_checker_and_onnxruntime() {
    let Some(python) = std::env::var_os("NETSURGEON_PYTHON").filter(|p| !p.is_empty()) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must set NETSURGEON_PYTHON (see .ci/run): the onnxruntime check may not be skipped there"
        );
        eprintln!("NETSURGEON_PYTHON is not set: skipping the onnxruntime golden check");
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let modes = [(BatchDim::Fixed, ""), (BatchDim::Symbolic("N".into()), "_batch_N")];
    for ((case, dir, json), (batch, suffix)) in cases()
        .into_iter()
        .chain(cases_in(&layer_cases_root()))
        .chain(cases_in(&ssd_cases_root()))
        .flat_map(|c| modes.clone().into_iter().map(move |m| (c.clone(), m)))
    {
        let net = load_case(&dir).unwrap();
        let exported = load_and_export(&case, &net, batch).unwrap();
        let case_dir = root.path().join(format!("{case}{suffix}"));
        std::fs::create_dir_all(&case_dir).unwrap();
        exported
            .write(&case_dir.join("model.onnx"), &WriteOptions::default())
            .unwrap();
        let inputs: Vec<Value> = json["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                serde_json::json!({
                    "name": i["name"],
                    "file": dir.join(i["file"].as_str().unwrap()).display().to_string(),
                })
            })
            .collect();
        let mut seen = Vec::new();
        let mut blobs = Vec::new();
        for b in &exported.blobs {
            let file = dir.join("blobs").join(tract_runtime::compare::blob_file_name(&b.name));
            if file.exists() && !seen.contains(&b.tensor) {
                seen.push(b.tensor.clone());
                blobs.push(serde_json::json!({"name": b.tensor, "file": file.display().to_string()}));
            }
        }
        let manifest = serde_json::json!({"model": "model.onnx", "inputs": inputs, "blobs": blobs});
        std::fs::write(case_dir.join("case.json"), manifest.to_string()).unwrap();
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ort_check.py");
    let out = std::process::Command::new(python)
        .arg(&script)
        .arg(root.path())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    assert!(out.status.success(), "{text}");
}

/// With a symbolic batch the golden cases run at twice their batch (inputs
/// tiled along axis 0) and each half matches Caffe; layers that cannot keep the
/// batch symbolic are refused with a typed error, never exported wrong.
#[test]
fn golden_cases_with_a_symbolic_batch() {
    let mut failures = Vec::new();
    let mut refused = Vec::new();
    for (case, dir, json) in cases() {
        let net = Net::load(dir.join("net.prototxt"), Some(&dir.join("net.caffemodel"))).unwrap();
        let exported = match load_and_export(&case, &net, BatchDim::Symbolic("N".into())) {
            Ok(e) => e,
            Err(e @ onnx_export::Error::Unsupported { .. }) => {
                refused.push(format!("{case}: {e}"));
                continue;
            }
            Err(e) => panic!("{case}: {e}"),
        };
        let mut builder = SessionBuilder::from_bytes(&exported.encode()).unwrap();
        let mut inputs = HashMap::new();
        let mut batch = None;
        for i in json["inputs"].as_array().unwrap() {
            let name = i["name"].as_str().unwrap().to_string();
            let array = read_npy(&dir.join(i["file"].as_str().unwrap()));
            let b = *batch.get_or_insert(array.shape()[0]);
            // Inputs with the batch get it twice; others (e.g. a bias vector) stay.
            let array = if array.shape()[0] == b {
                ndarray::concatenate(ndarray::Axis(0), &[array.view(), array.view()]).unwrap()
            } else {
                array
            };
            builder = builder.input_shape(&name, array.shape()).unwrap();
            inputs.insert(name, array);
        }
        let mut tensors: Vec<String> = Vec::new();
        for b in &exported.blobs {
            if !tensors.contains(&b.tensor) {
                tensors.push(b.tensor.clone());
            }
        }
        let session = match builder.outputs(&tensors).and_then(|b| b.build()) {
            Ok(s) => s,
            Err(e) => {
                failures.push(format!("== {case}\n{e}"));
                continue;
            }
        };
        let outputs = session.run_named(inputs).unwrap();
        let golden = GoldenDir::new(dir.join("blobs"));
        for b in &exported.blobs {
            let ours = &outputs.iter().find(|(n, _)| *n == b.tensor).unwrap().1;
            let Some(reference) = golden.load(&b.name).unwrap() else {
                continue;
            };
            let n = reference.shape()[0];
            let halves = if ours.shape()[0] == 2 * n {
                vec![
                    ours.slice_axis(ndarray::Axis(0), (0..n).into()).to_owned(),
                    ours.slice_axis(ndarray::Axis(0), (n..2 * n).into()).to_owned(),
                ]
            } else {
                vec![ours.clone()]
            };
            for half in halves {
                let report = compare(
                    &[(b.name.clone(), half)],
                    &[(b.name.clone(), reference.clone())],
                    DEFAULT_TOLERANCE,
                );
                if !report.passed() {
                    failures.push(format!("== {case}\n{report}"));
                }
            }
        }
    }
    eprintln!("refused with a symbolic batch: {refused:#?}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(refused.len() <= 3, "{refused:?}");
}

/// One export serves any batch: mini_caffenet on 3 copies of the golden
/// input gives Caffe's output for each.
#[test]
fn symbolic_batch_runs_any_batch_size() {
    let dir = golden_root().join("mini_caffenet");
    let net = Net::load(dir.join("net.prototxt"), Some(&dir.join("net.caffemodel"))).unwrap();
    let exported = load_and_export("mini_caffenet", &net, BatchDim::Symbolic("N".into())).unwrap();
    let graph = exported.model.graph.as_ref().unwrap();
    let input = read_npy(&dir.join("input.npy"));
    let batch3 = ndarray::concatenate(ndarray::Axis(0), &[input.view(), input.view(), input.view()]).unwrap();
    let mut shape = input.shape().to_vec();
    shape[0] = 3;
    assert_eq!(graph.input[0].name(), "data");
    let session = SessionBuilder::from_bytes(&exported.encode())
        .unwrap()
        .input_shape("data", &shape)
        .unwrap()
        .build()
        .unwrap();
    let out = session.run(vec![batch3]).unwrap();
    let prob = &out[0].1;
    let golden = read_npy(&dir.join("blobs/prob.npy"));
    assert_eq!(prob.shape()[0], 3);
    for item in prob.outer_iter() {
        let item = item.insert_axis(ndarray::Axis(0)).to_owned().into_dyn();
        let report = compare(
            &[("prob".into(), item)],
            &[("prob".into(), golden.clone())],
            DEFAULT_TOLERANCE,
        );
        assert!(report.passed(), "{report}");
    }
}
