//! Typed layer operations: one Rust type per Caffe layer family, with Caffe's
//! defaults applied, its shape rule (`LayerSetUp` + `Reshape`) and the shapes
//! of its learnable params.
//!
//! An [`Op`] is derived from the layer's `LayerParameter` and its input shapes,
//! as Caffe's `SetUp` does, every time the net's shapes are inferred. Fields
//! that Caffe resolves against the input (per-spatial-axis kernel lists, the
//! kernel of global pooling, negative axes, crop offsets) hold the resolved
//! values whenever the layer's input shapes are known, which is always the
//! case once [`crate::Net::blobs`] succeeds. Only for layers downstream of a
//! data layer of unknown shape do they hold the values as written.

pub mod argmax;
pub mod batch_norm;
pub mod concat;
pub mod conv;
pub mod crop;
pub mod data;
pub mod eltwise;
pub mod embed;
pub mod inner_product;
pub mod input;
pub mod loss;
pub mod lrn;
pub mod mvn;
pub mod neuron;
pub mod normalize;
pub mod parameter;
pub mod permute;
pub mod pool;
pub mod prior_box;
pub mod reduction;
pub mod reshape;
pub mod scale;
pub mod shuffle_channel;
pub mod silence;
pub mod softmax;
pub mod tile;

use caffe_io::proto::{FillerParameter, LayerParameter, Phase};

use crate::error::{Error, Result};
pub use crate::registry::Op;
use crate::registry::LayerRegistry;
use crate::shape::Shape;

pub use argmax::ArgMaxParams;
pub use batch_norm::BatchNormParams;
pub use concat::{Concat, SliceParams, Split};
pub use conv::{ConvParams, Convolution, Deconvolution};
pub use crop::CropParams;
pub use data::{DataKind, DataParams};
pub use eltwise::{EltwiseOp, EltwiseParams};
pub use embed::Embed;
pub use inner_product::InnerProductParams;
pub use input::InputParams;
pub use loss::{AccuracyParams, LossParams};
pub use lrn::{LrnParams, NormRegion};
pub use mvn::MvnParams;
pub use neuron::Neuron;
pub use normalize::NormalizeParams;
pub use parameter::Parameter;
pub use permute::Permute;
pub use pool::{PoolMethod, PoolParams, RoundMode};
pub use prior_box::PriorBoxParams;
pub use reduction::{ReductionOp, ReductionParams};
pub use reshape::{Flatten, ReshapeParams};
pub use scale::{BiasParams, ScaleParams};
pub use shuffle_channel::ShuffleChannel;
pub use silence::Silence;
pub use softmax::Softmax;
pub use tile::Tile;

/// The built-in layer types: one line per type (or family), its module
/// holding everything else about it.
pub(crate) fn register_builtins(registry: &mut LayerRegistry) {
    registry.insert(input::TYPE);
    registry.insert(data::TYPE);
    registry.insert(data::TYPE_WITH_LABEL);
    registry.insert(conv::CONVOLUTION);
    registry.insert(conv::DECONVOLUTION);
    registry.insert(inner_product::TYPE);
    registry.insert(pool::TYPE);
    registry.insert(lrn::TYPE);
    registry.insert(neuron::TYPE);
    registry.insert(softmax::TYPE);
    registry.insert(concat::CONCAT);
    registry.insert(concat::SLICE);
    registry.insert(concat::SPLIT);
    registry.insert(eltwise::TYPE);
    registry.insert(batch_norm::TYPE);
    registry.insert(scale::SCALE);
    registry.insert(scale::BIAS);
    registry.insert(reshape::FLATTEN);
    registry.insert(reshape::RESHAPE);
    registry.insert(crop::TYPE);
    registry.insert(argmax::TYPE);
    registry.insert(mvn::TYPE);
    registry.insert(tile::TYPE);
    registry.insert(reduction::TYPE);
    registry.insert(silence::TYPE);
    registry.insert(embed::TYPE);
    registry.insert(parameter::TYPE);
    registry.insert(permute::TYPE);
    registry.insert(normalize::TYPE);
    registry.insert(prior_box::TYPE);
    registry.insert(shuffle_channel::TYPE);
    registry.insert(loss::LOSS);
    registry.insert(loss::SOFTMAX_WITH_LOSS);
    registry.insert(loss::INFOGAIN_LOSS);
    registry.insert(loss::CONTRASTIVE_LOSS);
    registry.insert(loss::ACCURACY);
}

/// The shape and initial value of one learnable param, for a net built
/// without weights: constant fillers give their value; random fillers
/// (gaussian, xavier, msra, uniform, ...) give 0, as this crate does not train.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamInit {
    pub shape: Shape,
    pub fill: f32,
}

/// What setting a layer up yields: its op, the shape of each top (None when
/// unknown) and its params (None when the input shapes are unknown).
#[derive(Debug, Clone)]
pub struct Setup {
    pub op: Op,
    pub tops: Vec<Option<Shape>>,
    pub params: Option<Vec<ParamInit>>,
}

impl Setup {
    /// A setup whose tops are all known.
    pub fn known(op: impl Into<Op>, tops: Vec<Shape>, params: Vec<ParamInit>) -> Self {
        Setup {
            op: op.into(),
            tops: tops.into_iter().map(Some).collect(),
            params: Some(params),
        }
    }

