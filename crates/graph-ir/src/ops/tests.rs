//! Shape rules for cases the golden fixtures do not cover.

use caffe_io::proto::Phase;

use super::*;
use crate::error::Result;
use crate::shape::Shape;

/// Sets up one layer (given as prototxt text) on `inputs`.
fn tops(layer: &str, inputs: &[&[usize]]) -> Result<Vec<Shape>> {
    let bottoms: String = (0..inputs.len()).map(|i| format!(" bottom: \"b{i}\"")).collect();
    let text = format!("layer {{ name: \"l\" {bottoms} {layer} }}");
    let net = caffe_io::parse_prototxt(&text, std::path::Path::new("t.prototxt")).expect("valid prototxt");
    let inputs: Vec<Shape> = inputs.iter().map(|s| s.to_vec()).collect();
    let setup = LayerRegistry::builtin().setup(&net.layer[0], Phase::Test, Some(&inputs))?;
    Ok(setup.tops.into_iter().map(|t| t.expect("known")).collect())
}

#[test]
fn builtins_cover_every_modelled_type() {
    // The types modelled before the registry existed, plus ShuffleChannel,
    // which the old hand-kept list had left out (so its blob counts went
    // unchecked). `insert` debug-asserts that no two built-ins share a name.
    let mut expected = vec![
        "Input",
        "Data",
        "ImageData",
        "WindowData",
        "HDF5Data",
        "MemoryData",
        "DummyData",
        "Convolution",
        "Deconvolution",
        "InnerProduct",
        "Pooling",
        "LRN",
        "ReLU",
        "PReLU",
        "Sigmoid",
        "TanH",
        "ELU",
        "AbsVal",
        "BNLL",
        "Power",
        "Exp",
        "Log",
        "Clip",
        "ReLU6",
        "Swish",
        "Threshold",
        "Dropout",
        "Softmax",
        "Concat",
        "Slice",
        "Split",
        "Eltwise",
        "BatchNorm",
        "Scale",
        "Bias",
        "Flatten",
        "Reshape",
        "Crop",
        "ArgMax",
        "MVN",
        "Tile",
        "Reduction",
        "Silence",
        "Embed",
        "Parameter",
        "Permute",
        "Normalize",
        "PriorBox",
        "ShuffleChannel",
        // Issue 12's fork layers.
        "ConvolutionDepthwise",
        "Axpy",
        "BN",
        "Interp",
        "Upsample",
        "ROIPooling",
        "DenseImageData",
        "DetectionOutput",
        "SoftmaxWithLoss",
        "EuclideanLoss",
        "SigmoidCrossEntropyLoss",
        "HingeLoss",
        "InfogainLoss",
        "MultinomialLogisticLoss",
        "ContrastiveLoss",
        "Accuracy",
    ];
    expected.sort_unstable();
    assert_eq!(LayerRegistry::with_builtins().type_names(), expected);
}

