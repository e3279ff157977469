//! The pycaffe-like API: save/reload round trips, param access, reshaping,
//! transplants by name (with Caffe's legacy-shape tolerance), and weight
//! buffers moved rather than copied.

use crate::common;

use caffe_io::proto::{BlobProto, BlobShape, LayerParameter, NetParameter};
use common::{fixtures, golden_cases, parse};
use graph_ir::{passes, Net};
use ndarray::{ArrayD, IxDyn};

fn assert_same_net(a: &Net, b: &Net) {
    assert_eq!(a.blobs().unwrap(), b.blobs().unwrap());
    assert_eq!(a.params().len(), b.params().len());
    for ((na, pa), (nb, pb)) in a.params().into_iter().zip(b.params()) {
        assert_eq!(na, nb);
        assert_eq!(pa, pb, "{na}");
    }
    let protos = |n: &Net| -> Vec<LayerParameter> { n.layers().iter().map(|l| l.proto().clone()).collect() };
    assert_eq!(protos(a), protos(b));
    let ops = |n: &Net| -> Vec<graph_ir::Op> { n.layers().iter().map(|l| l.op().clone()).collect() };
    assert_eq!(ops(a), ops(b));
}

#[test]
fn save_then_reload_is_equal_for_every_golden_case() {
    let dir = tempfile::tempdir().unwrap();
    for case in golden_cases() {
        let net = Net::load_with_weights(case.join("net.prototxt"), case.join("net.caffemodel")).unwrap();
        let (proto, model) = (dir.path().join("net.prototxt"), dir.path().join("net.caffemodel"));
        net.save(&proto, &model).unwrap();
        let again = Net::load_with_weights(&proto, &model).unwrap();
        assert_same_net(&net, &again);
        // Every caffemodel layer entry carries that layer's params.
        let written = caffe_io::read_caffemodel(&model).unwrap();
        for (layer, entry) in net.layers().iter().zip(&written.layer) {
            assert_eq!(entry.name(), layer.name());
            assert_eq!(entry.blobs.len(), layer.params().len(), "{}", case.display());
        }
    }
}

#[test]
fn saving_keeps_fields_that_are_not_modelled() {
    let dir = tempfile::tempdir().unwrap();
    let digits = fixtures().join("golden/digits");
    let net = Net::load(digits.join("deploy.prototxt")).unwrap();
    net.save(dir.path().join("a.prototxt"), dir.path().join("a.caffemodel"))
        .unwrap();
    let text = std::fs::read_to_string(dir.path().join("a.prototxt")).unwrap();
    assert!(text.contains("lr_mult: 2") && text.contains("\"xavier\""), "{text}");
}

#[test]
fn full_conv_net_saves_and_reloads() {
    let dir = tempfile::tempdir().unwrap();
    let digits = fixtures().join("golden/digits");
    let mut net =
        Net::load_with_weights(digits.join("deploy.prototxt"), digits.join("lenet_digits.caffemodel")).unwrap();
    passes::full_conv(&mut net, "data", &[1, 1, 56, 56]).unwrap();
    let (proto, model) = (dir.path().join("fc.prototxt"), dir.path().join("fc.caffemodel"));
    net.save(&proto, &model).unwrap();
    let again = Net::load_with_weights(&proto, &model).unwrap();
    assert_same_net(&net, &again);
    assert_eq!(again.blob_shape("prob").unwrap(), &[1, 10, 8, 8]);
    assert_eq!(again.layer("ip1-conv").unwrap().type_name(), "Convolution");
}

