//! The rewrite passes: dropout removal and BatchNorm folding (checked against
//! real Caffe's blobs), and fc_to_conv options.

use crate::common;

use common::{fixtures, parse};
use graph_ir::passes::{self, FcToConvOptions};
use graph_ir::{Error, Net};
use ndarray::{ArrayD, IxDyn};

#[test]
fn remove_dropout_in_place_and_rewired() {
    let case = fixtures().join("golden/public/dropout");
    let mut net = Net::load_with_weights(case.join("net.prototxt"), case.join("net.caffemodel")).unwrap();
    let report = passes::remove_dropout(&mut net).unwrap();
    assert_eq!(report.removed, vec!["drop_inplace", "drop"]);
    assert!(report.kept.is_empty());
    let names: Vec<&str> = net.layers().iter().map(|l| l.name()).collect();
    assert_eq!(names, vec!["data", "conv"]);
    // 'drop' was an output; its values were data's, which conv now alone reads.
    assert_eq!(net.outputs().unwrap(), vec!["conv".to_string()]);
    assert!(net.blob_shape("drop").is_err());

    let mut caffenet = Net::load(fixtures().join("models/bvlc_reference_caffenet/deploy.prototxt")).unwrap();
    let before = caffenet.blobs().unwrap();
    passes::remove_dropout(&mut caffenet).unwrap();
    assert_eq!(caffenet.blobs().unwrap(), before);
    assert!(caffenet.layer("drop6").is_none() && caffenet.layer("drop7").is_none());
}

#[test]
fn remove_dropout_rewires_consumers_and_in_place_followers() {
    let mut net = Net::from_proto(
        parse(
            r#"layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 4 } } }
               layer { name: "drop" type: "Dropout" bottom: "data" top: "d" }
               layer { name: "relu" type: "ReLU" bottom: "d" top: "d" }
               layer { name: "fc" type: "InnerProduct" bottom: "d" top: "fc" inner_product_param { num_output: 2 } }"#,
        ),
        None,
    )
    .unwrap();
    passes::remove_dropout(&mut net).unwrap();
    let relu = net.layer("relu").unwrap();
    assert_eq!(
        (relu.bottoms(), relu.tops()),
        (&["data".to_string()][..], &["data".to_string()][..])
    );
    assert_eq!(net.layer("fc").unwrap().bottoms(), &["data".to_string()]);

    // Here the dropout's copy is needed: data is also read by 'other'.
    let mut shared = Net::from_proto(
        parse(
            r#"layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 4 } } }
               layer { name: "drop" type: "Dropout" bottom: "data" top: "d" }
               layer { name: "relu" type: "ReLU" bottom: "d" top: "d" }
               layer { name: "other" type: "Sigmoid" bottom: "data" top: "o" }"#,
        ),
        None,
    )
    .unwrap();
    let report = passes::remove_dropout(&mut shared).unwrap();
    assert_eq!(report.kept, vec!["drop"]);
}

/// A direct 2-D convolution (stride 1), enough to check folded weights.
fn conv2d(x: &ArrayD<f32>, w: &ArrayD<f32>, b: &ArrayD<f32>, pad: usize) -> ArrayD<f32> {
    let (n, c, h, wd) = (x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3]);
    let (o, k) = (w.shape()[0], w.shape()[2]);
    let (oh, ow) = (h + 2 * pad - k + 1, wd + 2 * pad - k + 1);
    let mut y = ArrayD::zeros(IxDyn(&[n, o, oh, ow]));
    for ni in 0..n {
        for oi in 0..o {
            for yi in 0..oh {
                for xi in 0..ow {
                    let mut acc = f64::from(b[[oi]]);
                    for ci in 0..c {
                        for ky in 0..k {
                            for kx in 0..k {
                                let (iy, ix) = ((yi + ky) as isize - pad as isize, (xi + kx) as isize - pad as isize);
                                if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < wd {
                                    acc += f64::from(x[[ni, ci, iy as usize, ix as usize]])
                                        * f64::from(w[[oi, ci, ky, kx]]);
                                }
                            }
                        }
                    }
                    y[[ni, oi, yi, xi]] = acc as f32;
                }
            }
        }
    }
    y
}

#[test]
fn fold_batchnorm_reproduces_caffes_output() {
    let case = fixtures().join("golden/public/batchnorm_scale");
    let mut net = Net::load_with_weights(case.join("net.prototxt"), case.join("net.caffemodel")).unwrap();
    let folded = passes::fold_batchnorm(&mut net).unwrap();
    // bn1 + scale1 follow conv in place; bn2 normalizes the input, no conv before it.
    assert_eq!(folded.len(), 1);
    assert_eq!(
        (
            folded[0].into.as_str(),
            folded[0].batch_norm.as_str(),
            folded[0].scale.as_deref()
        ),
        ("conv", "bn1", Some("scale1"))
    );
    let names: Vec<&str> = net.layers().iter().map(|l| l.name()).collect();
    assert_eq!(names, vec!["data", "conv", "bn2", "scale2"]);
    let input = caffe_io::read_npy_f32(case.join("input.npy")).unwrap();
    let expected = caffe_io::read_npy_f32(case.join("blobs/conv.npy")).unwrap();
    let ours = conv2d(&input, net.param("conv", 0).unwrap(), net.param("conv", 1).unwrap(), 1);
    let worst = ours
        .iter()
        .zip(expected.iter())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-4, "max abs diff {worst}");
}

