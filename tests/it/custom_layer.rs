//! A layer registered by a program (`examples/custom_layer.rs`'s Mish) goes
//! through load, inspect, forward, convert, run and save like a built-in one,
//! and computes Mish: checked against the formula evaluated here in f64 on
//! the layer's own input (not by netsurgeon), and, with `NETSURGEON_PYTHON`,
//! against onnxruntime's own `Mish` operator (opset 18) on the exported
//! model's tensors.

#[allow(dead_code)]
#[path = "../../examples/custom_layer.rs"]
mod example;

use ndarray::ArrayD;
use netsurgeon::graph_ir::Net;

fn input() -> ArrayD<f32> {
    // Values from -6 to 6 so that both of Mish's tails are exercised.
    ndarray::Array::from_shape_fn((1, 3, 12, 12), |(_, c, y, x)| {
        ((c * 144 + y * 12 + x) as f32 * 0.37).sin() * 6.0
    })
    .into_dyn()
}

fn mish_f64(x: f32) -> f64 {
    let x = f64::from(x);
    x * (x.exp().ln_1p()).tanh()
}

fn loaded(dir: &std::path::Path) -> Net {
    let prototxt = dir.join("mish_net.prototxt");
    std::fs::write(&prototxt, example::PROTOTXT).unwrap();
    let mut net = Net::load_with(&prototxt, None, &example::layers().load_options()).unwrap();
    net.synthesize_params(7);
    net
}

#[test]
fn a_registered_layer_loads_runs_exports_and_saves() {
    let dir = tempfile::tempdir().unwrap();
    let layers = example::layers();
    let net = loaded(dir.path());

    // Inspect: shapes known through the Mish layers.
    let shapes: Vec<(String, Vec<usize>)> = net.blobs().unwrap().into_iter().map(|b| (b.name, b.shape)).collect();
    assert_eq!(
        shapes,
        [
            ("data".to_string(), vec![1, 3, 12, 12]),
            ("conv".to_string(), vec![1, 4, 10, 10]),
            ("pool".to_string(), vec![1, 4, 5, 5]),
            ("fc".to_string(), vec![1, 5]),
            ("out".to_string(), vec![1, 5]),
        ]
    );

    // Forward: Mish of the inner product's output, against the f64 formula.
    // (The in-place Mish on `conv` leaves only its result, so the check is
    // on `mish_fc`, whose bottom `fc` is a blob of its own.)
    let blobs = netsurgeon::forward(&net, [("data", input())], &layers.forward_options().all_blobs(true)).unwrap();
    let (fc, out) = (&blobs["fc"], &blobs["out"]);
    let mut worst = 0f64;
    for (&x, &y) in fc.iter().zip(out.iter()) {
        let expected = mish_f64(x);
        worst = worst.max((f64::from(y) - expected).abs() / expected.abs().max(1e-3));
    }
    assert!(worst <= 2e-6, "Mish vs the f64 formula: worst relative error {worst:e}");
    // The conv blob holds Mish of the convolution: every value >= Mish's minimum.
    assert!(blobs["conv"].iter().all(|&v| v >= -0.3089), "in-place Mish did not run");

    // Convert, run the file in tract: same numbers as the forward pass.
    let onnx = dir.path().join("mish_net.onnx");
    let exported = netsurgeon::onnx_export::export(&net, &layers.export_options()).unwrap();
    exported.write(&onnx, &Default::default()).unwrap();
    let session = netsurgeon::runtime::SessionBuilder::from_path(&onnx)
        .unwrap()
        .build()
        .unwrap();
    let ran = session.run(vec![input()]).unwrap();
    assert_eq!(ran[0].0, "out");
    assert_eq!(&ran[0].1, out);

    // Save and load again: the layers and params survive.
    let (p, w) = (dir.path().join("saved.prototxt"), dir.path().join("saved.caffemodel"));
    net.save(&p, &w).unwrap();
    let again = Net::load_with(&p, Some(&w), &layers.load_options()).unwrap();
    assert_eq!(again.layer("mish").unwrap().type_name(), "Mish");
    assert_eq!(again.param("fc", 0).unwrap(), net.param("fc", 0).unwrap());

    onnxruntime_agrees(dir.path(), &onnx);
}

