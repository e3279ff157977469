//! Inconsistent nets give errors that name the layer and the shapes, never panics.

use crate::common;

use caffe_io::proto::{BlobProto, BlobShape, LayerParameter, NetParameter};
use common::parse;
use graph_ir::{Error, Net};

const DATA: &str =
    r#"layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 8 dim: 8 } } }"#;

// The error carries names and shapes by value; size does not matter in a test.
#[allow(clippy::result_large_err)]
fn build(layers: &str) -> Result<Net, Error> {
    Net::from_proto(parse(&format!("{DATA}\n{layers}")), None)
}

#[test]
fn missing_bottom_names_the_layer_and_blob() {
    let err = build(r#"layer { name: "conv" type: "Convolution" bottom: "nope" top: "conv" convolution_param { num_output: 2 kernel_size: 1 } }"#)
        .unwrap_err();
    assert!(
        matches!(&err, Error::UnknownBottom { layer, blob, .. } if layer == "conv" && blob == "nope"),
        "{err:?}"
    );
    assert!(err.to_string().contains("'nope'"), "{err}");
}

#[test]
fn concat_mismatch_names_the_layer_and_shapes() {
    let err = build(
        r#"layer { name: "other" type: "Input" top: "other" input_param { shape { dim: 1 dim: 3 dim: 5 dim: 5 } } }
           layer { name: "cat" type: "Concat" bottom: "data" bottom: "other" top: "cat" }"#,
    )
    .unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(&err, Error::Shape { layer, inputs, .. } if layer == "cat" && inputs.len() == 2),
        "{err:?}"
    );
    assert!(
        message.contains("(1, 3, 8, 8)") && message.contains("(1, 3, 5, 5)"),
        "{message}"
    );
}

#[test]
fn eltwise_mismatch_names_the_layer_and_shapes() {
    let err = build(
        r#"layer { name: "pool" type: "Pooling" bottom: "data" top: "pool" pooling_param { kernel_size: 2 stride: 2 } }
           layer { name: "sum" type: "Eltwise" bottom: "data" bottom: "pool" top: "sum" }"#,
    )
    .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("'sum'") && message.contains("(1, 3, 4, 4)"),
        "{message}"
    );
}

fn blob(shape: &[i64], fill: f32) -> BlobProto {
    let count: i64 = shape.iter().product();
    BlobProto {
        shape: Some(BlobShape { dim: shape.to_vec() }),
        data: vec![fill; count as usize],
        ..Default::default()
    }
}

fn weights(layer: &str, blobs: Vec<BlobProto>) -> NetParameter {
    NetParameter {
        layer: vec![LayerParameter {
            name: Some(layer.to_string()),
            blobs,
            ..Default::default()
        }],
        ..Default::default()
    }
}

const CONV: &str = r#"layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" convolution_param { num_output: 4 kernel_size: 3 } }"#;

#[test]
fn wrong_weight_shape_names_the_layer_and_both_shapes() {
    let net = parse(&format!("{DATA}\n{CONV}"));
    let err = Net::from_proto(
        net,
        Some(weights("conv", vec![blob(&[4, 3, 5, 5], 0.0), blob(&[4], 0.0)])),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::ParamShape { layer, index: 0, expected, actual, .. }
            if layer == "conv" && expected == &[4, 3, 3, 3] && actual == &[4, 3, 5, 5]),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("(4, 3, 5, 5)") && message.contains("(4, 3, 3, 3)") && message.contains("rename"),
        "{message}"
    );
}

