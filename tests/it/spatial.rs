//! Symbolic height and width (`SpatialDims::Symbolic`): one export of a fully
//! convolutional net runs at any input size. At each size the symbolic
//! export must give every blob of a fixed-shape export of the same net
//! reshaped to that size (`net.reshape_input`, whose shapes graph-ir infers
//! as Caffe does), and Caffe's own blobs where the size is the golden one.
//! Nets that cannot be made size-independent are refused with the layer
//! named. With `NETSURGEON_PYTHON` set the same models also go through onnx's
//! checker and onnxruntime at several sizes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ndarray::ArrayD;
use netsurgeon::graph_ir::Net;
use netsurgeon::onnx_export::{export, Export, ExportOptions, SpatialDims};
use netsurgeon::runtime::{compare, GoldenDir, Report, SessionBuilder, DEFAULT_TOLERANCE};
use serde_json::Value;

use crate::common::{case_inputs, python, read_npy, seeded};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/golden")
}

fn symbolic(net: &Net) -> Result<Export<'_>, netsurgeon::onnx_export::Error> {
    export(
        net,
        &ExportOptions {
            spatial: SpatialDims::Symbolic,
            ..Default::default()
        },
    )
}

/// Runs an export in tract at the inputs' shapes, every blob exposed;
/// returns each Caffe blob's value by blob name.
fn run(exported: &Export<'_>, inputs: &HashMap<String, ArrayD<f32>>) -> Vec<(String, ArrayD<f32>)> {
    let mut builder = SessionBuilder::from_bytes(&exported.encode()).unwrap();
    for (name, a) in inputs {
        builder = builder.input_shape(name, a.shape()).unwrap();
    }
    let tensors = exported.tensors();
    let session = builder.outputs(&tensors).unwrap().build().unwrap();
    let outputs = session.run_named(inputs.clone()).unwrap();
    let by_tensor: HashMap<&str, &ArrayD<f32>> = outputs.iter().map(|(n, a)| (n.as_str(), a)).collect();
    exported
        .blobs
        .iter()
        .map(|b| (b.name.clone(), by_tensor[b.tensor.as_str()].clone()))
        .collect()
}

/// The inputs at the net's shapes with `dh`, `dw` added to every 4-D input's
/// height and width (deterministic values; `golden` files where given and
/// the size is unchanged).
fn inputs_at(net: &Net, dh: usize, dw: usize, golden: &HashMap<String, ArrayD<f32>>) -> HashMap<String, ArrayD<f32>> {
    net.inputs()
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mut shape = net.blob_shape(name).unwrap().to_vec();
            if shape.len() == 4 {
                shape[2] += dh;
                shape[3] += dw;
            }
            let value = match golden.get(*name) {
                Some(a) if a.shape() == shape.as_slice() => a.clone(),
                _ => seeded(&shape, 1000 + 31 * i as u64 + 7 * dh as u64 + dw as u64, -1.0, 1.0),
            };
            (name.to_string(), value)
        })
        .collect()
}

/// The fixed-shape export of `load()` reshaped to the inputs' shapes, in tract.
fn fixed_reference(load: &dyn Fn() -> Net, inputs: &HashMap<String, ArrayD<f32>>) -> Vec<(String, ArrayD<f32>)> {
    let mut net = load();
    // One input at a time: an order may pass through an invalid net (a crop
    // reference grown before its source), so retry the ones that failed.
    let mut pending: Vec<(&String, &ArrayD<f32>)> = inputs.iter().collect();
    for _ in 0..inputs.len() {
        pending.retain(|(name, a)| {
            net.blob_shape(name).unwrap() != a.shape() && net.reshape_input(name, a.shape()).is_err()
        });
    }
    assert!(pending.is_empty(), "cannot reshape {pending:?}");
    let exported = export(&net, &ExportOptions::default()).unwrap();
    run(&exported, inputs)
}

/// (dh, dw) steps tried on every case: every parity of the strides used
/// (1, 2, 3) on each axis, square and not.
const STEPS: [(usize, usize); 6] = [(0, 0), (1, 0), (0, 1), (1, 2), (3, 5), (7, 4)];

/// Cases for `tests/ort_check.py`: one directory per net and size, each
/// pointing at the net's one symbolic model, with the inputs and the blobs
/// expected at that size.
struct OrtCases {
    root: tempfile::TempDir,
    count: usize,
}

