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

pub mod activation;
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
pub mod normalize;
pub mod parameter;
pub mod permute;
pub mod pool;
pub mod prior_box;
pub mod reduction;
pub mod reshape;
pub mod scale;
pub mod shuffle_channel;
pub mod softmax;
pub mod tile;

use caffe_io::proto::{FillerParameter, LayerParameter, Phase};

use crate::error::{Error, Result};
use crate::shape::Shape;

pub use argmax::ArgMaxParams;
pub use batch_norm::BatchNormParams;
pub use concat::SliceParams;
pub use conv::ConvParams;
pub use crop::CropParams;
pub use data::{DataKind, DataParams};
pub use eltwise::{EltwiseOp, EltwiseParams};
pub use inner_product::InnerProductParams;
pub use input::InputParams;
pub use loss::{AccuracyParams, LossParams};
pub use lrn::{LrnParams, NormRegion};
pub use mvn::MvnParams;
pub use normalize::NormalizeParams;
pub use pool::{PoolMethod, PoolParams, RoundMode};
pub use prior_box::PriorBoxParams;
pub use reduction::{ReductionOp, ReductionParams};
pub use reshape::ReshapeParams;
pub use scale::{BiasParams, ScaleParams};

/// Every layer type string this crate models, as Caffe spells it.
pub const SUPPORTED_TYPES: &[&str] = &[
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
    "SoftmaxWithLoss",
    "EuclideanLoss",
    "SigmoidCrossEntropyLoss",
    "HingeLoss",
    "InfogainLoss",
    "MultinomialLogisticLoss",
    "ContrastiveLoss",
    "Accuracy",
];

/// A layer's operation with its parameters resolved (Caffe's defaults applied).
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// `Input`: declares the net's inputs.
    Input(InputParams),
    /// Database-backed data layers (`Data`, `ImageData`, `HDF5Data`, ...).
    Data(DataParams),
    /// `Convolution`.
    Convolution(ConvParams),
    /// `Deconvolution` (weights are `(C_in, num_output / group, k...)`).
    Deconvolution(ConvParams),
    /// `InnerProduct`.
    InnerProduct(InnerProductParams),
    /// `Pooling`.
    Pooling(PoolParams),
    /// `LRN`.
    Lrn(LrnParams),
    /// `ReLU`: `max(x, 0) + negative_slope * min(x, 0)`.
    ReLU { negative_slope: f32 },
    /// `PReLU`: learned slope per channel (one param of shape `(C,)`, or `()` when shared).
    PReLU { channel_shared: bool },
    /// `Sigmoid`.
    Sigmoid,
    /// `TanH`.
    TanH,
    /// `ELU`: `x` for `x > 0`, else `alpha * (exp(x) - 1)`.
    Elu { alpha: f32 },
    /// `AbsVal`.
    AbsVal,
    /// `BNLL`: `log(1 + exp(x))`.
    Bnll,
    /// `Power`: `(shift + scale * x) ^ power`.
    Power { power: f32, scale: f32, shift: f32 },
    /// `Exp`: `base ^ (shift + scale * x)`; `base == -1` means e.
    Exp { base: f32, scale: f32, shift: f32 },
    /// `Log`: `log_base(shift + scale * x)`; `base == -1` means e.
    Log { base: f32, scale: f32, shift: f32 },
    /// `Clip`: `max(min, min(x, max))` (min <= max is checked).
    Clip { min: f32, max: f32 },
    /// `Swish`: `x * sigmoid(beta * x)`.
    Swish { beta: f32 },
    /// `Threshold`: 1 where `x > threshold`, else 0.
    Threshold { threshold: f32 },
    /// `Dropout`: the identity at test time (Caffe scales during training).
    Dropout { ratio: f32 },
    /// `Softmax` along `axis` only.
    Softmax { axis: i32 },
    /// `Concat` along `axis`.
    Concat { axis: i32 },
    /// `Slice`.
    Slice(SliceParams),
    /// `Split` written in the prototxt (Caffe's automatic splits are not layers here).
    Split,
    /// `Eltwise`.
    Eltwise(EltwiseParams),
    /// `BatchNorm` (statistics only; a following `Scale` supplies the affine part).
    BatchNorm(BatchNormParams),
    /// `Scale`.
    Scale(ScaleParams),
    /// `Bias`.
    Bias(BiasParams),
    /// `Flatten` axes `axis..=end_axis` into one.
    Flatten { axis: i32, end_axis: i32 },
    /// `Reshape`.
    Reshape(ReshapeParams),
    /// `Crop`.
    Crop(CropParams),
    /// `ArgMax`.
    ArgMax(ArgMaxParams),
    /// `MVN`: mean (and variance) normalization per channel or per image.
    Mvn(MvnParams),
    /// `Tile`: `tiles` copies of the input along `axis` (resolved when shapes are known).
    Tile { axis: i32, tiles: usize },
    /// `Reduction`: sums (or |x| sums, squares, means) the axes from `axis` on.
    Reduction(ReductionParams),
    /// `Silence`: consumes its bottoms and has no top.
    Silence,
    /// `Embed`: rows of a `(input_dim, num_output)` table picked by the input's values.
    Embed {
        num_output: usize,
        input_dim: usize,
        bias_term: bool,
    },
    /// `Parameter`: its learnable blob, of `shape`, as its top.
    Parameter { shape: Vec<usize> },
    /// `Permute` (SSD fork): the axes in `order` (complete once shapes are known).
    Permute { order: Vec<usize> },
    /// `Normalize` (SSD fork): L2 normalization with a learned scale.
    Normalize(NormalizeParams),
    /// `PriorBox` (SSD fork): a constant of default boxes for a feature map.
    PriorBox(PriorBoxParams),
    /// `ShuffleChannel` (ShuffleNet fork): channels regrouped, `group` x `C / group` transposed.
    ShuffleChannel { group: usize },
    /// Loss layers (`SoftmaxWithLoss`, `EuclideanLoss`, ...): a scalar output.
    Loss(LossParams),
    /// `Accuracy`.
    Accuracy(AccuracyParams),
    /// A layer type this crate does not model (a `Python` layer, a layer from
    /// a fork of Caffe): kept with its parameter and params so the rest of the
    /// net can be inspected, edited and saved; its tops have no known shape,
    /// and exporting or running the net is refused, naming it.
    Custom { type_name: String },
}