    /// A setup for unknown input shapes: the op as written, nothing else.
    pub fn unknown(op: impl Into<Op>, num_tops: usize) -> Self {
        Setup {
            op: op.into(),
            tops: vec![None; num_tops],
            params: None,
        }
    }
}

/// The layer being set up, for error messages and phase-dependent defaults.
#[derive(Debug, Clone, Copy)]
pub struct LayerCtx<'a> {
    pub name: &'a str,
    pub type_name: &'a str,
    pub phase: Phase,
    pub num_bottoms: usize,
    pub num_tops: usize,
}

impl<'a> LayerCtx<'a> {
    /// The context of `layer` in a net of the given phase (a layer's own
    /// `phase` field wins, as in Caffe).
    pub fn new(layer: &'a LayerParameter, phase: Phase) -> Self {
        LayerCtx {
            name: layer.name(),
            type_name: layer.r#type(),
            phase: if layer.phase.is_some() { layer.phase() } else { phase },
            num_bottoms: layer.bottom.len(),
            num_tops: layer.top.len(),
        }
    }

    /// A parameter error (Caffe would abort in `LayerSetUp`).
    pub fn invalid(&self, message: impl Into<String>) -> Error {
        Error::InvalidParam {
            layer: self.name.to_string(),
            type_name: self.type_name.to_string(),
            message: message.into(),
        }
    }

    /// A shape error (Caffe would abort in `Reshape`).
    pub fn shape_error(&self, inputs: &[Shape], message: impl Into<String>) -> Error {
        Error::Shape {
            layer: self.name.to_string(),
            type_name: self.type_name.to_string(),
            inputs: inputs.to_vec(),
            message: message.into(),
        }
    }

    /// `CanonicalAxisIndex` against `input`, or a shape error naming the axis.
    pub fn axis(&self, axis: i32, inputs: &[Shape], input: usize, what: &str) -> Result<usize> {
        let ndim = inputs[input].len();
        crate::shape::canonical_axis(axis, ndim)
            .ok_or_else(|| self.shape_error(inputs, format!("{what} {axis} is out of range for a {ndim}-axis input")))
    }
}

/// A filler's value when it is constant; 0 for random fillers.
pub(crate) fn filler_value(filler: Option<&FillerParameter>, default: f32) -> f32 {
    match filler {
        None => default,
        Some(f) if f.r#type() == "constant" => f.value(),
        Some(_) => 0.0,
    }
}

/// Checks that every input has the same shape (Eltwise, multi-bottom Convolution).
pub(crate) fn check_same_shapes(ctx: &LayerCtx<'_>, inputs: &[Shape]) -> Result<()> {
    for (i, s) in inputs.iter().enumerate().skip(1) {
        if *s != inputs[0] {
            return Err(ctx.shape_error(
                inputs,
                format!(
                    "bottom {i} has shape {} but bottom 0 has {}",
                    crate::shape::fmt_shape(s),
                    crate::shape::fmt_shape(&inputs[0])
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! Shape rules for cases the golden fixtures do not cover.

    use super::*;
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
            "Input", "Data", "ImageData", "WindowData", "HDF5Data", "MemoryData", "DummyData", "Convolution",
            "Deconvolution", "InnerProduct", "Pooling", "LRN", "ReLU", "PReLU", "Sigmoid", "TanH", "ELU", "AbsVal",
            "BNLL", "Power", "Exp", "Log", "Clip", "ReLU6", "Swish", "Threshold", "Dropout", "Softmax", "Concat",
            "Slice", "Split", "Eltwise", "BatchNorm", "Scale", "Bias", "Flatten", "Reshape", "Crop", "ArgMax", "MVN",
            "Tile", "Reduction", "Silence", "Embed", "Parameter", "Permute", "Normalize", "PriorBox",
            "ShuffleChannel", "SoftmaxWithLoss", "EuclideanLoss", "SigmoidCrossEntropyLoss", "HingeLoss",
            "InfogainLoss", "MultinomialLogisticLoss", "ContrastiveLoss", "Accuracy",
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
        let s = LayerRegistry::builtin().setup(&net.layer[0], Phase::Test, Some(&[vec![1, 4, 5, 5]])).unwrap();
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
        let s = LayerRegistry::builtin().setup(&net.layer[0], Phase::Test, Some(&[vec![1, 10, 3]])).unwrap();
        assert_eq!(s.op, Op::new(Softmax { axis: 2 }));
        // Unknown input: the op as written.
        let s = LayerRegistry::builtin().setup(&net.layer[0], Phase::Test, None).unwrap();
        assert_eq!(s.op, Op::new(Softmax { axis: -1 }));
    }

    #[test]
    fn batch_norm_follows_the_phase() {
        let text = r#"layer { name: "bn" bottom: "b" top: "t" type: "BatchNorm" }"#;
        let net = caffe_io::parse_prototxt(text, std::path::Path::new("t.prototxt")).unwrap();
        let stats = |phase| {
            let op = LayerRegistry::builtin().setup(&net.layer[0], phase, None).unwrap().op;
            op.downcast_ref::<BatchNormParams>().expect("a BatchNorm op").use_global_stats
        };
        assert!(stats(Phase::Test));
        assert!(!stats(Phase::Train));
    }
}