impl OrtCases {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("cases")).unwrap();
        OrtCases { root, count: 0 }
    }

    /// Writes a symbolic model once; the cases of every size point at it.
    fn model(&self, net: &str, exported: &Export<'_>) -> PathBuf {
        let path = self.root.path().join(format!("{net}.onnx"));
        exported
            .write(&path, &netsurgeon::onnx_export::WriteOptions::default())
            .unwrap();
        path
    }

    /// A case: `model` run on `inputs` must give `expected` (by Caffe blob
    /// name, looked up as the tensor the export put each blob in).
    fn add(
        &mut self,
        model: &Path,
        exported: &Export<'_>,
        inputs: &HashMap<String, ArrayD<f32>>,
        expected: &[(String, ArrayD<f32>)],
    ) {
        let dir = self.root.path().join("cases").join(format!("{:03}", self.count));
        self.count += 1;
        std::fs::create_dir_all(&dir).unwrap();
        let write = |file: String, a: &ArrayD<f32>| {
            netsurgeon::caffe_io::write_npy_f32(dir.join(&file), a.view()).unwrap();
            file
        };
        let inputs: Vec<Value> = inputs
            .iter()
            .enumerate()
            .map(|(i, (name, a))| serde_json::json!({"name": name, "file": write(format!("input{i}.npy"), a)}))
            .collect();
        let mut seen = Vec::new();
        let mut blobs = Vec::new();
        for (i, (name, a)) in expected.iter().enumerate() {
            let tensor = exported.tensor_of(name).unwrap();
            if !seen.contains(&tensor) {
                seen.push(tensor);
                blobs.push(serde_json::json!({"name": tensor, "file": write(format!("blob{i}.npy"), a)}));
            }
        }
        let manifest = serde_json::json!({"model": model.display().to_string(), "inputs": inputs, "blobs": blobs});
        std::fs::write(dir.join("case.json"), manifest.to_string()).unwrap();
    }

    /// Runs the script on every case; panics with its output on a failure.
    fn check(self, python: &Path) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/runtime/tests/ort_check.py");
        let out = std::process::Command::new(python)
            .arg(&script)
            .arg(self.root.path().join("cases"))
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let summary = text.lines().last().unwrap_or_default().to_string();
        eprintln!("onnxruntime: {summary}");
        assert!(out.status.success(), "{text}");
        assert!(
            summary.starts_with(&format!("{} cases, 0 failed", self.count)),
            "{text}"
        );
    }
}

/// One size of one net: the symbolic export against the fixed one (and
/// Caffe's golden blobs if given). Returns the failures' reports and the
/// fixed export's blobs; with `ort`, also records the size as an
/// onnxruntime case (expecting Caffe's blobs where given, else the fixed
/// export's).
fn check_size(
    label: &str,
    symbolic_export: &Export<'_>,
    load: &dyn Fn() -> Net,
    inputs: &HashMap<String, ArrayD<f32>>,
    golden: Option<&GoldenDir>,
    ort: Option<(&mut OrtCases, &Path)>,
) -> (Vec<String>, Vec<(String, ArrayD<f32>)>) {
    let ours = run(symbolic_export, inputs);
    let reference = fixed_reference(load, inputs);
    if let Some((cases, model)) = ort {
        let expected: Vec<(String, ArrayD<f32>)> = match golden {
            Some(g) => reference
                .iter()
                .filter_map(|(n, _)| g.load(n).unwrap().map(|a| (n.clone(), a)))
                .collect(),
            None => reference.clone(),
        };
        cases.add(model, symbolic_export, inputs, &expected);
    }
    let mut failures = Vec::new();
    let report = compare(&ours, &reference, DEFAULT_TOLERANCE);
    if !report.passed() {
        failures.push(format!("== {label}: symbolic vs fixed export\n{report}"));
    }
    if let Some(golden) = golden {
        let names: Vec<&str> = ours
            .iter()
            .map(|(n, _)| n.as_str())
            .filter(|n| golden.path_of(n).exists())
            .collect();
        let report: Report = golden.compare(&ours, Some(&names), DEFAULT_TOLERANCE).unwrap();
        if !report.passed() || names.is_empty() {
            failures.push(format!(
                "== {label}: symbolic vs Caffe ({} blobs)\n{report}",
                names.len()
            ));
        }
    }
    (failures, reference)
}