#[test]
fn wrong_weight_count_is_an_error() {
    let net = parse(&format!("{DATA}\n{CONV}"));
    let err = Net::from_proto(net, Some(weights("conv", vec![blob(&[4, 3, 3, 3], 0.0)]))).unwrap_err();
    assert!(
        matches!(
            err,
            Error::ParamCount {
                expected: 2,
                actual: 1,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn modern_shaped_blob_gets_no_legacy_tolerance() {
    // (1, 1, 4, 27) written with a modern shape is not (4, 27): only legacy dims are tolerated.
    let net = parse(&format!(
        "{DATA}\n{}",
        r#"layer { name: "fc" type: "InnerProduct" bottom: "data" top: "fc" inner_product_param { num_output: 4 bias_term: false } }"#
    ));
    let err = Net::from_proto(net, Some(weights("fc", vec![blob(&[1, 1, 4, 192], 0.0)]))).unwrap_err();
    assert!(matches!(err, Error::ParamShape { .. }), "{err:?}");
}

#[test]
fn custom_layer_loads_and_is_named_when_its_output_is_needed() {
    let net = build(
        r#"layer { name: "relu" type: "ReLU" bottom: "data" top: "r" }
           layer { name: "py" type: "Python" bottom: "r" top: "py" python_param { module: "m" layer: "L" } }
           layer { name: "after" type: "ReLU" bottom: "py" top: "after" }"#,
    )
    .unwrap();
    assert_eq!(net.custom_layers(), vec![("py", "Python")]);
    // The listing keeps every blob, with the shapes it can know.
    let listed: Vec<(String, Option<Vec<usize>>)> = net
        .list_blobs()
        .unwrap()
        .into_iter()
        .map(|b| (b.name, b.shape))
        .collect();
    assert_eq!(
        listed,
        vec![
            ("data".to_string(), Some(vec![1, 3, 8, 8])),
            ("r".to_string(), Some(vec![1, 3, 8, 8])),
            ("py".to_string(), None),
            ("after".to_string(), None),
        ]
    );
    // Asking for what the layer computes names the layer, its type and the way on.
    let err = net.blob_shape("after").unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(&err, Error::UnsupportedLayer { layer, type_name, blob, .. }
            if layer == "py" && type_name == "Python" && blob.as_deref() == Some("after")),
        "{err:?}"
    );
    assert!(message.contains("can still be inspected"), "{message}");
    assert!(
        message.contains("Convolution") && message.contains("InnerProduct"),
        "{message}"
    );
    assert!(net.blobs().is_err());
}

#[test]
fn custom_layer_keeps_its_weights() {
    let net = parse(&format!(
        "{DATA}\n{}",
        r#"layer { name: "norm" type: "DepthwiseConvolution" bottom: "data" top: "norm" }"#
    ));
    let net = Net::from_proto(net, Some(weights("norm", vec![blob(&[3], 20.0)]))).unwrap();
    assert_eq!(net.param("norm", 0).unwrap().shape(), &[3]);
}

#[test]
fn missing_weights_are_an_error_unless_an_initialisation_is_chosen() {
    use graph_ir::{LoadOptions, MissingWeights};
    let layers = format!(
        "{DATA}\n{CONV}\n{}",
        r#"layer { name: "conv2" type: "Convolution" bottom: "conv" top: "conv2"
             convolution_param { num_output: 2 kernel_size: 1 bias_filler { type: "constant" value: 0.5 } } }"#
    );
    let given = || weights("conv", vec![blob(&[4, 3, 3, 3], 1.0), blob(&[4], 1.0)]);
    let err = Net::from_proto(parse(&layers), Some(given())).unwrap_err();
    assert!(
        matches!(&err, Error::MissingWeights { layers } if layers == &["conv2"]),
        "{err:?}"
    );
    assert!(err.to_string().contains("--missing-weights"), "{err}");

    let options = |missing_weights| LoadOptions {
        missing_weights,
        ..LoadOptions::default()
    };
    let filled = Net::from_proto_with(parse(&layers), Some(given()), &options(MissingWeights::Filler)).unwrap();
    assert!(filled.param("conv2", 1).unwrap().iter().all(|&v| v == 0.5));
    let zeroed = Net::from_proto_with(parse(&layers), Some(given()), &options(MissingWeights::Zero)).unwrap();
    assert!(zeroed.param("conv2", 1).unwrap().iter().all(|&v| v == 0.0));
    assert!(zeroed.param("conv", 0).unwrap().iter().all(|&v| v == 1.0));
}

#[test]
fn weights_for_absent_layers_are_listed() {
    let mut w = weights("conv", vec![blob(&[4, 3, 3, 3], 1.0), blob(&[4], 1.0)]);
    w.layer.push(LayerParameter {
        name: Some("fc_old".to_string()),
        blobs: vec![blob(&[2], 0.0)],
        ..Default::default()
    });
    w.layer.push(LayerParameter {
        name: Some("relu_old".to_string()),
        ..Default::default()
    });
    let net = Net::from_proto(parse(&format!("{DATA}\n{CONV}")), Some(w)).unwrap();
    // Layers without weights (a ReLU of the training net) are not worth a warning.
    assert_eq!(net.unused_weights(), &["fc_old".to_string()]);
}

#[test]
fn shapes_past_the_limits_are_refused_before_allocation() {
    // A prototxt alone can ask for a blob of 10^15 elements: refused by name.
    let huge = parse(
        r#"layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 100000000 dim: 100000000 } } }"#,
    );
    let err = Net::from_proto(huge, None).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::Limit { .. }), "{message}");
    assert!(
        message.starts_with(
            "layer 'data' (Input): top 'data' of shape (1, 3, 100000000, 100000000): 30000000000000000 elements"
        ),
        "{message}"
    );
    assert!(message.contains("--max-blob-elements"), "{message}");

    // A param that would be created from a filler is refused before it exists.
    let wide = format!(
        "{DATA}\n{}",
        r#"layer { name: "fc" type: "InnerProduct" bottom: "data" top: "fc" inner_product_param { num_output: 4000000000 } }"#
    );
    let message = build_err(&wide);
    assert!(message.contains("layer 'fc' (InnerProduct): "), "{message}");
    assert!(message.contains("exceeds the limit"), "{message}");

    // The limit is exact: data (1 x 3 x 8 x 8 = 192 elements) is the largest blob here.
    let options = |max_blob_elements| graph_ir::LoadOptions {
        limits: graph_ir::Limits {
            max_blob_elements,
            ..graph_ir::Limits::default()
        },
        ..Default::default()
    };
    let small = format!("{DATA}\n{CONV}");
    let err = Net::from_proto_with(parse(&small), None, &options(191))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("top 'data'") && err.contains("192 elements in one blob exceeds the limit of 191"),
        "{err}"
    );
    Net::from_proto_with(parse(&small), None, &options(192)).unwrap();
}

