//! The setup context every layer type's setup works in, as Caffe's
//! `Layer::SetUp` (`LayerSetUp` + `Reshape`) sees it: the layer being set up
//! ([`LayerCtx`], with its errors and `CanonicalAxisIndex`), what a setup
//! yields ([`Setup`]: the op, top shapes, params) and the initial value of
//! each param ([`ParamInit`], [`Fill`]: the layer's fillers).

use caffe_io::proto::{FillerParameter, LayerParameter, Phase};

use crate::error::{Error, Result};
use crate::registry::Op;
use crate::shape::Shape;

/// The shape and initial value of one learnable param, for a net built
/// without weights.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamInit {
    pub shape: Shape,
    pub fill: Fill,
}

/// How a param is initialised when no weights give it: the layer's filler as
/// written, or the constant Caffe uses when the layer names none.
#[derive(Debug, Clone, PartialEq)]
pub enum Fill {
    /// A constant (BatchNorm's statistics, a PReLU slope of 0.25, ...).
    Constant(f32),
    /// The prototxt's `*_filler` block; [`crate::fillers`] runs it.
    Filler(FillerParameter),
}

impl Fill {
    /// The value a param starts with before any random filler runs: the
    /// constant (a `constant` filler's value), or 0 for random fillers, which
    /// [`crate::Net::run_fillers`] then draws.
    pub fn initial(&self) -> f32 {
        match self {
            Fill::Constant(v) => *v,
            Fill::Filler(f) if f.r#type() == "constant" => f.value(),
            Fill::Filler(_) => 0.0,
        }
    }
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
    /// The dialects the net was loaded for (`LoadOptions::dialects`): rules
    /// of a fork's Caffe that no field states.
    pub dialects: caffe_io::dialect::DialectSet,
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
            dialects: caffe_io::dialect::DialectSet::new(),
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

/// A param's fill: the filler written, or the constant `default` Caffe
/// uses when the layer names none.
pub(crate) fn filler_value(filler: Option<&FillerParameter>, default: f32) -> Fill {
    match filler {
        None => Fill::Constant(default),
        Some(f) => Fill::Filler(f.clone()),
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