#[test]
fn loading_weights_moves_the_buffers() {
    let net = parse(
        r#"layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 6 } } }
           layer { name: "fc" type: "InnerProduct" bottom: "data" top: "fc" inner_product_param { num_output: 3 } }"#,
    );
    let weight = BlobProto {
        shape: Some(BlobShape { dim: vec![3, 6] }),
        data: (0..18).map(|v| v as f32).collect(),
        ..Default::default()
    };
    // A legacy 4-D bias (1, 1, 1, 3), as old caffemodels store it.
    let bias = BlobProto {
        num: Some(1),
        channels: Some(1),
        height: Some(1),
        width: Some(3),
        data: vec![0.5, 1.5, 2.5],
        ..Default::default()
    };
    let ptrs = (weight.data.as_ptr(), bias.data.as_ptr());
    let weights = NetParameter {
        layer: vec![LayerParameter {
            name: Some("fc".into()),
            blobs: vec![weight, bias],
            ..Default::default()
        }],
        ..Default::default()
    };
    let net = Net::from_proto(net, Some(weights)).unwrap();
    let params = net.layer("fc").unwrap().params();
    assert_eq!(params[0].as_ptr(), ptrs.0);
    assert_eq!(params[1].as_ptr(), ptrs.1);
    assert_eq!(params[1].shape(), &[3], "legacy (1, 1, 1, 3) takes the layer's shape");
    assert_eq!(params[1].as_slice().unwrap(), &[0.5, 1.5, 2.5]);
}

