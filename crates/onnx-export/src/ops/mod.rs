//! Caffe layer -> ONNX nodes, one module per layer family (mirroring
//! graph-ir's `ops`). Each mapping reproduces Caffe's arithmetic, not just its
//! intent: where an ONNX operator differs (average pooling's divisor, LRN
//! within a channel, ArgMax's float output) the mapping composes the exact
//! Caffe result from several nodes. Shapes come from the net's own shape
//! inference, so every node's output shape is the Caffe blob's.
//!
//! This module lists the layer families and registers their lowerings
//! (`register_builtins`), with the lowerings of the layers that write no
//! node (Silence) or are refused (loss, accuracy); `cx` holds [`LayerCx`], the
//! context every lowering writes through, and `helpers` the node builders the
//! lowerings share.

mod argmax;
mod axpy;
mod batch_norm;
mod concat;
mod conv;
mod crop;
mod detection_output;
mod eltwise;
mod embed;
mod fork_bn;
mod inner_product;
mod interp;
mod lrn;
mod mvn;
mod neuron;
mod normalize;
mod parameter;
mod permute;
mod pool;
mod prior_box;
mod reduction;
mod reshape;
mod roi_pooling;
mod scale;
mod shuffle_channel;
mod softmax;
mod tile;
mod upsample;

mod cx;
mod helpers;

use graph_ir::ops::{AccuracyParams, LossParams, Silence};

pub use cx::LayerCx;
pub(crate) use helpers::{broadcast_dims, f32_fill, i64s, leading_dims_then, pads, reduce, reduce_into};

use crate::error::{Error, Result};
use crate::lowering::Lowerings;

/// The built-in lowerings: one line per op type, its module holding the rest.
pub(crate) fn register_builtins(lowerings: &mut Lowerings) {
    lowerings.insert(conv::convolution);
    lowerings.insert(conv::deconvolution);
    lowerings.insert(inner_product::inner_product);
    lowerings.insert(pool::pooling);
    lowerings.insert(lrn::lrn);
    lowerings.insert(neuron::neuron);
    lowerings.insert(softmax::softmax);
    lowerings.insert(concat::concat);
    lowerings.insert(concat::slice);
    lowerings.insert(concat::split);
    lowerings.insert(eltwise::eltwise);
    lowerings.insert(batch_norm::batch_norm);
    lowerings.insert(scale::scale);
    lowerings.insert(scale::bias);
    lowerings.insert(reshape::flatten);
    lowerings.insert(reshape::reshape);
    lowerings.insert(crop::crop);
    lowerings.insert(argmax::argmax);
    lowerings.insert(mvn::mvn);
    lowerings.insert(tile::tile);
    lowerings.insert(reduction::reduction);
    lowerings.insert(silence);
    lowerings.insert(permute::permute);
    lowerings.insert(normalize::normalize);
    lowerings.insert(prior_box::prior_box);
    lowerings.insert(shuffle_channel::shuffle_channel);
    lowerings.insert(axpy::axpy);
    lowerings.insert(fork_bn::fork_bn);
    lowerings.insert(interp::interp);
    lowerings.insert(upsample::upsample);
    lowerings.insert(roi_pooling::roi_pooling);
    lowerings.insert(detection_output::detection_output);
    lowerings.insert(embed::embed);
    lowerings.insert(parameter::parameter);
    lowerings.insert(loss);
    lowerings.insert(accuracy);
}

/// Silence only keeps Caffe from reporting its bottoms as outputs: no node.
fn silence(_cx: &mut LayerCx<'_, '_>, _op: &Silence) -> Result<()> {
    Ok(())
}

fn loss(cx: &mut LayerCx<'_, '_>, _op: &LossParams) -> Result<()> {
    Err(training_layer(cx))
}

fn accuracy(cx: &mut LayerCx<'_, '_>, _op: &AccuracyParams) -> Result<()> {
    Err(training_layer(cx))
}

fn training_layer(cx: &LayerCx<'_, '_>) -> Error {
    cx.unsupported("loss and accuracy layers are for training; export a deploy net (or remove the layer)")
}
