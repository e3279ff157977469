//! The BVLC reference models: CaffeNet's blobs and params exactly as pycaffe
//! prints them, the net-surgery full-conv CaffeNet, train_val phase
//! filtering, and AlexNet/GoogLeNet shapes.

use crate::common;

use common::fixtures;
use graph_ir::ops::{ConvParams, Convolution, PriorBoxParams};
use graph_ir::{passes, Error, LoadOptions, Net, NetState, Op};

fn blobs(net: &Net) -> Vec<(String, Vec<usize>)> {
    net.blobs().unwrap().into_iter().map(|b| (b.name, b.shape)).collect()
}

fn params(net: &Net) -> Vec<(String, Vec<Vec<usize>>)> {
    net.params()
        .into_iter()
        .map(|(name, arrays)| (name.to_string(), arrays.iter().map(|a| a.shape().to_vec()).collect()))
        .collect()
}

fn owned<const N: usize>(list: [(&str, &[usize]); N]) -> Vec<(String, Vec<usize>)> {
    list.iter().map(|(n, s)| (n.to_string(), s.to_vec())).collect()
}

fn caffenet() -> Net {
    Net::load(fixtures().join("models/bvlc_reference_caffenet/deploy.prototxt")).unwrap()
}

#[test]
fn caffenet_blobs_and_params_are_pycaffes() {
    let net = caffenet();
    assert_eq!(
        blobs(&net),
        owned([
            ("data", &[10, 3, 227, 227]),
            ("conv1", &[10, 96, 55, 55]),
            ("pool1", &[10, 96, 27, 27]),
            ("norm1", &[10, 96, 27, 27]),
            ("conv2", &[10, 256, 27, 27]),
            ("pool2", &[10, 256, 13, 13]),
            ("norm2", &[10, 256, 13, 13]),
            ("conv3", &[10, 384, 13, 13]),
            ("conv4", &[10, 384, 13, 13]),
            ("conv5", &[10, 256, 13, 13]),
            ("pool5", &[10, 256, 6, 6]),
            ("fc6", &[10, 4096]),
            ("fc7", &[10, 4096]),
            ("fc8", &[10, 1000]),
            ("prob", &[10, 1000]),
        ])
    );
    let expected: Vec<(String, Vec<Vec<usize>>)> = [
        ("conv1", vec![vec![96, 3, 11, 11], vec![96]]),
        ("conv2", vec![vec![256, 48, 5, 5], vec![256]]),
        ("conv3", vec![vec![384, 256, 3, 3], vec![384]]),
        ("conv4", vec![vec![384, 192, 3, 3], vec![384]]),
        ("conv5", vec![vec![256, 192, 3, 3], vec![256]]),
        ("fc6", vec![vec![4096, 9216], vec![4096]]),
        ("fc7", vec![vec![4096, 4096], vec![4096]]),
        ("fc8", vec![vec![1000, 4096], vec![1000]]),
    ]
    .into_iter()
    .map(|(n, s)| (n.to_string(), s))
    .collect();
    assert_eq!(params(&net), expected);
    assert_eq!(net.inputs(), vec!["data"]);
    assert_eq!(net.outputs().unwrap(), vec!["prob".to_string()]);
}

/// The layer list compared with the official prototxt: name, type, bottoms,
/// tops and the typed op (conv params resolved).
/// (name, type, bottoms, tops, op) of one layer.
type LayerRow = (String, String, Vec<String>, Vec<String>, Op);

fn layer_list(net: &Net) -> Vec<LayerRow> {
    net.layers()
        .iter()
        .map(|l| {
            (
                l.name().to_string(),
                l.type_name().to_string(),
                l.bottoms().to_vec(),
                l.tops().to_vec(),
                l.op().clone(),
            )
        })
        .collect()
}

