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
//!
//! This module lists the layer families and registers them
//! (`register_builtins`); `setup` holds the context every setup works in
//! ([`LayerCtx`], [`Setup`], [`ParamInit`]).

pub mod argmax;
pub mod axpy;
pub mod batch_norm;
pub mod concat;
pub mod conv;
pub mod conv_depthwise;
pub mod crop;
pub mod data;
pub mod detection_output;
pub mod eltwise;
pub mod embed;
pub mod fork_bn;
pub mod inner_product;
pub mod input;
pub mod interp;
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
pub mod roi_pooling;
pub mod scale;
pub mod shuffle_channel;
pub mod silence;
pub mod softmax;
pub mod tile;
pub mod upsample;

mod setup;

use crate::registry::LayerRegistry;
pub use crate::registry::Op;
pub(crate) use setup::{check_same_shapes, filler_value};
pub use setup::{Fill, LayerCtx, ParamInit, Setup};

pub use argmax::ArgMaxParams;
pub use axpy::Axpy;
pub use batch_norm::BatchNormParams;
pub use concat::{Concat, SliceParams, Split};
pub use conv::{ConvParams, Convolution, Deconvolution};
pub use crop::CropParams;
pub use data::{DataKind, DataParams};
pub use detection_output::DetectionOutput;
pub use eltwise::{EltwiseOp, EltwiseParams};
pub use embed::Embed;
pub use fork_bn::ForkBatchNorm;
pub use inner_product::InnerProductParams;
pub use input::InputParams;
pub use interp::Interp;
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
pub use roi_pooling::RoiPooling;
pub use scale::{BiasParams, ScaleParams};
pub use shuffle_channel::ShuffleChannel;
pub use silence::Silence;
pub use softmax::Softmax;
pub use tile::Tile;
pub use upsample::Upsample;

/// The built-in layer types: one line per type (or family), its module
/// holding everything else about it.
pub(crate) fn register_builtins(registry: &mut LayerRegistry) {
    registry.insert(input::TYPE);
    registry.insert(data::TYPE);
    registry.insert(data::TYPE_WITH_LABEL);
    registry.insert(conv::CONVOLUTION);
    registry.insert(conv::DECONVOLUTION);
    registry.insert(conv_depthwise::TYPE);
    registry.insert(axpy::TYPE);
    registry.insert(fork_bn::TYPE);
    registry.insert(interp::TYPE);
    registry.insert(upsample::TYPE);
    registry.insert(roi_pooling::TYPE);
    registry.insert(detection_output::TYPE);
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

#[cfg(test)]
mod tests;