impl Op {
    /// How many learnable param blobs the layer has (known without shapes).
    pub fn param_count(&self) -> usize {
        match self {
            Op::Convolution(p) | Op::Deconvolution(p) => 1 + usize::from(p.bias_term),
            Op::InnerProduct(p) => 1 + usize::from(p.bias_term),
            Op::PReLU { .. } | Op::Normalize(_) | Op::Parameter { .. } => 1,
            Op::Embed { bias_term, .. } => 1 + usize::from(*bias_term),
            Op::BatchNorm(_) => 3,
            Op::Scale(p) => usize::from(p.learned_scale) + usize::from(p.bias_term),
            Op::Bias(p) => usize::from(p.learned),
            _ => 0,
        }
    }

    /// True for ops whose every top has its bottom's shape and values may be
    /// computed in place (the element-wise activations, Dropout, BatchNorm, ...).
    pub fn keeps_shape(&self) -> bool {
        matches!(
            self,
            Op::ReLU { .. }
                | Op::PReLU { .. }
                | Op::Sigmoid
                | Op::TanH
                | Op::Elu { .. }
                | Op::AbsVal
                | Op::Bnll
                | Op::Power { .. }
                | Op::Exp { .. }
                | Op::Log { .. }
                | Op::Clip { .. }
                | Op::Swish { .. }
                | Op::Threshold { .. }
                | Op::Dropout { .. }
                | Op::Mvn(_)
                | Op::Normalize(_)
                | Op::Lrn(_)
                | Op::BatchNorm(_)
                | Op::Scale(_)
                | Op::Bias(_)
                | Op::Softmax { .. }
        )
    }
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
pub(crate) struct Setup {
    pub op: Op,
    pub tops: Vec<Option<Shape>>,
    pub params: Option<Vec<ParamInit>>,
}

impl Setup {
    /// A setup whose tops are all known.
    pub fn known(op: Op, tops: Vec<Shape>, params: Vec<ParamInit>) -> Self {
        Setup {
            op,
            tops: tops.into_iter().map(Some).collect(),
            params: Some(params),
        }
    }