fn lenet_full_conv() -> Net {
    let dir = fixtures().join("digits");
    Net::load_with_weights(
        dir.join("lenet_full_conv.prototxt"),
        dir.join("lenet_full_conv.caffemodel"),
    )
    .unwrap()
}

/// LeNet made fully convolutional (the net-surgery tutorial on the digits):
/// one export with symbolic H and W gives, at 56x56, Caffe's 8x8 class map
/// blob by blob, and at other sizes (odd, non-square, the classifier's 28x28)
/// the fixed-shape export's blobs.
#[test]
fn lenet_full_conv_runs_at_any_size() {
    lenet_full_conv_sizes(None);
}

fn lenet_full_conv_sizes(mut ort: Option<&mut OrtCases>) {
    let net = lenet_full_conv();
    let exported = symbolic(&net).unwrap();
    let graph = exported.model.graph.as_ref().unwrap();
    let dims: Vec<String> = graph.input[0]
        .r#type
        .as_ref()
        .map(|t| format!("{t:?}"))
        .into_iter()
        .collect();
    assert!(
        dims[0].contains("DimParam(\"H\")") && dims[0].contains("DimParam(\"W\")"),
        "{dims:?}"
    );
    // No size may be baked in: nothing but the weights and small index lists.
    assert!(graph.value_info.is_empty());

    let dir = fixtures().join("digits");
    let golden_input = read_npy(&dir.join("full_conv/input_56.npy"));
    let golden = GoldenDir::new(dir.join("full_conv/blobs"));
    let model = ort.as_ref().map(|o| o.model("lenet_full_conv", &exported));
    let mut failures = Vec::new();
    for (h, w) in [(56, 56), (28, 28), (29, 30), (33, 47), (64, 71), (100, 36)] {
        let input = if (h, w) == (56, 56) {
            golden_input.clone()
        } else {
            seeded(&[1, 1, h, w], (h * 1000 + w) as u64, -1.0, 1.0)
        };
        let inputs = HashMap::from([("data".to_string(), input)]);
        let (f, reference) = check_size(
            &format!("{h}x{w}"),
            &exported,
            &lenet_full_conv,
            &inputs,
            ((h, w) == (56, 56)).then_some(&golden),
            ort.as_deref_mut().zip(model.as_deref()),
        );
        failures.extend(f);
        // conv 5, pool 2/2 (ceil), conv 5, pool 2/2 (ceil), conv 4, conv 1.
        let side = |x: usize| {
            let pool1 = (x - 4 - 2).div_ceil(2) + 1;
            let pool2 = (pool1 - 4 - 2).div_ceil(2) + 1;
            pool2 - 3
        };
        let prob = &reference.iter().find(|(n, _)| n == "prob").unwrap().1;
        assert_eq!(prob.shape(), [1, 10, side(h), side(w)], "{h}x{w}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The classifier LeNet cannot be size-independent: its first InnerProduct's
/// weights fix the input size. The export says so, naming the layer.
#[test]
fn a_classifier_is_refused_with_the_layer_named() {
    let dir = fixtures().join("digits");
    let net = Net::load_with_weights(dir.join("deploy.prototxt"), dir.join("lenet_digits.caffemodel")).unwrap();
    let err = symbolic(&net).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, netsurgeon::onnx_export::Error::Unsupported { .. }),
        "{text}"
    );
    assert!(
        text.contains("layer 'ip1' (InnerProduct)") && text.contains("symbolic"),
        "{text}"
    );
}

/// The golden cases (pooling with ceil rounding, pad clipping and AVE
/// divisors among them) exported with symbolic spatial dims: at the golden
/// size they match Caffe, at other sizes the fixed-shape export of the
/// reshaped net. Nets whose layers bake a size in are refused, naming the
/// layer; exactly the expected ones.
#[test]
fn golden_cases_with_symbolic_spatial_dims() {
    golden_case_sizes(None);
}

/// The two tests above again, each size also run by onnxruntime (and each
/// model through onnx's full checker), when `NETSURGEON_PYTHON` is set.
#[test]
fn symbolic_spatial_exports_in_onnxruntime() {
    let Some(python) = python("the onnxruntime check") else {
        return;
    };
    let mut cases = OrtCases::new();
    lenet_full_conv_sizes(Some(&mut cases));
    golden_case_sizes(Some(&mut cases));
    cases.check(&python);
}

fn golden_case_sizes(mut ort: Option<&mut OrtCases>) {
    let root = fixtures().join("public");
    let index: Value = serde_json::from_str(&std::fs::read_to_string(root.join("index.json")).unwrap()).unwrap();
    let mut failures = Vec::new();
    let mut refused = Vec::new();
    let mut checked = 0;
    for case in index.as_array().unwrap() {
        let case = case["case"].as_str().unwrap();
        let dir = root.join(case);
        let load = || Net::load_with_weights(dir.join("net.prototxt"), dir.join("net.caffemodel")).unwrap();
        let net = load();
        let exported = match symbolic(&net) {
            Ok(e) => e,
            Err(e @ netsurgeon::onnx_export::Error::Unsupported { .. }) => {
                let text = e.to_string();
                assert!(text.contains("layer '"), "{text}");
                refused.push(case.to_string());
                eprintln!("{case}: refused: {text}");
                continue;
            }
            Err(e) => panic!("{case}: {e}"),
        };
        let json: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("case.json")).unwrap()).unwrap();
        let golden_inputs = case_inputs(&dir, &json);
        let model = ort.as_ref().map(|o| o.model(case, &exported));
        for (dh, dw) in STEPS {
            let inputs = inputs_at(&net, dh, dw, &golden_inputs);
            let label = format!("{case} +{dh}x+{dw}");
            let golden = (dh, dw) == (0, 0) && inputs == golden_inputs;
            let (f, _) = check_size(
                &label,
                &exported,
                &load,
                &inputs,
                golden.then_some(&golden_dir(&dir)),
                ort.as_deref_mut().zip(model.as_deref()),
            );
            failures.extend(f);
            checked += 1;
        }
    }
    eprintln!("{checked} case sizes checked; refused: {refused:?}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // InnerProduct and Flatten over H and W, a Slice along H, a Bias operand
    // of fixed size spanning H: none can follow the input size.
    let expected_refusals = ["bias", "flatten_reshape", "ip_4d", "mini_caffenet", "slice"];
    refused.sort();
    assert_eq!(refused, expected_refusals);
    for case in [
        "pool_ave_ceil",
        "pool_ave_pad",
        "pool_ave_pad_clip",
        "pool_max_ceil",
        "pool_max_pad_clip",
        "pool_global",
        "crop",
    ] {
        assert!(
            !refused.iter().any(|c| c == case),
            "{case} must export size-independently"
        );
    }
}

