//! Legacy formats upgrade exactly as Caffe's upgrade_proto.cpp: V0 and V1
//! prototxts give the same net as the modern spelling; V1 weight files too.

use std::path::{Path, PathBuf};

use caffe_io::proto::v1_layer_parameter::LayerType;
use caffe_io::proto::{NetParameter, V1LayerParameter};
use caffe_io::{binary, decode_caffemodel, read_caffemodel, read_prototxt};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .canonicalize()
        .unwrap()
}

#[test]
fn v1_prototxt_upgrades_to_the_modern_spelling() {
    let modern = read_prototxt(fixtures().join("legacy/lenet_modern.prototxt")).unwrap();
    let v1 = read_prototxt(fixtures().join("legacy/lenet_v1.prototxt")).unwrap();
    assert_eq!(v1, modern);
}

#[test]
fn v0_prototxt_with_padding_layer_upgrades_to_the_modern_spelling() {
    let modern = read_prototxt(fixtures().join("legacy/lenet_modern.prototxt")).unwrap();
    let v0 = read_prototxt(fixtures().join("legacy/lenet_v0.prototxt")).unwrap();
    assert_eq!(v0, modern);
}

#[test]
fn upgrade_reports_its_steps() {
    let text = std::fs::read_to_string(fixtures().join("legacy/lenet_v0.prototxt")).unwrap();
    let mut net = caffe_io::text::parse_net(&text, Path::new("v0"), &caffe_io::Limits::default()).unwrap();
    assert!(caffe_io::upgrade::needs_upgrade(&net));
    let report = caffe_io::upgrade::upgrade_net(&mut net, Path::new("v0")).unwrap();
    assert_eq!(report.steps, vec!["V0 layers", "V1 layers", "input fields"]);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert!(!caffe_io::upgrade::needs_upgrade(&net));
}

#[test]
fn mixing_layer_and_layers_is_an_error() {
    let err = read_prototxt(fixtures().join("bad/mixed_layer_and_layers.prototxt")).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("mixed_layer_and_layers.prototxt"), "{msg}");
    assert!(msg.contains("both 'layer' and legacy 'layers'"), "{msg}");
}

#[test]
fn legacy_batchnorm_params_get_zero_learning_rate_and_inputs_become_a_layer() {
    let net = read_prototxt(fixtures().join("legacy/batchnorm_legacy_params.prototxt")).unwrap();
    assert!(net.input.is_empty() && net.input_shape.is_empty());
    let input = &net.layer[0];
    assert_eq!((input.name(), input.r#type()), ("input", "Input"));
    assert_eq!(input.top, vec!["data"]);
    assert_eq!(input.input_param.as_ref().unwrap().shape[0].dim, vec![1, 4, 3, 3]);
    let bn = &net.layer[1];
    assert_eq!(bn.param.len(), 3);
    for p in &bn.param {
        assert_eq!((p.lr_mult, p.decay_mult), (Some(0.0), Some(0.0)));
    }
}

fn v1_type(ty: &str) -> LayerType {
    match ty {
        "Convolution" => LayerType::Convolution,
        "Pooling" => LayerType::Pooling,
        "InnerProduct" => LayerType::InnerProduct,
        "ReLU" => LayerType::Relu,
        "Softmax" => LayerType::Softmax,
        other => panic!("no V1 type for {other} in this test"),
    }
}

#[test]
fn v1_weight_file_upgrades_to_the_same_weights() {
    // Re-spell real Caffe's LeNet weights as a V1 file (as Caffe wrote them
    // before 2015): `layers` with enum types and a bare `input` name.
    let file = fixtures().join("golden/digits/lenet_digits.caffemodel");
    let modern = read_caffemodel(&file).unwrap();
    let mut v1 = NetParameter {
        name: modern.name.clone(),
        input: vec!["data".into()],
        ..Default::default()
    };
    for layer in modern.layer.iter().filter(|l| l.r#type() != "Input") {
        v1.layers.push(V1LayerParameter {
            name: layer.name.clone(),
            r#type: Some(v1_type(layer.r#type()) as i32),
            bottom: layer.bottom.clone(),
            top: layer.top.clone(),
            blobs: layer.blobs.clone(),
            convolution_param: layer.convolution_param.clone(),
            pooling_param: layer.pooling_param,
            inner_product_param: layer.inner_product_param.clone(),
            ..Default::default()
        });
    }
    let mut bytes = Vec::new();
    binary::write_net(&v1, &mut bytes).unwrap();
    let upgraded = decode_caffemodel(&bytes, Path::new("v1.caffemodel")).unwrap();
    assert!(upgraded.input.is_empty(), "a bare input name is dropped, as Caffe does");
    let expected: Vec<_> = modern.layer.iter().filter(|l| l.r#type() != "Input").collect();
    assert_eq!(upgraded.layer.len(), expected.len());
    for (ours, theirs) in upgraded.layer.iter().zip(expected) {
        assert_eq!(ours.name(), theirs.name());
        assert_eq!(ours.r#type(), theirs.r#type());
        assert_eq!(ours.bottom, theirs.bottom);
        assert_eq!(ours.top, theirs.top);
        assert_eq!(ours.blobs, theirs.blobs, "{}", ours.name());
    }
}