#[test]
fn fold_batchnorm_into_inner_product_without_bias() {
    let mut net = Net::from_proto(
        parse(
            r#"layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 } } }
               layer { name: "fc" type: "InnerProduct" bottom: "data" top: "fc" inner_product_param { num_output: 2 bias_term: false } }
               layer { name: "bn" type: "BatchNorm" bottom: "fc" top: "bn" batch_norm_param { eps: 0.5 } }"#,
        ),
        None,
    )
    .unwrap();
    net.set_param(
        "fc",
        0,
        ArrayD::from_shape_vec(IxDyn(&[2, 3]), vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap(),
    )
    .unwrap();
    // Stored statistics scaled by s = 2: mean (1, -1), var (1.5, 3.5).
    net.set_param("bn", 0, ArrayD::from_shape_vec(IxDyn(&[2]), vec![2.0, -2.0]).unwrap())
        .unwrap();
    net.set_param("bn", 1, ArrayD::from_shape_vec(IxDyn(&[2]), vec![3.0, 7.0]).unwrap())
        .unwrap();
    net.set_param("bn", 2, ArrayD::from_elem(IxDyn(&[1]), 2.0)).unwrap();
    passes::fold_batchnorm(&mut net).unwrap();
    assert!(net.layer("bn").is_none());
    assert_eq!(net.layer("fc").unwrap().tops(), &["bn".to_string()]);
    assert_eq!(net.blob_shape("bn").unwrap(), &[1, 2]);
    let (a0, a1) = (1.0 / 2.0f32.sqrt(), 1.0 / 4.0f32.sqrt());
    let w = net.param("fc", 0).unwrap();
    let b = net.param("fc", 1).unwrap();
    let close = |x: f32, y: f32| (x - y).abs() < 1e-6;
    assert!(close(w[[0, 2]], 3.0 * a0) && close(w[[1, 0]], 4.0 * a1), "{w}");
    assert!(close(b[[0]], -a0) && close(b[[1]], a1), "{b}");
    assert_eq!(
        net.layer("fc")
            .unwrap()
            .proto()
            .inner_product_param
            .as_ref()
            .unwrap()
            .bias_term,
        Some(true)
    );
}

#[test]
fn fold_batchnorm_leaves_shared_outputs_alone() {
    let text = r#"layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 2 dim: 3 dim: 3 } } }
        layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" convolution_param { num_output: 2 kernel_size: 1 } }
        layer { name: "bn" type: "BatchNorm" bottom: "conv" top: "bn" }
        layer { name: "other" type: "ReLU" bottom: "conv" top: "other" }"#;
    let mut net = Net::from_proto(parse(text), None).unwrap();
    assert!(passes::fold_batchnorm(&mut net).unwrap().is_empty());
    assert_eq!(net.layers().len(), 4);
    // A zero moving-average factor means zero statistics (Caffe's rule).
    let mut zero = Net::from_proto(
        parse(&text.replace("bottom: \"conv\" top: \"other\"", "bottom: \"data\" top: \"other\"")),
        None,
    )
    .unwrap();
    zero.set_param("conv", 1, ArrayD::from_elem(IxDyn(&[2]), 3.0)).unwrap();
    zero.set_param("bn", 0, ArrayD::from_elem(IxDyn(&[2]), 5.0)).unwrap();
    assert_eq!(passes::fold_batchnorm(&mut zero).unwrap().len(), 1);
    let scale = 1.0 / (1e-5f32).sqrt();
    assert!(zero
        .param("conv", 1)
        .unwrap()
        .iter()
        .all(|&b| ((b - 3.0 * scale) / b).abs() < 1e-5));
}

#[test]
fn fc_to_conv_options_select_and_rename() {
    let mut net = Net::load(fixtures().join("models/bvlc_reference_caffenet/deploy.prototxt")).unwrap();
    let options = FcToConvOptions {
        suffix: "_c".to_string(),
        layers: Some(vec!["fc6".to_string()]),
    };
    let done = passes::fc_to_conv(&mut net, &options).unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(net.blob_shape("fc6_c").unwrap(), &[10, 4096, 1, 1]);
    // fc7 stays an fc and flattens the 1x1 map as before.
    assert_eq!(net.blob_shape("fc7").unwrap(), &[10, 4096]);
    assert_eq!(net.layer("drop6").unwrap().tops(), &["fc6_c".to_string()]);
    let bad = FcToConvOptions {
        layers: Some(vec!["conv1".to_string()]),
        ..Default::default()
    };
    assert!(matches!(passes::fc_to_conv(&mut net, &bad), Err(Error::Pass { .. })));
}

#[test]
fn fc_fed_by_a_flat_blob_cannot_become_a_convolution() {
    let case = fixtures().join("golden/public/ip_axis_nobias");
    let mut net = Net::load(case.join("net.prototxt")).unwrap();
    let err = passes::fc_to_conv(&mut net, &Default::default()).unwrap_err();
    assert!(err.to_string().contains("'fc'"), "{err}");
}
