//! The README's library example, on the shipped LeNet: load, list, edit a
//! param, full_conv, save, forward, export; each step checked.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use netsurgeon::graph_ir::{passes, Net};
use netsurgeon::{Forward, ForwardError, ForwardOptions};

fn digits() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/golden/digits")
}

#[test]
fn readme_example_on_lenet() {
    let dir = tempfile::tempdir().unwrap();
    let mut net = Net::load_with_weights(
        digits().join("deploy.prototxt"),
        digits().join("lenet_digits.caffemodel"),
    )
    .unwrap();
    let names: Vec<String> = net.blobs().unwrap().into_iter().map(|b| b.name).collect();
    assert_eq!(
        names,
        ["data", "conv1", "pool1", "conv2", "pool2", "ip1", "ip2", "prob"]
    );

    // Raising a bias by 1 raises that channel of the conv output by exactly 1.
    let input = netsurgeon::caffe_io::read_npy_f32(digits().join("full_conv/input_56.npy")).unwrap();
    let mut small = net.clone();
    let corner = input.slice(ndarray::s![.., .., ..28, ..28]).to_owned().into_dyn();
    let all = ForwardOptions::default().all_blobs(true);
    let before = netsurgeon::forward(&small, [("data", corner.clone())], &all).unwrap();
    small.param_mut("conv1", 1).unwrap()[[0]] += 1.0;
    let after = netsurgeon::forward(&small, [("data", corner.clone())], &all).unwrap();
    let (b, a) = (&before["conv1"], &after["conv1"]);
    let shift = a - b;
    let channel0 = shift.index_axis(ndarray::Axis(1), 0);
    assert!(channel0.iter().all(|d| (d - 1.0).abs() < 1e-5));
    assert!(shift.index_axis(ndarray::Axis(1), 1).iter().all(|d| d.abs() < 1e-6));

    // The tutorial's cast, saved, and its 8x8 map on the 56x56 canvas.
    // Inputs as a HashMap, as pipelines often hold them.
    let feed = || HashMap::from([("data".to_string(), input.clone())]);
    passes::full_conv(&mut net, "data", &[1, 1, 56, 56]).unwrap();
    net.save(dir.path().join("fc.prototxt"), dir.path().join("fc.caffemodel"))
        .unwrap();
    let mut blobs = netsurgeon::forward(&net, feed(), &all).unwrap();
    assert_eq!(blobs.names().next(), Some("data"), "pycaffe's order");
    let prob = blobs.remove("prob").unwrap();
    assert!(!blobs.contains("prob"));
    assert_eq!(prob.shape(), &[1, 10, 8, 8]);
    let caffe = netsurgeon::caffe_io::read_npy_f32(digits().join("full_conv/blobs/prob.npy")).unwrap();
    let err = prob
        .iter()
        .zip(caffe.iter())
        .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
    assert!(err <= 1e-4, "max error {err}");

    let exported = netsurgeon::onnx_export::export(&net, &Default::default()).unwrap();
    let out = dir.path().join("fc.onnx");
    exported.write(&out, &Default::default()).unwrap();
    assert!(std::fs::metadata(&out).unwrap().len() > 1_000_000);
}

/// A forward pass refuses bad inputs before tract sees them, naming what is
/// wrong and what to do.
#[test]
fn forward_names_bad_inputs() {
    let net = Net::load_with_weights(
        digits().join("deploy.prototxt"),
        digits().join("lenet_digits.caffemodel"),
    )
    .unwrap();
    let forward = Forward::new(&net, &ForwardOptions::default().threads(1)).unwrap();
    assert_eq!(forward.inputs().collect::<Vec<_>>(), ["data"]);
    assert_eq!(forward.input_shape("data"), Some(&[1, 1, 28, 28][..]));
    let good = || ndarray::ArrayD::<f32>::zeros(vec![1, 1, 28, 28]);

    // A typo: the unknown name, the net's inputs and the likely one.
    let e = forward.run([("dta", good())]).unwrap_err();
    assert!(
        matches!(&e, ForwardError::UnknownInput { name, .. } if name == "dta"),
        "{e:?}"
    );
    assert_eq!(e.suggestion(), Some("data"));
    let message = e.to_string();
    assert!(
        message.contains("'dta' is not an input") && message.contains("'data'") && message.contains("did you mean"),
        "{message}"
    );

    // A wrong shape: the blob, both shapes and the way to reshape.
    let e = forward
        .run([("data", ndarray::ArrayD::<f32>::zeros(vec![2, 1, 28, 28]))])
        .unwrap_err();
    match &e {
        ForwardError::InputShape { name, expected, given } => {
            assert_eq!(
                (name.as_str(), &expected[..], &given[..]),
                ("data", &[1, 1, 28, 28][..], &[2, 1, 28, 28][..])
            );
        }
        other => panic!("expected InputShape, got {other:?}"),
    }
    let message = e.to_string();
    for part in [
        "input 'data' has shape (2, 1, 28, 28)",
        "prepared for (1, 1, 28, 28)",
        "net.reshape_input(\"data\", &[2, 1, 28, 28])",
        "--input data=2,1,28,28",
    ] {
        assert!(message.contains(part), "{part:?} not in: {message}");
    }

    // Missing and repeated inputs.
    let none: [(&str, ndarray::ArrayD<f32>); 0] = [];
    let e = forward.run(none).unwrap_err();
    assert!(
        matches!(&e, ForwardError::MissingInput { name, .. } if name == "data"),
        "{e:?}"
    );
    let e = forward.run([("data", good()), ("data", good())]).unwrap_err();
    assert!(
        matches!(&e, ForwardError::DuplicateInput { name } if name == "data"),
        "{e:?}"
    );

    // And the right input runs, its outputs under their Caffe names.
    let blobs = forward.run(vec![("data".to_string(), good())]).unwrap();
    assert_eq!(blobs.names().collect::<Vec<_>>(), ["prob"]);
    assert_eq!(blobs["prob"].shape(), &[1, 10]);
}