#[test]
fn without_registration_the_layer_is_named_and_refused() {
    let dir = tempfile::tempdir().unwrap();
    let prototxt = dir.path().join("mish_net.prototxt");
    std::fs::write(&prototxt, example::PROTOTXT).unwrap();
    // The built-in registry does not know Mish: the net still loads and
    // lists what it can, and export names the layer.
    let net = Net::load(&prototxt).unwrap();
    assert_eq!(net.custom_layers(), [("mish", "Mish"), ("mish_fc", "Mish")]);
    let err = netsurgeon::onnx_export::export(&net, &Default::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("'mish'") && err.contains("Mish"), "{err}");

    // Registered on the Caffe side only: export says the lowering is missing.
    let types_only = {
        let mut types = netsurgeon::graph_ir::LayerRegistry::with_builtins();
        types.register(example::MISH).unwrap();
        types
    };
    let net = Net::load_with(
        &prototxt,
        None,
        &netsurgeon::graph_ir::LoadOptions::default().layers(types_only),
    )
    .unwrap();
    let err = netsurgeon::onnx_export::export(&net, &Default::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("'mish'") && err.contains("no ONNX lowering is registered"),
        "{err}"
    );

    // Wrong wiring is refused by the registered arity, naming the layer.
    let bad = example::PROTOTXT.replace(
        r#"layer { name: "mish_fc" type: "Mish" bottom: "fc" top: "out" }"#,
        r#"layer { name: "mish_fc" type: "Mish" bottom: "fc" bottom: "pool" top: "out" }"#,
    );
    std::fs::write(&prototxt, bad).unwrap();
    let err = Net::load_with(&prototxt, None, &example::layers().load_options())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("'mish_fc'") && err.contains("has 2 bottoms, needs exactly 1"),
        "{err}"
    );

    // A second registration of the same name is refused.
    let mut layers = example::layers();
    assert!(layers.register(example::MISH, |_, _: &example::Mish| Ok(())).is_err());
}

/// onnxruntime runs the exported model; its `fc` and `out` tensors must obey
/// onnxruntime's own Mish operator (a one-node opset-18 model built here).
fn onnxruntime_agrees(dir: &std::path::Path, onnx: &std::path::Path) {
    let Some(python) = crate::common::python("the onnxruntime check of Mish") else {
        return;
    };
    let input_path = dir.join("input.npy");
    netsurgeon::caffe_io::write_npy_f32(&input_path, input().view()).unwrap();
    let script = r#"
import sys
import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, TensorProto

model_path, input_path = sys.argv[1], sys.argv[2]
model = onnx.load(model_path)
onnx.checker.check_model(model, full_check=True)
# Expose the inner product's output too.
model.graph.output.append(helper.make_tensor_value_info("fc", TensorProto.FLOAT, None))
sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
x = np.load(input_path)
fc, out = sess.run(["fc", "out"], {"data": x})
node = helper.make_node("Mish", ["x"], ["y"])
graph = helper.make_graph([node], "mish", [helper.make_tensor_value_info("x", TensorProto.FLOAT, None)],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
reference = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
ref = ort.InferenceSession(reference.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": fc})[0]
err = float(np.max(np.abs(out - ref)) / max(float(np.max(np.abs(ref))), 1e-6))
print(f"onnxruntime: exported Mish vs onnxruntime's Mish operator, max rel {err:.2e}")
sys.exit(0 if err <= 1e-6 else 1)
"#;
    let output = std::process::Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(onnx)
        .arg(&input_path)
        .output()
        .expect("NETSURGEON_PYTHON runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("{text}");
    assert!(
        output.status.success(),
        "onnxruntime disagrees with the exported Mish:\n{text}"
    );
}