#[test]
fn full_conv_caffenet_matches_the_official_full_conv_net() {
    let mut net = caffenet();
    // Distinct values so the weights' memory order can be checked afterwards.
    for (i, v) in net.param_mut("fc6", 0).unwrap().iter_mut().enumerate() {
        *v = i as f32;
    }
    let fc6_ptr = net.param("fc6", 0).unwrap().as_ptr();
    let converted = passes::full_conv(&mut net, "data", &[1, 3, 451, 451]).unwrap();
    let names: Vec<(&str, &str, &[usize])> = converted
        .iter()
        .map(|c| (c.old_name.as_str(), c.new_name.as_str(), c.kernel.as_slice()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("fc6", "fc6-conv", &[6, 6][..]),
            ("fc7", "fc7-conv", &[1, 1][..]),
            ("fc8", "fc8-conv", &[1, 1][..])
        ]
    );
    let official = Net::load(fixtures().join("models/net_surgery/bvlc_caffenet_full_conv.prototxt")).unwrap();
    let expected_blobs = owned([
        ("data", &[1, 3, 451, 451]),
        ("conv1", &[1, 96, 111, 111]),
        ("pool1", &[1, 96, 55, 55]),
        ("norm1", &[1, 96, 55, 55]),
        ("conv2", &[1, 256, 55, 55]),
        ("pool2", &[1, 256, 27, 27]),
        ("norm2", &[1, 256, 27, 27]),
        ("conv3", &[1, 384, 27, 27]),
        ("conv4", &[1, 384, 27, 27]),
        ("conv5", &[1, 256, 27, 27]),
        ("pool5", &[1, 256, 13, 13]),
        ("fc6-conv", &[1, 4096, 8, 8]),
        ("fc7-conv", &[1, 4096, 8, 8]),
        ("fc8-conv", &[1, 1000, 8, 8]),
        ("prob", &[1, 1000, 8, 8]),
    ]);
    assert_eq!(blobs(&official), expected_blobs);
    assert_eq!(blobs(&net), expected_blobs);
    assert_eq!(params(&net), params(&official));
    let fc: Vec<_> = params(&net).into_iter().skip(5).collect();
    assert_eq!(
        fc,
        vec![
            ("fc6-conv".to_string(), vec![vec![4096, 256, 6, 6], vec![4096]]),
            ("fc7-conv".to_string(), vec![vec![4096, 4096, 1, 1], vec![4096]]),
            ("fc8-conv".to_string(), vec![vec![1000, 4096, 1, 1], vec![1000]]),
        ]
    );
    assert_eq!(layer_list(&net), layer_list(&official));
    match net.layer("fc6-conv").unwrap().op().downcast_ref() {
        Some(Convolution(ConvParams {
            kernel, stride, pad, ..
        })) => {
            assert_eq!(
                (kernel.as_slice(), stride.as_slice(), pad.as_slice()),
                (&[6, 6][..], &[1, 1][..], &[0, 0][..])
            )
        }
        _ => panic!("fc6-conv is {:?}", net.layer("fc6-conv").unwrap().op()),
    }
    // The fc6 weights were reshaped, not copied: same buffer, same order.
    let w = net.param("fc6-conv", 0).unwrap();
    assert_eq!(w.as_ptr(), fc6_ptr);
    assert_eq!(w[[1, 2, 3, 4]], (9216 + 2 * 36 + 3 * 6 + 4) as f32);
}