fn build_err(text: &str) -> String {
    Net::from_proto(parse(text), None).unwrap_err().to_string()
}

#[test]
fn duplicate_top_is_an_error() {
    let err = build(
        r#"layer { name: "a" type: "ReLU" bottom: "data" top: "x" }
           layer { name: "b" type: "Sigmoid" bottom: "data" top: "x" }"#,
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::DuplicateTop { layer, producer, .. } if layer == "b" && producer == "a"),
        "{err:?}"
    );
}

#[test]
fn in_place_on_a_shared_blob_is_rejected_as_caffe_does() {
    // data is read by conv and by an in-place ReLU: Caffe splits data, and the
    // ReLU's top 'data' becomes a second producer.
    let err = build(&format!(
        "{CONV}\n{}",
        r#"layer { name: "relu" type: "ReLU" bottom: "data" top: "data" }"#
    ))
    .unwrap_err();
    assert!(
        matches!(&err, Error::DuplicateTop { layer, blob, .. } if layer == "relu" && blob == "data"),
        "{err:?}"
    );
}

#[test]
fn parameter_errors_name_the_layer() {
    for (layer, text) in [
        (
            "pool",
            r#"layer { name: "pool" type: "Pooling" bottom: "data" top: "pool" pooling_param { kernel_size: 2 kernel_h: 2 kernel_w: 2 } }"#,
        ),
        (
            "lrn",
            r#"layer { name: "lrn" type: "LRN" bottom: "data" top: "lrn" lrn_param { local_size: 4 } }"#,
        ),
        (
            "conv",
            r#"layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" convolution_param { num_output: 4 kernel_size: 3 kernel_size: 3 kernel_size: 3 } }"#,
        ),
        (
            "conv",
            r#"layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" convolution_param { num_output: 4 kernel_size: 1 group: 2 } }"#,
        ),
        (
            "elt",
            r#"layer { name: "elt" type: "Eltwise" bottom: "data" bottom: "data" top: "elt" eltwise_param { operation: PROD coeff: 1 coeff: 2 } }"#,
        ),
        (
            "resh",
            r#"layer { name: "resh" type: "Reshape" bottom: "data" top: "resh" reshape_param { shape { dim: -1 dim: -1 } } }"#,
        ),
        (
            "resh",
            r#"layer { name: "resh" type: "Reshape" bottom: "data" top: "resh" reshape_param { shape { dim: 5 dim: -1 } } }"#,
        ),
        (
            "crop",
            r#"layer { name: "crop" type: "Crop" bottom: "data" bottom: "data" top: "crop" crop_param { offset: 1 } }"#,
        ),
        (
            "two",
            r#"layer { name: "two" type: "InnerProduct" bottom: "data" top: "a" top: "b" inner_product_param { num_output: 2 } }"#,
        ),
        (
            "rules",
            r#"layer { name: "rules" type: "ReLU" bottom: "data" top: "r" include { phase: TEST } exclude { phase: TRAIN } }"#,
        ),
        // Caffe would give `min` everywhere, ONNX's Clip `max`: refused.
        (
            "clip",
            r#"layer { name: "clip" type: "Clip" bottom: "data" top: "c" clip_param { min: 1 max: 0 } }"#,
        ),
        ("clip", r#"layer { name: "clip" type: "Clip" bottom: "data" top: "c" }"#),
        (
            "tile",
            r#"layer { name: "tile" type: "Tile" bottom: "data" top: "t" tile_param { axis: 1 } }"#,
        ),
        (
            "tile",
            r#"layer { name: "tile" type: "Tile" bottom: "data" top: "t" tile_param { tiles: 0 } }"#,
        ),
        (
            "tile",
            r#"layer { name: "tile" type: "Tile" bottom: "data" top: "t" tile_param { axis: 4 tiles: 2 } }"#,
        ),
        (
            "red",
            r#"layer { name: "red" type: "Reduction" bottom: "data" top: "r" reduction_param { axis: -5 } }"#,
        ),
        (
            "mvn",
            r#"layer { name: "resh" type: "Reshape" bottom: "data" top: "d5" reshape_param { shape { dim: 1 dim: 3 dim: 2 dim: 4 dim: 8 } } }
               layer { name: "mvn" type: "MVN" bottom: "d5" top: "m" }"#,
        ),
        (
            "silence",
            r#"layer { name: "silence" type: "Silence" bottom: "data" top: "s" }"#,
        ),
        (
            "perm",
            r#"layer { name: "perm" type: "Permute" bottom: "data" top: "p" permute_param { order: 0 order: 4 } }"#,
        ),
        (
            "perm",
            r#"layer { name: "perm" type: "Permute" bottom: "data" top: "p" permute_param { order: 1 order: 1 } }"#,
        ),
        (
            "pb",
            r#"layer { name: "pb" type: "PriorBox" bottom: "data" bottom: "data" top: "p" prior_box_param { max_size: 4 } }"#,
        ),
        (
            "pb",
            r#"layer { name: "pb" type: "PriorBox" bottom: "data" bottom: "data" top: "p" prior_box_param { min_size: 4 max_size: 2 } }"#,
        ),
        (
            "pb",
            r#"layer { name: "pb" type: "PriorBox" bottom: "data" bottom: "data" top: "p" prior_box_param { min_size: 4 variance: 0.1 variance: 0.2 } }"#,
        ),
        (
            "pb",
            r#"layer { name: "pb" type: "PriorBox" bottom: "data" bottom: "data" top: "p" prior_box_param { min_size: 4 step: 8 step_h: 8 step_w: 8 } }"#,
        ),
        (
            "pb",
            r#"layer { name: "pb" type: "PriorBox" bottom: "data" top: "p" prior_box_param { min_size: 4 } }"#,
        ),
        (
            "norm",
            r#"layer { name: "resh" type: "Reshape" bottom: "data" top: "d5" reshape_param { shape { dim: 1 dim: 3 dim: 2 dim: 4 dim: 8 } } }
               layer { name: "norm" type: "Normalize" bottom: "d5" top: "n" }"#,
        ),
        (
            "shuffle",
            r#"layer { name: "shuffle" type: "ShuffleChannel" bottom: "data" top: "s" shuffle_channel_param { group: 2 } }"#,
        ),
        (
            "shuffle",
            r#"layer { name: "shuffle" type: "ShuffleChannel" bottom: "data" top: "s" shuffle_channel_param { group: 0 } }"#,
        ),
        (
            "embed",
            r#"layer { name: "embed" type: "Embed" bottom: "data" top: "e" embed_param { num_output: 4 } }"#,
        ),
        ("param", r#"layer { name: "param" type: "Parameter" top: "p" }"#),
    ] {
        let err = build(text).unwrap_err();
        assert!(err.to_string().contains(&format!("'{layer}'")), "{layer}: {err}");
    }
}

#[test]
fn negative_conv_output_is_an_error_not_a_panic() {
    let err = build(r#"layer { name: "big" type: "Convolution" bottom: "data" top: "big" convolution_param { num_output: 1 kernel_size: 11 } }"#)
        .unwrap_err();
    assert!(
        matches!(&err, Error::Shape { layer, inputs, .. } if layer == "big" && inputs == &[vec![1, 3, 8, 8]]),
        "{err:?}"
    );
}

#[test]
fn reshape_that_params_do_not_fit_leaves_the_net_unchanged() {
    let mut net = build(
        r#"layer { name: "fc" type: "InnerProduct" bottom: "data" top: "fc" inner_product_param { num_output: 2 } }"#,
    )
    .unwrap();
    let err = net.reshape_input("data", &[1, 3, 9, 9]).unwrap_err();
    assert!(
        matches!(&err, Error::ParamShape { layer, expected, actual, .. }
        if layer == "fc" && expected == &[2, 243] && actual == &[2, 192]),
        "{err:?}"
    );
    assert_eq!(net.blob_shape("data").unwrap(), &[1, 3, 8, 8]);
    assert_eq!(net.blob_shape("fc").unwrap(), &[1, 2]);
    // Only the batch changes: fine.
    net.reshape_input("data", &[5, 3, 8, 8]).unwrap();
    assert_eq!(net.blob_shape("fc").unwrap(), &[5, 2]);
    assert!(matches!(
        net.reshape_input("fc", &[1, 2]),
        Err(Error::NotAnInput { .. })
    ));
}

#[test]
fn missing_names_are_errors() {
    let mut net = build(CONV).unwrap();
    assert!(matches!(net.blob_shape("nope"), Err(Error::NoSuchBlob(_))));
    assert!(matches!(net.param("nope", 0), Err(Error::NoSuchLayer(_))));
    assert!(matches!(
        net.param_mut("conv", 2),
        Err(Error::NoSuchParam { count: 2, .. })
    ));
}