#[test]
fn convolution_variants() {
    let conv = |p: &str| format!(r#"type: "Convolution" top: "t" convolution_param {{ num_output: 8 {p} }}"#);
    // kernel_h/w, stride_h/w, pad_h/w.
    let t = tops(
        &conv("kernel_h: 3 kernel_w: 5 stride_h: 2 stride_w: 1 pad_h: 1 pad_w: 0"),
        &[&[1, 2, 9, 9]],
    );
    assert_eq!(t.unwrap(), vec![vec![1, 8, 5, 5]]);
    // N-D: one value per spatial axis, dilation.
    let t = tops(
        &conv("kernel_size: 3 kernel_size: 1 kernel_size: 2 dilation: 2"),
        &[&[2, 4, 7, 5, 6]],
    );
    assert_eq!(t.unwrap(), vec![vec![2, 8, 3, 5, 4]]);
    // Axis 2: the axes before it are kept.
    let t = tops(&conv("kernel_size: 2 axis: 2"), &[&[2, 3, 4, 5]]);
    assert_eq!(t.unwrap(), vec![vec![2, 3, 8, 4]]);
    // C++ truncation: (3 - 4) / 2 + 1 = 1, not 0.
    let t = tops(&conv("kernel_size: 4 stride: 2"), &[&[1, 1, 3, 3]]);
    assert_eq!(t.unwrap(), vec![vec![1, 8, 1, 1]]);
    // Two bottoms, two tops, shared weights.
    let t = tops(
        r#"type: "Convolution" top: "t0" top: "t1" convolution_param { num_output: 2 kernel_size: 1 }"#,
        &[&[1, 3, 4, 4], &[1, 3, 4, 4]],
    );
    assert_eq!(t.unwrap().len(), 2);
    assert!(tops(&conv("kernel_h: 3 kernel_w: 3"), &[&[1, 2, 9, 9, 9]]).is_err());
    assert!(tops(&conv("kernel_size: 3 kernel_size: 3"), &[&[1, 2, 9, 9, 9]]).is_err());
    assert!(tops(&conv("kernel_size: 3 group: 3"), &[&[1, 4, 9, 9]]).is_err());
}

#[test]
fn deconvolution_shapes_and_weights() {
    let layer = r#"type: "Deconvolution" top: "t" convolution_param { num_output: 6 kernel_size: 4 stride: 2 pad: 1 group: 2 }"#;
    assert_eq!(tops(layer, &[&[1, 4, 5, 5]]).unwrap(), vec![vec![1, 6, 10, 10]]);
    let text = format!(r#"layer {{ name: "l" bottom: "b" {layer} }}"#);
    let net = caffe_io::parse_prototxt(&text, std::path::Path::new("t.prototxt")).unwrap();
    let s = LayerRegistry::builtin()
        .setup(&net.layer[0], Phase::Test, Some(&[vec![1, 4, 5, 5]]))
        .unwrap();
    let shapes: Vec<Shape> = s.params.unwrap().into_iter().map(|p| p.shape).collect();
    assert_eq!(shapes, vec![vec![4, 3, 4, 4], vec![6]]);
}

#[test]
fn pooling_variants() {
    let pool = |p: &str| format!(r#"type: "Pooling" top: "t" pooling_param {{ {p} }}"#);
    let t = tops(
        &pool("pool: AVE kernel_size: 3 stride: 2 round_mode: FLOOR"),
        &[&[1, 1, 6, 6]],
    );
    assert_eq!(t.unwrap(), vec![vec![1, 1, 2, 2]]);
    let t = tops(&pool("pool: AVE kernel_size: 3 stride: 2"), &[&[1, 1, 6, 6]]);
    assert_eq!(t.unwrap(), vec![vec![1, 1, 3, 3]]);
    // A pad on one axis clips both (Caffe tests `pad_h || pad_w`).
    let t = tops(
        &pool("kernel_h: 2 kernel_w: 1 stride: 3 pad_h: 1 pad_w: 0"),
        &[&[1, 1, 4, 5]],
    );
    assert_eq!(t.unwrap(), vec![vec![1, 1, 2, 2]]);
    let t = tops(&pool("kernel_h: 2 kernel_w: 1 stride: 3"), &[&[1, 1, 4, 5]]);
    assert_eq!(t.unwrap(), vec![vec![1, 1, 2, 3]]);
    let t = tops(&pool("global_pooling: true pool: AVE"), &[&[2, 3, 7, 5]]);
    assert_eq!(t.unwrap(), vec![vec![2, 3, 1, 1]]);
    assert!(tops(&pool("kernel_size: 2 pad: 2"), &[&[1, 1, 6, 6]]).is_err());
    assert!(tops(&pool("global_pooling: true kernel_size: 2"), &[&[1, 1, 6, 6]]).is_err());
}

#[test]
fn axes_and_reshapes() {
    let t = tops(
        r#"type: "InnerProduct" top: "t" inner_product_param { num_output: 5 axis: -1 }"#,
        &[&[2, 3, 4]],
    );
    assert_eq!(t.unwrap(), vec![vec![2, 3, 5]]);
    let t = tops(
        r#"type: "Concat" top: "t" concat_param { concat_dim: 0 }"#,
        &[&[1, 3], &[2, 3]],
    );
    assert_eq!(t.unwrap(), vec![vec![3, 3]]);
    let t = tops(
        r#"type: "Reshape" top: "t" reshape_param { shape { dim: -1 } axis: -2 }"#,
        &[&[2, 3, 4]],
    );
    assert_eq!(t.unwrap(), vec![vec![2, 3, 4]]);
    let t = tops(
        r#"type: "Reshape" top: "t" reshape_param { shape { dim: 1 } axis: 1 num_axes: 0 }"#,
        &[&[2, 3]],
    );
    assert_eq!(t.unwrap(), vec![vec![2, 1, 3]]);
    let t = tops(
        r#"type: "Flatten" top: "t" flatten_param { axis: 1 end_axis: 2 }"#,
        &[&[2, 3, 4, 5]],
    );
    assert_eq!(t.unwrap(), vec![vec![2, 12, 5]]);
    let t = tops(
        r#"type: "Slice" top: "a" top: "b" slice_param { slice_dim: 0 slice_point: 1 }"#,
        &[&[3, 2]],
    );
    assert_eq!(t.unwrap(), vec![vec![1, 2], vec![2, 2]]);
    let t = tops(
        r#"type: "ArgMax" top: "t" argmax_param { out_max_val: true top_k: 2 }"#,
        &[&[4, 3, 2, 2, 2]],
    );
    assert_eq!(t.unwrap(), vec![vec![4, 2, 2, 1, 1]]);
    let t = tops(
        r#"type: "Scale" top: "t" scale_param { axis: 0 num_axes: -1 }"#,
        &[&[2, 3]],
    );
    assert_eq!(t.unwrap(), vec![vec![2, 3]]);
    let t = tops(r#"type: "Softmax" top: "t" softmax_param { axis: -1 }"#, &[&[2, 3]]);
    assert_eq!(t.unwrap(), vec![vec![2, 3]]);
    assert!(tops(r#"type: "Softmax" top: "t" softmax_param { axis: 2 }"#, &[&[2, 3]]).is_err());
    assert!(tops(r#"type: "Scale" top: "t""#, &[&[2, 3], &[4]]).is_err());
}

#[test]
fn axes_are_resolved_in_the_op() {
    let text = r#"layer { name: "l" bottom: "b" top: "t" type: "Softmax" softmax_param { axis: -1 } }"#;
    let net = caffe_io::parse_prototxt(text, std::path::Path::new("t.prototxt")).unwrap();
    let s = LayerRegistry::builtin()
        .setup(&net.layer[0], Phase::Test, Some(&[vec![1, 10, 3]]))
        .unwrap();
    assert_eq!(s.op, Op::new(Softmax { axis: 2 }));
    // Unknown input: the op as written.
    let s = LayerRegistry::builtin()
        .setup(&net.layer[0], Phase::Test, None)
        .unwrap();
    assert_eq!(s.op, Op::new(Softmax { axis: -1 }));
}

#[test]
fn batch_norm_follows_the_phase() {
    let text = r#"layer { name: "bn" bottom: "b" top: "t" type: "BatchNorm" }"#;
    let net = caffe_io::parse_prototxt(text, std::path::Path::new("t.prototxt")).unwrap();
    let stats = |phase| {
        let op = LayerRegistry::builtin().setup(&net.layer[0], phase, None).unwrap().op;
        op.downcast_ref::<BatchNormParams>()
            .expect("a BatchNorm op")
            .use_global_stats
    };
    assert!(stats(Phase::Test));
    assert!(!stats(Phase::Train));
}