#[test]
fn fc_to_conv_is_a_reshape_not_a_copy() {
    let mut net = caffenet();
    let ptrs: Vec<*const f32> = ["fc6", "fc7", "fc8"]
        .iter()
        .flat_map(|l| {
            net.layer(l)
                .unwrap()
                .params()
                .iter()
                .map(|p| p.as_ptr())
                .collect::<Vec<_>>()
        })
        .collect();
    passes::fc_to_conv(&mut net, &Default::default()).unwrap();
    let after: Vec<*const f32> = ["fc6-conv", "fc7-conv", "fc8-conv"]
        .iter()
        .flat_map(|l| {
            net.layer(l)
                .unwrap()
                .params()
                .iter()
                .map(|p| p.as_ptr())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(ptrs, after);
    // At the original size the converted net gives 1x1 maps; relu6/drop6 follow the rename.
    assert_eq!(net.blob_shape("fc8-conv").unwrap(), &[10, 1000, 1, 1]);
    let relu6 = net.layer("relu6").unwrap();
    assert_eq!(
        (relu6.bottoms(), relu6.tops()),
        (&["fc6-conv".to_string()][..], &["fc6-conv".to_string()][..])
    );
    assert!(net.blob_shape("fc6").is_err());
}

#[test]
fn train_val_loads_in_test_phase() {
    let path = fixtures().join("models/bvlc_reference_caffenet/train_val.prototxt");
    let mut net = Net::load(&path).unwrap();
    let types: Vec<&str> = net.layers().iter().map(|l| l.type_name()).collect();
    assert_eq!(types.first(), Some(&"Data"));
    assert_eq!(&types[types.len() - 2..], &["Accuracy", "SoftmaxWithLoss"]);
    assert_eq!(net.filtered_out().len(), 1, "the TRAIN data layer is left out");
    // The data layer's shape lives in its LMDB: asking for it names the layer.
    match net.blobs() {
        Err(Error::UnknownShape { layer, input, .. }) => assert_eq!((layer.as_str(), input.as_str()), ("data", "data")),
        other => panic!("expected UnknownShape, got {other:?}"),
    }
    let message = net.blob_shape("fc8").unwrap_err().to_string();
    assert!(
        message.contains("layer 'data' (Data)") && message.contains("reshape_input"),
        "{message}"
    );
    assert_eq!(net.blob_shape("label").unwrap(), &[50]);
    // Declaring the input makes the whole net known, params included.
    net.reshape_input("data", &[50, 3, 227, 227]).unwrap();
    assert_eq!(net.blob_shape("fc8").unwrap(), &[50, 1000]);
    assert_eq!(net.blob_shape("accuracy").unwrap(), &[] as &[usize]);
    assert_eq!(net.blob_shape("loss").unwrap(), &[] as &[usize]);
    assert_eq!(net.param("fc6", 0).unwrap().shape(), &[4096, 9216]);
    // fc8 feeds both Accuracy and the loss, label too: Caffe's splits appear.
    let names: Vec<String> = net.blobs().unwrap().into_iter().map(|b| b.name).collect();
    assert!(names.contains(&"fc8_fc8_0_split_0".to_string()), "{names:?}");
    assert!(names.contains(&"label_data_1_split_1".to_string()), "{names:?}");

    // TRAIN phase keeps the other data layer and drops Accuracy.
    let train = Net::load_with(
        &path,
        None,
        &LoadOptions::default().state(NetState {
            phase: caffe_io::proto::Phase::Train,
            ..Default::default()
        }),
    )
    .unwrap();
    assert!(train.layers().iter().all(|l| l.type_name() != "Accuracy"));
    assert_eq!(train.blob_shape("label").unwrap(), &[256]);
}

#[test]
fn alexnet_and_googlenet_shapes() {
    let alexnet = Net::load(fixtures().join("models/bvlc_alexnet/deploy.prototxt")).unwrap();
    assert_eq!(alexnet.blob_shape("pool5").unwrap(), &[10, 256, 6, 6]);
    assert_eq!(alexnet.blob_shape("prob").unwrap(), &[10, 1000]);
    assert_eq!(alexnet.param("conv2", 0).unwrap().shape(), &[256, 48, 5, 5]);

    let googlenet = Net::load(fixtures().join("models/bvlc_googlenet/deploy.prototxt")).unwrap();
    for (blob, shape) in [
        ("conv1/7x7_s2", &[10, 64, 112, 112][..]),
        ("pool1/3x3_s2", &[10, 64, 56, 56]),
        ("pool2/3x3_s2", &[10, 192, 28, 28]),
        ("inception_3a/output", &[10, 256, 28, 28]),
        ("inception_3b/output", &[10, 480, 28, 28]),
        ("pool3/3x3_s2", &[10, 480, 14, 14]),
        ("inception_4e/output", &[10, 832, 14, 14]),
        ("pool4/3x3_s2", &[10, 832, 7, 7]),
        ("inception_5b/output", &[10, 1024, 7, 7]),
        ("pool5/7x7_s1", &[10, 1024, 1, 1]),
        ("loss3/classifier", &[10, 1000]),
        ("prob", &[10, 1000]),
    ] {
        assert_eq!(googlenet.blob_shape(blob).unwrap(), shape, "{blob}");
    }
    // Inception inputs are read by four branches: Caffe's split names.
    assert_eq!(
        googlenet.blob_shape("pool2/3x3_s2_pool2/3x3_s2_0_split_3").unwrap(),
        &[10, 192, 28, 28]
    );
}

/// The SSD fork's layers: Permute completes a partial order with the axes
/// left out, in their order; PriorBox counts min size, max size and the
/// flipped ratios per position; Normalize's scale is one value or one per channel.
#[test]
fn ssd_layer_shapes_follow_the_fork() {
    let text = r#"
        layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 30 dim: 40 } } }
        layer { name: "feat" type: "Input" top: "feat" input_param { shape { dim: 1 dim: 6 dim: 5 dim: 4 } } }
        layer { name: "perm" type: "Permute" bottom: "feat" top: "perm" permute_param { order: 0 order: 3 } }
        layer { name: "norm" type: "Normalize" bottom: "feat" top: "norm" norm_param { channel_shared: false } }
        layer { name: "norm1" type: "Normalize" bottom: "feat" top: "norm1" }
        layer { name: "pb" type: "PriorBox" bottom: "feat" bottom: "data" top: "pb"
                prior_box_param { min_size: 8 max_size: 16 aspect_ratio: 2 aspect_ratio: 3 aspect_ratio: 2 } }
    "#;
    let net = Net::from_proto(common::parse(text), None).unwrap();
    assert_eq!(net.blob_shape("perm").unwrap(), &[1, 4, 6, 5]);
    // 1 (min) + 1 (max) + 2 ratios, each flipped (the repeated 2 is ignored) = 6 per position.
    assert_eq!(net.blob_shape("pb").unwrap(), &[1, 2, 5 * 4 * 6 * 4]);
    assert_eq!(net.param("norm", 0).unwrap().shape(), &[6]);
    assert!(net.param("norm", 0).unwrap().iter().all(|&v| v == 1.0));
    assert_eq!(net.param("norm1", 0).unwrap().shape(), &[] as &[usize]);
    let p = net
        .layer("pb")
        .unwrap()
        .op()
        .downcast_ref::<PriorBoxParams>()
        .expect("a PriorBox op");
    let priors = p.priors(5, 4, 30, 40);
    assert_eq!(priors.len(), 2 * 5 * 4 * 6 * 4);
    // First box: the 8x8 square at the first centre, (0.5 * 40 / 4, 0.5 * 30 / 5) = (5, 3).
    assert_eq!(
        &priors[..4],
        &[
            (5.0 - 4.0) / 40.0,
            (3.0 - 4.0) / 30.0,
            (5.0 + 4.0) / 40.0,
            (3.0 + 4.0) / 30.0
        ]
    );
    // Variances (default 0.1) fill the second half.
    assert!(priors[priors.len() / 2..].iter().all(|&v| v == 0.1));
}