#[test]
fn legacy_fc_weights_transplant_into_the_fc_shape() {
    let mut net = Net::load(fixtures().join("golden/digits/deploy.prototxt")).unwrap();
    let legacy = BlobProto {
        num: Some(1),
        channels: Some(1),
        height: Some(10),
        width: Some(500),
        data: vec![0.25; 5000],
        ..Default::default()
    };
    let bias = BlobProto {
        shape: Some(BlobShape { dim: vec![10] }),
        data: vec![1.0; 10],
        ..Default::default()
    };
    let weights = NetParameter {
        layer: vec![
            LayerParameter {
                name: Some("ip2".into()),
                blobs: vec![legacy, bias],
                ..Default::default()
            },
            LayerParameter {
                name: Some("not_here".into()),
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    let report = net.copy_params_from_proto(weights).unwrap();
    assert_eq!(
        (report.copied, report.ignored),
        (vec!["ip2".to_string()], vec!["not_here".to_string()])
    );
    assert_eq!(net.param("ip2", 0).unwrap().shape(), &[10, 500]);
    assert!(net.param("ip2", 0).unwrap().iter().all(|&v| v == 0.25));
}

#[test]
fn copy_params_from_another_net_by_name() {
    let digits = fixtures().join("golden/digits");
    let trained =
        Net::load_with_weights(digits.join("deploy.prototxt"), digits.join("lenet_digits.caffemodel")).unwrap();
    let mut fresh = Net::load(digits.join("deploy.prototxt")).unwrap();
    assert!(fresh.param("conv1", 0).unwrap().iter().all(|&v| v == 0.0));
    let report = fresh.copy_params_from(&trained).unwrap();
    assert_eq!(report.copied, vec!["conv1", "conv2", "ip1", "ip2"]);
    assert!(report.ignored.is_empty());
    assert_eq!(fresh.param("ip1", 0).unwrap(), trained.param("ip1", 0).unwrap());

    // A shape mismatch is an error and copies nothing, not even earlier layers.
    let mut other = Net::from_proto(
        parse(
            r#"layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 1 dim: 28 dim: 28 } } }
               layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1" convolution_param { num_output: 20 kernel_size: 5 } }
               layer { name: "ip2" type: "InnerProduct" bottom: "conv1" top: "ip2" inner_product_param { num_output: 10 } }"#,
        ),
        None,
    )
    .unwrap();
    let err = other.copy_params_from(&trained).unwrap_err();
    assert!(err.to_string().contains("'ip2'"), "{err}");
    assert!(other.param("conv1", 0).unwrap().iter().all(|&v| v == 0.0));
}

#[test]
fn params_are_editable_in_place_and_by_replacement() {
    let mut net = Net::load(fixtures().join("models/net_surgery/conv.prototxt")).unwrap();
    assert_eq!(net.blob_shape("conv").unwrap(), &[1, 3, 96, 96]);
    net.param_mut("conv", 0).unwrap().fill(0.5);
    net.param_mut("conv", 1).unwrap()[[1]] = 2.0;
    assert!(net.param("conv", 0).unwrap().iter().all(|&v| v == 0.5));
    assert_eq!(net.param("conv", 1).unwrap().as_slice().unwrap(), &[0.0, 2.0, 0.0]);
    net.set_param("conv", 1, ArrayD::from_elem(IxDyn(&[3]), 7.0)).unwrap();
    assert!(net.set_param("conv", 1, ArrayD::zeros(IxDyn(&[4]))).is_err());
    // pycaffe's tutorial: reshape the input, re-infer.
    net.reshape_input("data", &[1, 1, 50, 60]).unwrap();
    assert_eq!(net.blob_shape("conv").unwrap(), &[1, 3, 46, 56]);
    // The new input shape is saved with the net.
    assert_eq!(
        net.to_proto().layer[0].input_param.as_ref().unwrap().shape[0].dim,
        vec![1, 1, 50, 60]
    );
}

#[test]
fn fillers_initialise_params_without_weights() {
    let net = Net::from_proto(
        parse(
            r#"layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 2 dim: 3 dim: 3 } } }
               layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
                       convolution_param { num_output: 2 kernel_size: 1 weight_filler { type: "gaussian" std: 0.1 } bias_filler { type: "constant" value: 0.1 } } }
               layer { name: "prelu" type: "PReLU" bottom: "conv" top: "conv" }
               layer { name: "scale" type: "Scale" bottom: "conv" top: "s" scale_param { bias_term: true } }"#,
        ),
        None,
    )
    .unwrap();
    assert!(net.param("conv", 0).unwrap().iter().all(|&v| v == 0.0));
    assert!(net.param("conv", 1).unwrap().iter().all(|&v| v == 0.1));
    assert!(net.param("prelu", 0).unwrap().iter().all(|&v| v == 0.25));
    assert!(net.param("scale", 0).unwrap().iter().all(|&v| v == 1.0));
    assert!(net.param("scale", 1).unwrap().iter().all(|&v| v == 0.0));
}

#[test]
fn multiple_inputs_reshape_independently() {
    let case = fixtures().join("golden/public/crop");
    let mut net = Net::load(case.join("net.prototxt")).unwrap();
    assert_eq!(net.inputs(), vec!["data", "ref"]);
    net.reshape_input("ref", &[1, 3, 4, 5]).unwrap();
    assert_eq!(net.blob_shape("crop_1off").unwrap(), &[1, 3, 4, 5]);
    assert_eq!(net.blob_shape("ref_ref_0_split_1").unwrap(), &[1, 3, 4, 5]);
    // Too large a reference for the offsets: an error, and nothing changes.
    assert!(net.reshape_input("ref", &[1, 3, 10, 12]).is_err());
    assert_eq!(net.blob_shape("ref").unwrap(), &[1, 3, 4, 5]);
}

#[test]
fn loading_a_caffemodel_keeps_its_decoded_buffers() {
    let digits = fixtures().join("golden/digits");
    let prototxt = caffe_io::read_prototxt(digits.join("deploy.prototxt")).unwrap();
    let weights = caffe_io::read_caffemodel(digits.join("lenet_digits.caffemodel")).unwrap();
    let decoded: Vec<(String, Vec<*const f32>)> = weights
        .layer
        .iter()
        .filter(|l| !l.blobs.is_empty())
        .map(|l| (l.name().to_string(), l.blobs.iter().map(|b| b.data.as_ptr()).collect()))
        .collect();
    assert_eq!(decoded.len(), 4);
    let net = Net::from_proto(prototxt, Some(weights)).unwrap();
    for (name, ptrs) in decoded {
        let ours: Vec<*const f32> = net.layer(&name).unwrap().params().iter().map(|p| p.as_ptr()).collect();
        assert_eq!(ours, ptrs, "{name}: params must be the decoded buffers, not copies");
    }
}

#[test]
fn a_loss_weighted_top_takes_split_zero() {
    // As insert_splits.cpp: a top with a nonzero loss_weight counts as one
    // more consumer, and the loss takes the first split copy.
    let net = Net::from_proto(
        parse(
            r#"layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 3 } } }
               layer { name: "fc" type: "InnerProduct" bottom: "data" top: "fc" loss_weight: 1 inner_product_param { num_output: 4 } }
               layer { name: "sig" type: "Sigmoid" bottom: "fc" top: "sig" }"#,
        ),
        None,
    )
    .unwrap();
    let layers: Vec<(String, Vec<String>, Vec<String>)> = net
        .runtime_layers()
        .unwrap()
        .into_iter()
        .map(|l| (l.name, l.bottoms, l.tops))
        .collect();
    let s = |v: &[&str]| -> Vec<String> { v.iter().map(|x| x.to_string()).collect() };
    assert_eq!(
        layers,
        vec![
            ("data".to_string(), s(&[]), s(&["data"])),
            ("fc".to_string(), s(&["data"]), s(&["fc"])),
            (
                "fc_fc_0_split".to_string(),
                s(&["fc"]),
                s(&["fc_fc_0_split_0", "fc_fc_0_split_1"])
            ),
            ("sig".to_string(), s(&["fc_fc_0_split_1"]), s(&["sig"])),
        ]
    );
    assert_eq!(
        net.outputs().unwrap(),
        vec!["fc_fc_0_split_0".to_string(), "sig".to_string()]
    );
}

#[test]
fn copies_into_a_loaded_net_keep_its_buffers() {
    // pycaffe's views point into the params: `copy_from` must write into
    // them, not swap in the decoded arrays.
    let case = fixtures().join("golden/public/conv_pad_stride");
    let mut net = Net::load(case.join("net.prototxt")).unwrap();
    let before: Vec<*const f32> = net
        .params()
        .iter()
        .flat_map(|(_, ps)| ps.iter().map(|p| p.as_ptr()))
        .collect();
    let report = net.copy_params_from_file(&case.join("net.caffemodel")).unwrap();
    assert_eq!(report.copied, ["conv"]);
    let after: Vec<*const f32> = net
        .params()
        .iter()
        .flat_map(|(_, ps)| ps.iter().map(|p| p.as_ptr()))
        .collect();
    assert_eq!(before, after);
    let reference = Net::load_with_weights(case.join("net.prototxt"), case.join("net.caffemodel")).unwrap();
    assert_eq!(net.params(), reference.params());
}

#[test]
fn fillers_are_drawn_only_where_weights_are_missing() {
    let conv = fixtures().join("models/net_surgery/conv.prototxt");
    let seeded = graph_ir::LoadOptions::default().filler_seed(Some(3));
    let net = Net::load_with(&conv, None, &seeded).unwrap();
    let w = net.param("conv", 0).unwrap();
    let std = (w.iter().map(|v| v * v).sum::<f32>() / w.len() as f32).sqrt();
    assert!((0.005..0.02).contains(&std), "gaussian std 0.01 drew std {std}");
    assert!(
        net.param("conv", 1).unwrap().iter().all(|v| *v == 0.0),
        "constant bias 0"
    );
    assert_eq!(Net::load_with(&conv, None, &seeded).unwrap().params(), net.params());
    // Without a seed, random fillers give 0, as before.
    assert!(Net::load(&conv)
        .unwrap()
        .param("conv", 0)
        .unwrap()
        .iter()
        .all(|v| *v == 0.0));
    // With weights, only the layers the file lacks are drawn.
    let digits = fixtures().join("golden/digits");
    let options = graph_ir::LoadOptions::default()
        .filler_seed(Some(3))
        .missing_weights(graph_ir::MissingWeights::Filler);
    let cast = Net::load_with(
        digits.join("lenet_full_conv.prototxt"),
        Some(&digits.join("lenet_digits.caffemodel")),
        &options,
    )
    .unwrap();
    let trained =
        Net::load_with_weights(digits.join("deploy.prototxt"), digits.join("lenet_digits.caffemodel")).unwrap();
    assert_eq!(cast.param("conv1", 0).unwrap(), trained.param("conv1", 0).unwrap());
}
