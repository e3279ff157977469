//! The golden suite through ONNX: each case of `fixtures/golden/public` is
//! loaded with graph-ir and run as a library user runs it (`Forward`: exported
//! with onnx-export, run with tract with every blob exposed), and compared
//! blob by blob with Caffe's own values
//! (`max|ours - caffe| <= 1e-4 * max|caffe|`). The cases of
//! `fixtures/golden/layers` (layers without a real-Caffe golden: their
//! reference is a NumPy transcription of Caffe's forward, cross-checked by
//! OpenCV where it implements the layer; see `make_cases.py` there), of
//! `fixtures/golden/hand` (the second reference of the layers OpenCV lacks:
//! Clip, Threshold, Tile, Reduction and Embed on tiny inputs, with values
//! worked out by hand from Caffe's C++, checked to the bit) and of
//! `fixtures/golden/ssd` (the SSD fork's Normalize, Permute and PriorBox:
//! OpenCV's output, confirmed by a transcription of the fork's code) go
//! through the same. With `NETSURGEON_PYTHON` set, every export also goes
//! through onnx's checker and onnxruntime.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ndarray::ArrayD;
use netsurgeon::graph_ir::passes::{split_large_conv, SplitConvOptions};
use netsurgeon::graph_ir::Net;
use netsurgeon::onnx_export::{export, BatchDim, Export, ExportOptions, ModelOptions, WriteOptions};
use netsurgeon::runtime::{compare, GoldenDir, SessionBuilder, DEFAULT_TOLERANCE};
use netsurgeon::{Forward, ForwardOptions};
use serde_json::Value;

use crate::common::{case_inputs, cases_in, read_npy};

fn golden_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/golden/public")
}

fn layer_cases_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/golden/layers")
}

fn hand_cases_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/golden/hand")
}

fn fork_cases_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/golden/forks")
}

fn fork_layer_cases_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/golden/forks2")
}

/// Cases tract cannot run, with the operator it lacks (onnxruntime runs them
/// in `golden_cases_pass_onnx_checker_and_onnxruntime`).
const TRACT_LACKS: &[(&str, &str)] = &[("roi_pooling", "MaxRoiPool")];

fn ssd_cases_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/golden/ssd")
}

/// The real-Caffe golden cases.
fn cases() -> Vec<(String, PathBuf, Value)> {
    cases_in(&golden_root())
}

fn load_and_export<'n>(
    case: &str,
    net: &'n Net,
    batch: BatchDim,
) -> Result<Export<'n>, netsurgeon::onnx_export::Error> {
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

/// Runs `net` as a library user does (`netsurgeon::Forward`: exported, then
/// run in tract with every blob exposed) and returns each Caffe blob's value
/// (split copies included), in pycaffe's order.
fn run_net(_case: &str, net: &Net, inputs: HashMap<String, ArrayD<f32>>) -> Result<Vec<(String, ArrayD<f32>)>, String> {
    let options = ForwardOptions::default().all_blobs(true);
    let forward = Forward::new(net, &options).map_err(|e| format!("forward: {e}"))?;
    let blobs = forward.run(inputs).map_err(|e| format!("tract run: {e}"))?;
    Ok(blobs.into_vec())
}