    /// A setup for unknown input shapes: the op as written, nothing else.
    pub fn unknown(op: Op, num_tops: usize) -> Self {
        Setup {
            op,
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

/// Sets the layer up: checks its blob counts, parses its parameters with
/// Caffe's defaults and, when `bottoms` is given, computes its top shapes and
/// param shapes with Caffe's rules.
pub(crate) fn setup(layer: &LayerParameter, phase: Phase, bottoms: Option<&[Shape]>) -> Result<Setup> {
    let ctx = LayerCtx::new(layer, phase);
    check_blob_counts(&ctx, layer)?;
    match ctx.type_name {
        "Input" => input::setup(&ctx, layer),
        "Data" | "ImageData" | "WindowData" | "HDF5Data" | "MemoryData" | "DummyData" => data::setup(&ctx, layer),
        "Convolution" => conv::setup(&ctx, layer, bottoms, false),
        "Deconvolution" => conv::setup(&ctx, layer, bottoms, true),
        "InnerProduct" => inner_product::setup(&ctx, layer, bottoms),
        "Pooling" => pool::setup(&ctx, layer, bottoms),
        "LRN" => lrn::setup(&ctx, layer, bottoms),
        "ReLU" | "PReLU" | "Sigmoid" | "TanH" | "ELU" | "AbsVal" | "BNLL" | "Power" | "Exp" | "Log" | "Clip"
        | "ReLU6" | "Swish" | "Threshold" | "Dropout" => activation::setup(&ctx, layer, bottoms),
        "Softmax" => softmax::setup(&ctx, layer, bottoms),
        "Concat" => concat::setup_concat(&ctx, layer, bottoms),
        "Slice" => concat::setup_slice(&ctx, layer, bottoms),
        "Split" => concat::setup_split(&ctx, layer, bottoms),
        "Eltwise" => eltwise::setup(&ctx, layer, bottoms),
        "BatchNorm" => batch_norm::setup(&ctx, layer, bottoms),
        "Scale" => scale::setup_scale(&ctx, layer, bottoms),
        "Bias" => scale::setup_bias(&ctx, layer, bottoms),
        "Flatten" => reshape::setup_flatten(&ctx, layer, bottoms),
        "Reshape" => reshape::setup_reshape(&ctx, layer, bottoms),
        "Crop" => crop::setup(&ctx, layer, bottoms),
        "ArgMax" => argmax::setup(&ctx, layer, bottoms),
        "MVN" => mvn::setup(&ctx, layer, bottoms),
        "Tile" => tile::setup(&ctx, layer, bottoms),
        "Reduction" => reduction::setup(&ctx, layer, bottoms),
        "Silence" => Ok(Setup::known(Op::Silence, Vec::new(), Vec::new())),
        "Permute" => permute::setup(&ctx, layer, bottoms),
        "Normalize" => normalize::setup(&ctx, layer, bottoms),
        "PriorBox" => prior_box::setup(&ctx, layer, bottoms),
        "ShuffleChannel" => shuffle_channel::setup(&ctx, layer, bottoms),
        "Embed" => embed::setup(&ctx, layer, bottoms),
        "Parameter" => parameter::setup(&ctx, layer),
        "Accuracy" => loss::setup_accuracy(&ctx, layer, bottoms),
        t if loss::is_loss(t) => loss::setup_loss(&ctx, layer, bottoms),
        other => Ok(Setup {
            op: Op::Custom {
                type_name: other.to_string(),
            },
            tops: vec![None; ctx.num_tops],
            params: None,
        }),
    }
}

/// How many blobs a layer type takes, as its `ExactNum*`/`Min*`/`Max*Blobs`.
#[derive(Clone, Copy)]
enum Count {
    Exactly(usize),
    AtLeast(usize),
    Between(usize, usize),
    /// As many tops as bottoms (Convolution).
    SameAsBottoms,
}

fn blob_counts(type_name: &str, layer: &LayerParameter) -> Option<(Count, Count)> {
    use Count::*;
    let max_pool = layer
        .pooling_param
        .as_ref()
        .is_none_or(|p| p.pool() == caffe_io::proto::pooling_parameter::PoolMethod::Max);
    Some(match type_name {
        "Input" | "HDF5Data" | "DummyData" => (Exactly(0), AtLeast(1)),
        "Data" | "ImageData" | "WindowData" | "MemoryData" => (Exactly(0), Between(1, 2)),
        "Convolution" | "Deconvolution" => (AtLeast(1), SameAsBottoms),
        "Pooling" if max_pool => (Exactly(1), Between(1, 2)),
        "Concat" => (AtLeast(1), Exactly(1)),
        "Slice" | "Split" => (Exactly(1), AtLeast(1)),
        "Eltwise" => (AtLeast(2), Exactly(1)),
        "Scale" | "Bias" => (Between(1, 2), Exactly(1)),
        "Crop" => (Exactly(2), Exactly(1)),
        "Silence" => (AtLeast(1), Exactly(0)),
        "PriorBox" => (Exactly(2), Exactly(1)),
        "Parameter" => (Exactly(0), Exactly(1)),
        "SoftmaxWithLoss" => (Exactly(2), Between(0, 2)),
        "InfogainLoss" => (Between(2, 3), Between(0, 1)),
        "ContrastiveLoss" => (Exactly(3), Between(0, 1)),
        "Accuracy" => (Exactly(2), Between(1, 2)),
        t if loss::is_loss(t) => (Exactly(2), Between(0, 1)),
        t if SUPPORTED_TYPES.contains(&t) => (Exactly(1), Exactly(1)),
        _ => return None,
    })
}

fn check_blob_counts(ctx: &LayerCtx<'_>, layer: &LayerParameter) -> Result<()> {
    let Some((bottoms, tops)) = blob_counts(ctx.type_name, layer) else {
        return Ok(()); // unsupported types are reported by `setup`
    };
    let check = |count: Count, actual: usize, what: &'static str| -> Result<()> {
        let (ok, expected) = match count {
            Count::Exactly(n) => (actual == n, format!("exactly {n}")),
            Count::AtLeast(n) => (actual >= n, format!("at least {n}")),
            Count::Between(a, b) => (actual >= a && actual <= b, format!("{a} to {b}")),
            Count::SameAsBottoms => (
                actual == ctx.num_bottoms,
                format!("as many as its bottoms ({})", ctx.num_bottoms),
            ),
        };
        if ok {
            Ok(())
        } else {
            Err(Error::BlobCount {
                layer: ctx.name.to_string(),
                type_name: ctx.type_name.to_string(),
                what,
                expected,
                actual,
            })
        }
    };
    check(bottoms, ctx.num_bottoms, "bottoms")?;
    check(tops, ctx.num_tops, "tops")
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
        let setup = setup(&net.layer[0], Phase::Test, Some(&inputs))?;
        Ok(setup.tops.into_iter().map(|t| t.expect("known")).collect())
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
        let s = setup(&net.layer[0], Phase::Test, Some(&[vec![1, 4, 5, 5]])).unwrap();
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
        let s = setup(&net.layer[0], Phase::Test, Some(&[vec![1, 10, 3]])).unwrap();
        assert_eq!(s.op, Op::Softmax { axis: 2 });
        // Unknown input: the op as written.
        let s = setup(&net.layer[0], Phase::Test, None).unwrap();
        assert_eq!(s.op, Op::Softmax { axis: -1 });
    }

    #[test]
    fn batch_norm_follows_the_phase() {
        let text = r#"layer { name: "bn" bottom: "b" top: "t" type: "BatchNorm" }"#;
        let net = caffe_io::parse_prototxt(text, std::path::Path::new("t.prototxt")).unwrap();
        let stats = |phase| match setup(&net.layer[0], phase, None).unwrap().op {
            Op::BatchNorm(p) => p.use_global_stats,
            _ => unreachable!(),
        };
        assert!(stats(Phase::Test));
        assert!(!stats(Phase::Train));
    }
}