/// The public models of `fixtures/zoo` (BVLC's zoo and Caffe's forks, as
/// their authors wrote them): every one loads and inspects, and saves back to
/// a prototxt that reads as the same net, every field of a fork kept. The
/// refusals are exactly these, each naming the layer and the field.
#[test]
fn every_zoo_model_loads_and_saves_back_with_its_fork_fields() {
    let refused: &[(&str, &str)] = &[
        // The YOLOv3 port's own Caffe adds one to a pooled size when
        // kernel - stride is odd (size 2, stride 1 keeps 13 x 13); no field
        // says so, and BVLC's rule gives 12 x 12, which the route's Concat
        // refuses.
        (
            "yolov3_tiny",
            "layer 'layer21-route' (Concat): all inputs must have the same shape except on the concat axis 1",
        ),
    ];
    let dir = fixtures().join("zoo");
    let mut models: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    models.sort();
    assert!(models.len() >= 49, "{} models", models.len());
    // YOLOv3-tiny loads when told its Caffe's pooling rule (no field says it).
    let yolo = graph_ir::LoadOptions::default()
        .dialects(caffe_io::dialect::DialectSet::new().with(caffe_io::dialect::Dialect::Yolo));
    let tiny = Net::load_with(dir.join("yolov3_tiny/deploy.prototxt"), None, &yolo).unwrap();
    assert_eq!(tiny.blob_shape("layer12-maxpool").unwrap(), &[1, 512, 13, 13]);
    // DeepLab v1's hole is its dilation.
    let deeplab = Net::load(dir.join("deeplab_v1_vgg128_noup/deploy.prototxt")).unwrap();
    let Some(Convolution(fc6)) = deeplab.layer("fc6").unwrap().op().downcast_ref() else {
        panic!("fc6 is a convolution")
    };
    assert_eq!(fc6.dilation, [12, 12]);
    let out = tempfile::tempdir().unwrap();
    let mut found_refused = Vec::new();
    for model in &models {
        let name = model.file_name().unwrap().to_string_lossy().to_string();
        let path = model.join("deploy.prototxt");
        let net = match Net::load(&path) {
            Ok(net) => net,
            Err(e) => {
                let message = e.to_string();
                let expected = refused
                    .iter()
                    .find(|(n, _)| *n == name)
                    .unwrap_or_else(|| panic!("{name}: {message}"));
                assert!(message.contains(expected.1), "{name}: {message}");
                found_refused.push(name);
                continue;
            }
        };
        // Inspect: every blob is listed (a shape, or none after a layer not modelled).
        net.list_blobs().unwrap_or_else(|e| panic!("{name}: {e}"));
        let read = caffe_io::read_prototxt(&path).unwrap();
        let kept = |n: &caffe_io::NetParameter| -> Vec<(String, String)> {
            n.layer
                .iter()
                .flat_map(|l| {
                    l.kept_field
                        .iter()
                        .map(|k| (l.name().to_string(), k.text().to_string()))
                })
                .collect()
        };
        let saved = out.path().join(format!("{name}.prototxt"));
        caffe_io::write_prototxt(&saved, &net.to_proto()).unwrap();
        let again = caffe_io::read_prototxt(&saved).unwrap();
        assert_eq!(
            kept(&again),
            kept(&read),
            "{name}: the fork fields saved are those read"
        );
        let reloaded = Net::load(&saved).unwrap_or_else(|e| panic!("{name}: the saved net does not load: {e}"));
        assert_eq!(
            caffe_io::print::net_to_prototxt(&reloaded.to_proto()),
            caffe_io::print::net_to_prototxt(&net.to_proto()),
            "{name}"
        );
    }
    let expected: Vec<_> = refused.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(found_refused, expected);
}