/// Compares blobs with a golden folder's files (blobs without a file are
/// skipped: the digits folders record a subset).
fn compare_with(dir: &Path, ours: &[(String, ArrayD<f32>)]) -> netsurgeon::runtime::Report {
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
    let mut net = Net::load_with_weights(dir.join("deploy.prototxt"), dir.join("lenet_digits.caffemodel")).unwrap();
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
    let net = Net::load_with_weights(
        dir.join("lenet_full_conv.prototxt"),
        dir.join("lenet_full_conv.caffemodel"),
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
    let (ours, reference) = case_blobs(case, dir, json, split)?;
    let report = compare(&ours, &reference, DEFAULT_TOLERANCE);
    let worst = report.worst().map_or(String::new(), |b| match &b.status {
        netsurgeon::runtime::BlobStatus::Compared { rel, .. } => format!(", worst {} rel {rel:.2e}", b.name),
        _ => String::new(),
    });
    eprintln!("{case}: {} blobs{worst}", report.blobs.len());
    Ok((report.passed(), report.to_string()))
}

/// Our blobs of one case run in tract, and the case's reference blobs.
type CaseBlobs = (Vec<(String, ArrayD<f32>)>, Vec<(String, ArrayD<f32>)>);

/// Runs one case in tract (see `run_case`); returns our blobs and the
/// reference's, which has every blob of ours but the parts of a split
/// convolution.
fn case_blobs(case: &str, dir: &Path, json: &Value, split: Option<&SplitConvOptions>) -> Result<CaseBlobs, String> {
    let mut net = load_case(dir).map_err(|e| format!("load: {e}"))?;
    if let Some(options) = split {
        split_large_conv(&mut net, options).map_err(|e| format!("split: {e}"))?;
    }
    let inputs = case_inputs(dir, json);
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
    Ok((ours, reference))
}

/// A case's net, with its weights when it has any.
#[allow(clippy::result_large_err)] // a test helper; the error is printed, not passed around
fn load_case(dir: &Path) -> Result<Net, netsurgeon::graph_ir::Error> {
    let weights = dir.join("net.caffemodel");
    Net::load_with(
        dir.join("net.prototxt"),
        weights.exists().then_some(weights.as_path()),
        &Default::default(),
    )
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

/// The second reference of the layers OpenCV's Caffe importer lacks: tiny
/// inputs on the edges of each rule (Clip at its bounds and with min == max,
/// Threshold's strict `>` at the threshold, Tile's whole blocks, Reduction of
/// every axis from `axis` with MEAN's float `coeff / dim`, Embed's truncation
/// of negative fractional indices), whose values were worked out by hand from
/// BVLC Caffe's C++ and are written as literals in
/// `fixtures/golden/hand/make_cases.py`. They are Caffe's float32 results, so
/// ours must equal them to the bit, but for the deviations listed in
/// `HAND_DEVIATIONS` (which must then be exactly as listed: a fix fails the
/// test too, until its line is removed).
#[test]
fn hand_cases_match_the_hand_computed_values_in_tract() {
    let cases = cases_in(&hand_cases_root());
    let names: Vec<&str> = cases.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(names, ["clip", "threshold", "tile", "reduction", "embed"]);
    let mut failures = Vec::new();
    for (case, dir, json) in &cases {
        let (ours, reference) = case_blobs(case, dir, json, None).unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(
            ours.len(),
            reference.len(),
            "{case}: every blob of ours has a hand-computed value"
        );
        let mut worst = (String::new(), 0);
        for ((name, a), (_, r)) in ours.iter().zip(&reference) {
            assert_eq!(a.shape(), r.shape(), "{case}/{name}: shape");
            let ulps = a
                .iter()
                .zip(r.iter())
                .map(|(&a, &r)| ulps_apart(a, r))
                .max()
                .unwrap_or(0);
            let allowed = HAND_DEVIATIONS
                .iter()
                .find(|d| d.0 == case && d.1 == name)
                .map_or(0, |d| d.2);
            if ulps != allowed {
                failures.push(format!(
                    "{case}/{name}: {ulps} ulps from the hand-computed value (allowed: exactly {allowed})\n  ours {:?}\n  hand {:?}",
                    a.iter().collect::<Vec<_>>(),
                    r.iter().collect::<Vec<_>>()
                ));
            }
            if ulps > worst.1 {
                worst = (name.clone(), ulps);
            }
        }
        match worst {
            (name, ulps) if ulps > 0 => eprintln!("{case}: {} blobs, worst {name} {ulps} ulps", ours.len()),
            _ => eprintln!("{case}: {} blobs, all exact", ours.len()),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Clip and Threshold of NaN and infinities, by hand from Caffe's C++ (in
/// tract only: onnxruntime's Clip gives NaN for NaN, so this is not a case of
/// `fixtures/golden/hand`, which onnxruntime runs too).
#[test]
fn clip_and_threshold_of_nan_and_infinities_follow_caffe() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("net.prototxt"),
        r#"layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 } } }
layer { name: "clip" type: "Clip" bottom: "data" top: "clip" clip_param { min: -0.5 max: 0.8 } }
layer { name: "thr" type: "Threshold" bottom: "data" top: "thr" threshold_param { threshold: 0.3 } }
"#,
    )
    .unwrap();
    let net = load_case(dir.path()).unwrap();
    let x = ArrayD::from_shape_vec(
        ndarray::IxDyn(&[1, 3]),
        vec![f32::NAN, f32::INFINITY, f32::NEG_INFINITY],
    )
    .unwrap();
    let blobs = run_net("nan", &net, HashMap::from([("data".to_string(), x)])).unwrap();
    let blob = |name: &str| {
        blobs
            .iter()
            .find(|(n, _)| n == name)
            .unwrap()
            .1
            .iter()
            .copied()
            .collect::<Vec<f32>>()
    };
    // clip_layer.cpp: std::max(min, std::min(x, max)), where std::min(a, b) is
    // `b < a ? b : a` and std::max(a, b) is `a < b ? b : a`:
    //   NaN:  std::min(NaN, 0.8) = NaN (0.8 < NaN is false), std::max(-0.5, NaN) = -0.5
    //   +inf: std::min(inf, 0.8) = 0.8, std::max(-0.5, 0.8) = 0.8
    //   -inf: std::min(-inf, 0.8) = -inf, std::max(-0.5, -inf) = -0.5
    assert_eq!(blob("clip"), [-0.5, 0.8, -0.5]);
    // threshold_layer.cpp: x > 0.3 ? 1 : 0; NaN > 0.3 is false.
    assert_eq!(blob("thr"), [0.0, 1.0, 0.0]);
}

/// Where our export is known to round differently from Caffe on the hand
/// cases: `(case, blob, ulps, why)`. None today: Reduction MEAN was one ulp
/// off while the export used ReduceMean; it now scales the sum by Caffe's
/// float `coeff / dim`.
const HAND_DEVIATIONS: &[(&str, &str, u32, &str)] = &[];

/// How many floats lie between `a` and `b` (0 when equal, -0 == +0; NaN is
/// only equal to NaN).
fn ulps_apart(a: f32, b: f32) -> u32 {
    if a == b || (a.is_nan() && b.is_nan()) {
        return 0;
    }
    if a.is_nan() || b.is_nan() {
        return u32::MAX;
    }
    // Orders the bit patterns as the floats are ordered.
    let key = |x: f32| {
        let i = x.to_bits() as i32;
        i64::from(if i < 0 { -(i & 0x7fff_ffff) } else { i })
    };
    (key(a) - key(b)).unsigned_abs().min(u64::from(u32::MAX)) as u32
}

/// Every case of `fixtures/golden/layers` has a reference besides our NumPy
/// transcription: OpenCV agreed on some of its blobs when it was written, or
/// its `second_reference` is a hand-computed case that names it back.
#[test]
fn every_layer_case_has_a_second_reference() {
    let hand: HashMap<String, Value> = cases_in(&hand_cases_root())
        .into_iter()
        .map(|(name, _, json)| (name, json))
        .collect();
    let mut by_hand = Vec::new();
    for (case, _, json) in cases_in(&layer_cases_root()) {
        let opencv = json["opencv_agrees_on"].as_array().unwrap();
        let Some(second) = json["second_reference"].as_str() else {
            assert!(
                !opencv.is_empty(),
                "{case}: neither OpenCV nor a hand-computed case checks it"
            );
            continue;
        };
        let folder = second
            .split_whitespace()
            .find_map(|w| w.strip_prefix("fixtures/golden/hand/"))
            .unwrap_or_else(|| panic!("{case}: second_reference '{second}' names no hand case"));
        let back = hand
            .get(folder)
            .unwrap_or_else(|| panic!("{case}: no hand case '{folder}'"));
        assert_eq!(back["second_reference_for"], format!("layers/{case}"), "{case}");
        by_hand.push(case);
    }
    assert_eq!(by_hand, ["clip", "threshold", "tile", "reduction", "embed_parameter"]);
}

#[test]
fn ssd_cases_match_opencv_in_tract() {
    let cases = cases_in(&ssd_cases_root());
    assert_eq!(cases.len(), 3, "the cases of fixtures/golden/ssd/index.json");
    check_cases_in_tract(cases);
}

/// The fork layers and fields of issue 12 (`fixtures/golden/forks`): ceil_mode,
/// ConvolutionDepthwise, Axpy, Dropout's scale_train, DeepLab's hole, against OpenCV.
#[test]
fn fork_cases_match_opencv_in_tract() {
    let cases = cases_in(&fork_cases_root());
    assert_eq!(cases.len(), 5, "the cases of fixtures/golden/forks/index.json");
    check_cases_in_tract(cases);
}

/// The fork layers of `fixtures/golden/forks2`: SegNet's and PSPNet's BN,
/// Interp, both Upsamples (with Pooling's mask top), ROIPooling and
/// DetectionOutput, against OpenCV or a hand-confirmed transcription of the
/// fork (each case's `engine` says which).
#[test]
fn fork_layer_cases_match_their_reference_in_tract() {
    let all = cases_in(&fork_layer_cases_root());
    assert_eq!(all.len(), 14, "the cases of fixtures/golden/forks2/index.json");
    let (lacking, cases): (Vec<_>, Vec<_>) = all
        .into_iter()
        .partition(|(case, ..)| TRACT_LACKS.iter().any(|(c, _)| c == case));
    check_cases_in_tract(cases);
    // tract lacks the operator: say so exactly, so that the day it has it this fails.
    for (case, dir, json) in lacking {
        let op = TRACT_LACKS.iter().find(|(c, _)| *c == case).unwrap().1;
        match run_case(&case, &dir, &json, None) {
            Err(e) => assert!(e.contains(op), "{case}: expected tract to lack {op}, got: {e}"),
            Ok(_) => panic!("{case}: tract now runs {op}: move the case out of TRACT_LACKS"),
        }
    }
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
        let net = Net::load_with_weights(dir.join("net.prototxt"), dir.join("net.caffemodel")).unwrap();
        if netsurgeon::graph_ir::passes::split_conv::would_split(&net, &options)
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
        .chain(cases_in(&hand_cases_root()))
        .chain(cases_in(&ssd_cases_root()))
        .chain(cases_in(&fork_cases_root()))
        .chain(cases_in(&fork_layer_cases_root()))
        .flat_map(|c| modes.clone().into_iter().map(move |m| (c.clone(), m)))
    {
        let net = load_case(&dir).unwrap();
        let symbolic = matches!(batch, BatchDim::Symbolic(_));
        let exported = match load_and_export(&case, &net, batch) {
            Ok(e) => e,
            // The refusals listed for a symbolic batch (checked there).
            Err(e)
                if symbolic
                    && REFUSED_WITH_A_SYMBOLIC_BATCH
                        .iter()
                        .any(|(c, why)| c.ends_with(&format!("/{case}")) && e.to_string().contains(why)) =>
            {
                continue
            }
            Err(e) => panic!("{case}{suffix}: {e}"),
        };
        let case_dir = root.path().join(format!("{case}{suffix}"));
        std::fs::create_dir_all(&case_dir).unwrap();
        exported
            .write(case_dir.join("model.onnx"), &WriteOptions::default())
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
            let file = dir
                .join("blobs")
                .join(netsurgeon::runtime::compare::blob_file_name(&b.name));
            if file.exists() && !seen.contains(&b.tensor) {
                seen.push(b.tensor.clone());
                blobs.push(serde_json::json!({"name": b.tensor, "file": file.display().to_string()}));
            }
        }
        let manifest = serde_json::json!({"model": "model.onnx", "inputs": inputs, "blobs": blobs});
        std::fs::write(case_dir.join("case.json"), manifest.to_string()).unwrap();
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/runtime/tests/ort_check.py");
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

/// With a symbolic batch the cases of every golden suite run at twice their
/// batch (inputs tiled along axis 0) and each half matches the reference;
/// layers that cannot keep the batch symbolic are refused with a typed error,
/// never exported wrong. The refused cases must be exactly those of
/// `REFUSED_WITH_A_SYMBOLIC_BATCH`, each for the reason given there: a new
/// refusal fails, and so does a listed one that now exports.
#[test]
fn golden_cases_with_a_symbolic_batch() {
    let suites = [
        golden_root(),
        layer_cases_root(),
        hand_cases_root(),
        ssd_cases_root(),
        fork_cases_root(),
        fork_layer_cases_root(),
    ];
    let mut refused = Vec::new();
    for root in &suites {
        let suite = root.file_name().unwrap().to_string_lossy().into_owned();
        for (case, error) in check_cases_with_a_symbolic_batch(cases_in(root)) {
            refused.push((format!("{suite}/{case}"), error));
        }
    }
    eprintln!("refused with a symbolic batch: {refused:#?}");
    let names: Vec<&str> = refused.iter().map(|(c, _)| c.as_str()).collect();
    let expected: Vec<&str> = REFUSED_WITH_A_SYMBOLIC_BATCH.iter().map(|(c, _)| *c).collect();
    assert_eq!(names, expected, "the cases refused with a symbolic batch: {refused:#?}");
    for ((case, error), (_, why)) in refused.iter().zip(REFUSED_WITH_A_SYMBOLIC_BATCH) {
        assert!(
            error.contains(why),
            "{case}: refused with '{error}', expected a reason containing '{why}'"
        );
    }
}

/// The golden cases refused with a symbolic batch, `(suite/case, part of the
/// error saying why)`, in suite order: DetectionOutput is exported for one
/// image. Every other layer of the golden nets keeps the batch symbolic (the refusals themselves are checked
/// by `symbolic_batch_refusals_name_the_layer_and_the_reason`).
const REFUSED_WITH_A_SYMBOLIC_BATCH: &[(&str, &str)] = &[
    (
        "forks2/detection_output",
        "exported for one image; export with a fixed batch of 1",
    ),
    (
        "forks2/detection_output_corner",
        "exported for one image; export with a fixed batch of 1",
    ),
    (
        "forks2/detection_output_empty",
        "exported for one image; export with a fixed batch of 1",
    ),
];

/// The layers refused with a symbolic batch (an operation along the batch
/// axis, a reshape that moves it), each exported with a fixed batch and
/// refused with a symbolic one by an error naming the layer and the reason.
#[test]
fn symbolic_batch_refusals_name_the_layer_and_the_reason() {
    let input = |name: &str, dims: &[usize]| {
        let dims: Vec<String> = dims.iter().map(|d| format!("dim: {d}")).collect();
        format!(
            "layer {{ name: \"{name}\" type: \"Input\" top: \"{name}\" input_param {{ shape {{ {} }} }} }}\n",
            dims.join(" ")
        )
    };
    let nets = [
        (
            input("data", &[4, 3])
                + r#"layer { name: "slice" type: "Slice" bottom: "data" top: "a" top: "b" slice_param { axis: 0 slice_point: 1 } }"#,
            "layer 'slice' (Slice): cannot export to ONNX: Slice along the batch axis needs a fixed batch",
        ),
        (
            input("data", &[4, 3, 2, 2])
                + &input("like", &[2, 3, 2, 2])
                + r#"layer { name: "crop" type: "Crop" bottom: "data" bottom: "like" top: "crop" crop_param { axis: 0 } }"#,
            "layer 'crop' (Crop): cannot export to ONNX: Crop along the batch axis needs a fixed batch",
        ),
        (
            input("data", &[4, 5])
                + r#"layer { name: "argmax" type: "ArgMax" bottom: "data" top: "argmax" argmax_param { axis: 0 } }"#,
            "layer 'argmax' (ArgMax): cannot export to ONNX: ArgMax along the batch axis needs a fixed batch",
        ),
        (
            input("data", &[2, 3, 4])
                + r#"layer { name: "reshape" type: "Reshape" bottom: "data" top: "r" reshape_param { shape { dim: 3 dim: -1 } } }"#,
            "layer 'reshape' (Reshape): cannot export to ONNX: with a symbolic batch, reshaping [2, 3, 4] to [3, 8] \
             does not keep the batch axis first",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (prototxt, expected) in nets {
        std::fs::write(dir.path().join("net.prototxt"), &prototxt).unwrap();
        let net = load_case(dir.path()).unwrap_or_else(|e| panic!("{prototxt}\n{e}"));
        load_and_export("refusal", &net, BatchDim::Fixed).unwrap_or_else(|e| panic!("{prototxt}\n{e}"));
        match load_and_export("refusal", &net, BatchDim::Symbolic("N".into())) {
            Err(e @ netsurgeon::onnx_export::Error::Unsupported { .. }) => assert_eq!(e.to_string(), expected),
            Err(e) => panic!("{prototxt}\nnot an Unsupported error: {e}"),
            Ok(_) => panic!("{prototxt}\nexported with a symbolic batch"),
        }
    }
}

/// The blobs of Reductions from axis 0, which reduce over the batch too: at
/// twice the batch (two copies of the input) a SUM is twice Caffe's value at
/// the golden batch, as Caffe itself would give; `(case, blob, factor)`.
const BATCH_REDUCED: &[(&str, &str, f32)] = &[("reduction", "sum", 2.0), ("reduction", "mean_all", 1.0)];

/// Runs each case at twice its batch with a symbolic batch (see above) and
/// returns the refused ones, `(case, error)`; panics if any blob differs.
fn check_cases_with_a_symbolic_batch(cases: Vec<(String, PathBuf, Value)>) -> Vec<(String, String)> {
    let mut failures = Vec::new();
    let mut refused = Vec::new();
    for (case, dir, json) in cases {
        let net = load_case(&dir).unwrap();
        let exported = match load_and_export(&case, &net, BatchDim::Symbolic("N".into())) {
            Ok(e) => e,
            Err(e @ netsurgeon::onnx_export::Error::Unsupported { .. }) => {
                refused.push((case, e.to_string()));
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
        let tensors = exported.tensors();
        let session = match builder.outputs(&tensors).and_then(|b| b.build()) {
            Ok(s) => s,
            // Checked where TRACT_LACKS is: tract cannot run it at any batch.
            Err(e)
                if TRACT_LACKS
                    .iter()
                    .any(|(c, op)| *c == case && e.to_string().contains(op)) =>
            {
                continue
            }
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
            if let Some(&(_, _, factor)) = BATCH_REDUCED.iter().find(|(c, n, _)| *c == case && *n == b.name) {
                // Reduced over the batch too: two copies sum to twice Caffe's value.
                let twice = reference.mapv(|v| v * factor);
                let report = compare(
                    &[(b.name.clone(), ours.clone())],
                    &[(b.name.clone(), twice)],
                    DEFAULT_TOLERANCE,
                );
                if !report.passed() {
                    failures.push(format!("== {case} (batch-reduced, x{factor})\n{report}"));
                }
                continue;
            }
            // A blob without the batch (a Parameter, PriorBox) is compared whole.
            let halves = match reference.shape().first() {
                Some(&n) if ours.shape().first() == Some(&(2 * n)) && ours.shape()[1..] == reference.shape()[1..] => {
                    vec![
                        ours.slice_axis(ndarray::Axis(0), (0..n).into()).to_owned(),
                        ours.slice_axis(ndarray::Axis(0), (n..2 * n).into()).to_owned(),
                    ]
                }
                _ => vec![ours.clone()],
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
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    refused
}

/// One export serves any batch: mini_caffenet on 3 copies of the golden
/// input gives Caffe's output for each.
#[test]
fn symbolic_batch_runs_any_batch_size() {
    let dir = golden_root().join("mini_caffenet");
    let net = Net::load_with_weights(dir.join("net.prototxt"), dir.join("net.caffemodel")).unwrap();
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

/// The YOLOv3 ports' Caffe pools one more window when kernel - stride is odd
/// (no field says so: `--dialect yolo`). Hand-computed: MAX 2/1 over
/// [[1, 5, 2], [7, 3, 9], [4, 8, 6]] gives BVLC's 2x2 [[7, 9], [8, 9]], and
/// the fork's 3x3, its last row and column windows cut at the edge:
/// [[7, 9, 9], [8, 9, 9], [8, 8, 6]].
#[test]
fn yolo_dialect_pooling_keeps_the_windows_the_fork_adds() {
    use netsurgeon::caffe_io::dialect::{Dialect, DialectSet};
    use netsurgeon::graph_ir::LoadOptions;
    let text = r#"
        layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 1 dim: 3 dim: 3 } } }
        layer { name: "pool" type: "Pooling" bottom: "data" top: "pool" pooling_param { pool: MAX kernel_size: 2 stride: 1 } }"#;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("net.prototxt");
    std::fs::write(&path, text).unwrap();
    let x = ndarray::arr2(&[[1f32, 5., 2.], [7., 3., 9.], [4., 8., 6.]])
        .into_shape_with_order(vec![1, 1, 3, 3])
        .unwrap();
    let run = |options: &LoadOptions| {
        let net = Net::load_with(&path, None, options).unwrap();
        let forward = Forward::new(&net, &ForwardOptions::default()).unwrap();
        forward.run([("data", x.clone())]).unwrap().into_vec().remove(0).1
    };
    let bvlc = run(&LoadOptions::default());
    assert_eq!(bvlc.into_raw_vec_and_offset().0, [7., 9., 8., 9.]);
    let yolo = run(&LoadOptions::default().dialects(DialectSet::new().with(Dialect::Yolo)));
    assert_eq!(yolo.shape(), [1, 1, 3, 3]);
    assert_eq!(yolo.into_raw_vec_and_offset().0, [7., 9., 9., 8., 9., 9., 8., 8., 6.]);
}