fn golden_dir(dir: &Path) -> GoldenDir {
    GoldenDir::new(dir.join("blobs"))
}

/// tract needs no concrete size either: one session, optimized once with
/// symbolic H and W, serves every size (here LeNet full-conv and the pooling
/// cases whose AVE divisor is computed at run time, plus Crop's runtime ends).
#[test]
fn one_tract_session_serves_every_size() {
    let root = fixtures().join("public");
    let mut nets: Vec<(String, Box<dyn Fn() -> Net>)> = vec![("lenet_full_conv".into(), Box::new(lenet_full_conv))];
    for case in ["pool_ave_ceil", "pool_ave_pad", "pool_max_pad_clip", "crop"] {
        let dir = root.join(case);
        nets.push((
            case.into(),
            Box::new(move || Net::load_with_weights(dir.join("net.prototxt"), dir.join("net.caffemodel")).unwrap()),
        ));
    }
    let mut failures = Vec::new();
    for (name, load) in &nets {
        let net = load();
        let exported = symbolic(&net).unwrap();
        let tensors = exported.tensors();
        let session = SessionBuilder::from_bytes(&exported.encode())
            .unwrap()
            .outputs(&tensors)
            .unwrap()
            .build()
            .unwrap();
        for (dh, dw) in STEPS {
            let inputs = inputs_at(&net, dh, dw, &HashMap::new());
            let outputs = session.run_named(inputs.clone()).unwrap();
            let ours: Vec<(String, ArrayD<f32>)> = exported
                .blobs
                .iter()
                .map(|b| {
                    let i = tensors.iter().position(|t| *t == b.tensor).unwrap();
                    (b.name.clone(), outputs[i].1.clone())
                })
                .collect();
            let report = compare(&ours, &fixed_reference(load.as_ref(), &inputs), DEFAULT_TOLERANCE);
            if !report.passed() {
                failures.push(format!("== {name} +{dh}x+{dw}\n{report}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
