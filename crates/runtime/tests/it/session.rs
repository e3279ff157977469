//! Sessions on hand-built ONNX models, checked against values computed here
//! independently (a naive convolution loop), not against tract itself.

use std::collections::HashMap;

use netsurgeon_runtime::{compare, Error, SessionBuilder, DEFAULT_TOLERANCE};
use onnx_export::builder::Dim;
use onnx_export::{ExternalData, WriteOptions};

use crate::common;
use common::{array, conv_relu_model, naive_conv, weights, PARAMS};

#[test]
fn conv_matches_a_naive_loop_and_intermediates_can_be_exposed() {
    let (w, b) = weights();
    let model = conv_relu_model(&w, &b, Dim::Fixed(1));
    let x = array(&[1, 4, 7, 9], 3);
    let expected_conv = naive_conv(&x, &w, &b, &PARAMS).into_dyn();
    let expected_relu = expected_conv.mapv(|v| v.max(0.0));
    assert!(
        expected_conv.iter().any(|&v| v < 0.0),
        "the test needs negative conv outputs"
    );

    // Graph outputs only.
    let session = SessionBuilder::from_proto(&model).unwrap().build().unwrap();
    assert_eq!(session.input_names(), ["data"]);
    assert_eq!(session.output_names(), ["relu"]);
    let out = session.run(vec![x.clone()]).unwrap();
    let report = compare(&out, &[("relu".to_string(), expected_relu.clone())], DEFAULT_TOLERANCE);
    assert!(report.passed(), "{report}");

    // The intermediate "conv" too, and the input itself: tract must not fuse
    // the Relu into the Conv once "conv" is an output.
    let builder = SessionBuilder::from_proto(&model).unwrap();
    let names = builder.tensor_names();
    for n in ["data", "conv", "relu"] {
        assert!(names.iter().any(|t| t == n), "{n} not in {names:?}");
    }
    // The computed tensors are the input and the node outputs: the weights
    // (initializers) are tensors of the model too, but not results.
    assert_eq!(builder.value_names(), ["data", "conv", "relu"]);
    let session = builder.outputs(["data", "conv", "relu"]).unwrap().build().unwrap();
    let out = session.run(vec![x.clone()]).unwrap();
    let names: Vec<_> = out.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["data", "conv", "relu"]);
    let reference = vec![
        ("data".to_string(), x),
        ("conv".to_string(), expected_conv),
        ("relu".to_string(), expected_relu),
    ];
    let report = compare(&out, &reference, DEFAULT_TOLERANCE);
    assert!(report.passed(), "{report}");

    // Decluttered only, and on a 2-thread pool: same values.
    for builder in [
        SessionBuilder::from_proto(&model).unwrap().optimize(false),
        SessionBuilder::from_proto(&model).unwrap().threads(2),
    ] {
        let session = builder.outputs(["data", "conv", "relu"]).unwrap().build().unwrap();
        let out = session.run(vec![reference[0].1.clone()]).unwrap();
        let report = compare(&out, &reference, DEFAULT_TOLERANCE);
        assert!(report.passed(), "{report}");
    }
}

#[test]
fn symbolic_batch_is_fixed_by_input_shape() {
    let (w, b) = weights();
    let model = conv_relu_model(&w, &b, Dim::from("N"));
    let x = array(&[3, 4, 7, 9], 4);
    let expected = naive_conv(&x, &w, &b, &PARAMS).into_dyn().mapv(|v| v.max(0.0));
    let session = SessionBuilder::from_bytes(&prost::Message::encode_to_vec(&model))
        .unwrap()
        .input_shape("data", &[3, 4, 7, 9])
        .unwrap()
        .build()
        .unwrap();
    let out = session.run_named(HashMap::from([("data".to_string(), x)])).unwrap();
    assert_eq!(out[0].1.shape(), &[3, 6, 4, 5]);
    let report = compare(&out, &[("relu".to_string(), expected)], DEFAULT_TOLERANCE);
    assert!(report.passed(), "{report}");
}

#[test]
fn external_data_model_loads_from_its_path() {
    let (w, b) = weights();
    let model = conv_relu_model(&w, &b, Dim::Fixed(1));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("conv.onnx");
    let options = WriteOptions {
        external: ExternalData::Always { threshold: 64 },
        location: None,
    };
    let summary = onnx_export::write_model(&path, &model, &options).unwrap();
    assert_eq!(summary.external.as_ref().unwrap().tensors, 1, "{summary:?}");

    let x = array(&[1, 4, 7, 9], 5);
    let expected = naive_conv(&x, &w, &b, &PARAMS).into_dyn().mapv(|v| v.max(0.0));
    let session = SessionBuilder::from_path(&path).unwrap().build().unwrap();
    let out = session.run(vec![x]).unwrap();
    let report = compare(&out, &[("relu".to_string(), expected)], DEFAULT_TOLERANCE);
    assert!(report.passed(), "{report}");
}

#[test]
fn bad_names_and_inputs_are_typed_errors() {
    let (w, b) = weights();
    let model = conv_relu_model(&w, &b, Dim::Fixed(1));
    let builder = SessionBuilder::from_proto(&model).unwrap();
    assert!(matches!(
        builder.outputs(["nope"]),
        Err(Error::UnknownTensor { name }) if name == "nope"
    ));
    let builder = SessionBuilder::from_proto(&model).unwrap();
    assert!(matches!(
        builder.input_shape("img", &[1]),
        Err(Error::UnknownInput { .. })
    ));

    let session = SessionBuilder::from_proto(&model).unwrap().build().unwrap();
    assert!(matches!(
        session.run(vec![]),
        Err(Error::InputCount { expected: 1, got: 0 })
    ));
    assert!(matches!(
        session.run_named(HashMap::new()),
        Err(Error::MissingInput { .. })
    ));
    let wrong = session.run(vec![array(&[1, 3, 7, 9], 6)]).unwrap_err();
    assert!(matches!(wrong, Error::Run { .. }), "{wrong}");

    let garbage = SessionBuilder::from_bytes(b"\x08\x96\x01not a model").unwrap_err();
    assert!(matches!(garbage, Error::Load { .. }), "{garbage}");
}
