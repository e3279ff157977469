//! The export walk on small nets written inline: blob naming around in-place
//! layers and automatic splits, borrowed weights, and unsupported layers.

use std::path::Path;

use graph_ir::Net;
use onnx_export::{export, Error, ExportOptions, SpatialDims, SymbolicInput};

fn net(prototxt: &str) -> Net {
    let param = caffe_io::parse_prototxt(prototxt, Path::new("inline.prototxt")).unwrap();
    Net::from_proto(param, None).unwrap()
}

const CHAIN: &str = r#"
name: "chain"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 8 dim: 8 } } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1"
        convolution_param { num_output: 4 kernel_size: 3 pad: 1 } }
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer { name: "conv2" type: "Convolution" bottom: "data" top: "conv2"
        convolution_param { num_output: 4 kernel_size: 3 pad: 1 bias_term: false } }
layer { name: "sum" type: "Eltwise" bottom: "conv1" bottom: "conv2" top: "sum" }
"#;

#[test]
fn in_place_layers_and_splits_are_named_as_caffe_blobs() {
    let net = net(CHAIN);
    let exported = export(&net, &ExportOptions::default()).unwrap();
    let graph = exported.model.graph.as_ref().unwrap();
    let node = |name: &str| graph.node.iter().find(|n| n.name() == name).unwrap();
    // The conv's own output is an earlier value of blob conv1; the ReLU
    // writes the final one under the blob's name.
    assert_eq!(node("conv1").output, ["conv1.conv1"]);
    assert_eq!(node("relu1").input, ["conv1.conv1"]);
    assert_eq!(node("relu1").output, ["conv1"]);
    // "data" is read twice: Caffe's split copies are aliases of the input.
    assert_eq!(node("conv2").input[0], "data");
    let table: Vec<(&str, &str)> = exported
        .blobs
        .iter()
        .map(|b| (b.name.as_str(), b.tensor.as_str()))
        .collect();
    assert!(table.contains(&("conv1", "conv1")), "{table:?}");
    assert!(table.contains(&("sum", "sum")), "{table:?}");
    let splits: Vec<_> = exported.blobs.iter().filter(|b| b.split_of.is_some()).collect();
    assert!(!splits.is_empty(), "{table:?}");
    assert!(
        splits.iter().all(|b| b.tensor == *b.split_of.as_ref().unwrap()),
        "{table:?}"
    );
    assert_eq!(graph.output.len(), 1);
    assert_eq!(graph.output[0].name(), "sum");

    // Weights stay in the net: header-only initializers plus borrowed bytes.
    let w = graph.initializer.iter().find(|t| t.name() == "conv1/W").unwrap();
    assert!(w.raw_data.is_none());
    assert_eq!(w.dims, [4, 3, 3, 3]);
    assert_eq!(exported.payloads.get("conv1/W").unwrap().len(), 4 * 27 * 4);
    // The self-contained copy has them.
    let full = exported.to_model();
    let w = full
        .graph
        .as_ref()
        .unwrap()
        .initializer
        .iter()
        .find(|t| t.name() == "conv1/W")
        .unwrap();
    assert_eq!(w.raw_data.as_ref().unwrap().len(), 4 * 27 * 4);
    assert_eq!(
        exported.encode().len() as u64,
        onnx_export::external::encoded_len_with(&exported.model, &exported.payloads)
    );
}

#[test]
fn an_overwritten_input_keeps_its_name() {
    let net = net(r#"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 3 } } }
layer { name: "scale" type: "Power" bottom: "data" top: "data" power_param { scale: 2 } }
"#);
    let exported = export(&net, &ExportOptions::default()).unwrap();
    let graph = exported.model.graph.as_ref().unwrap();
    assert_eq!(graph.input[0].name(), "data");
    assert_eq!(exported.tensor_of("data"), Some("data.scale"));
    assert_eq!(graph.output[0].name(), "data.scale");
}

#[test]
fn loss_layers_are_refused_with_the_layer_named() {
    let net = net(r#"
layer { name: "data" type: "Input" top: "data" top: "label"
        input_param { shape { dim: 2 dim: 3 } shape { dim: 2 } } }
layer { name: "loss" type: "SoftmaxWithLoss" bottom: "data" bottom: "label" top: "loss" }
"#);
    let err = export(&net, &ExportOptions::default()).unwrap_err();
    assert!(
        matches!(&err, Error::Unsupported { layer, .. } if layer == "loss"),
        "{err}"
    );
    let err = export(
        &net,
        &ExportOptions {
            opset: 11,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(matches!(err, Error::UnsupportedOpset { opset: 11, .. }), "{err}");
}

/// The dims of a graph input or output as text: values, params, "?" for unknown.
fn io_dims(info: &onnx_export::onnx::ValueInfoProto) -> Vec<String> {
    use onnx_export::onnx::{tensor_shape_proto::dimension::Value, type_proto};
    let Some(type_proto::Value::TensorType(t)) = info.r#type.as_ref().and_then(|t| t.value.as_ref()) else {
        panic!("not a tensor type")
    };
    t.shape
        .as_ref()
        .unwrap()
        .dim
        .iter()
        .map(|d| match &d.value {
            Some(Value::DimValue(v)) => v.to_string(),
            Some(Value::DimParam(p)) => p.clone(),
            None => "?".to_string(),
        })
        .collect()
}

#[test]
fn symbolic_spatial_dims_name_the_inputs_and_leave_derived_sizes_unknown() {
    let net = net(r#"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 8 dim: 8 } } }
layer { name: "ref" type: "Input" top: "ref" input_param { shape { dim: 1 dim: 3 dim: 5 dim: 6 } } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
        convolution_param { num_output: 4 kernel_size: 3 } }
layer { name: "pool" type: "Pooling" bottom: "conv" top: "pool" pooling_param { pool: AVE kernel_size: 3 stride: 2 } }
layer { name: "gpool" type: "Pooling" bottom: "conv" top: "gpool" pooling_param { pool: MAX global_pooling: true } }
layer { name: "crop" type: "Crop" bottom: "data" bottom: "ref" top: "crop" crop_param { axis: 2 offset: 1 } }
"#);
    let options = ExportOptions {
        spatial: SpatialDims::Symbolic,
        batch: onnx_export::BatchDim::Symbolic("N".into()),
        ..Default::default()
    };
    let exported = export(&net, &options).unwrap();
    let graph = exported.model.graph.as_ref().unwrap();
    let dims = |name: &str| {
        let info = graph
            .input
            .iter()
            .chain(&graph.output)
            .find(|i| i.name() == name)
            .unwrap();
        io_dims(info).join(",")
    };
    assert_eq!(dims("data"), "N,3,H,W");
    // A second input of another size gets its own names.
    assert_eq!(dims("ref"), "N,3,ref_H,ref_W");
    assert_eq!(dims("pool"), "N,4,?,?");
    assert_eq!(dims("gpool"), "N,4,1,1");
    assert_eq!(dims("crop"), "N,3,?,?");
    assert!(graph.value_info.is_empty());

    // Only the inputs asked for, under the names given.
    let options = ExportOptions {
        spatial: SpatialDims::Inputs(vec![SymbolicInput::new("ref", "h", "w")]),
        ..Default::default()
    };
    let exported = export(&net, &options).unwrap();
    let graph = exported.model.graph.as_ref().unwrap();
    assert_eq!(io_dims(&graph.input[0]).join(","), "1,3,8,8");
    assert_eq!(io_dims(&graph.input[1]).join(","), "1,3,h,w");
    let crop = graph.output.iter().find(|o| o.name() == "crop").unwrap();
    assert_eq!(io_dims(crop).join(","), "1,3,?,?");

    let options = ExportOptions {
        spatial: SpatialDims::Inputs(vec![SymbolicInput::new("conv", "h", "w")]),
        ..Default::default()
    };
    let err = export(&net, &options).unwrap_err();
    assert!(matches!(err, Error::Options { .. }), "{err}");
    assert!(err.to_string().contains("'conv'"), "{err}");
}

#[test]
fn size_dependent_layers_are_refused_with_symbolic_spatial_dims() {
    let options = ExportOptions {
        spatial: SpatialDims::Symbolic,
        ..Default::default()
    };
    for (layer, prototxt) in [
        (
            "fc",
            r#"layer { name: "fc" type: "InnerProduct" bottom: "data" top: "fc" inner_product_param { num_output: 2 } }"#,
        ),
        (
            "flat",
            r#"layer { name: "flat" type: "Flatten" bottom: "data" top: "flat" }"#,
        ),
        (
            "cut",
            r#"layer { name: "cut" type: "Slice" bottom: "data" top: "a" top: "b" slice_param { axis: 3 slice_point: 2 } }"#,
        ),
        ("am", r#"layer { name: "am" type: "ArgMax" bottom: "data" top: "am" }"#),
        // Caffe's last window would be empty at some sizes only.
        (
            "sub",
            r#"layer { name: "sub" type: "Pooling" bottom: "data" top: "sub" pooling_param { pool: MAX kernel_size: 1 stride: 2 } }"#,
        ),
    ] {
        let text = format!(
            r#"layer {{ name: "data" type: "Input" top: "data" input_param {{ shape {{ dim: 1 dim: 3 dim: 8 dim: 8 }} }} }}
{prototxt}"#
        );
        let mut net = net(&text);
        net.synthesize_params(0);
        let err = export(&net, &options).unwrap_err();
        assert!(
            matches!(&err, Error::Unsupported { layer: l, .. } if l == layer),
            "{layer}: {err}"
        );
        // The fixed-shape export of the same net is fine.
        export(&net, &ExportOptions::default()).unwrap();
    }
}
