//! Loss and Accuracy layers, kept so that train_val nets load: as Caffe's
//! `LossLayer`, a loss outputs a scalar `()` (SoftmaxWithLoss's optional
//! second top is the softmax, shaped like bottom 0); Accuracy outputs a scalar
//! and, with a second top, per-class accuracies `(C,)`, C = bottom 0's `axis`.

use caffe_io::proto::LayerParameter;

use super::{LayerCtx, Setup};
use crate::error::Result;
use crate::registry::{Arity, AxisFlow, LayerOp, LayerType};
use crate::shape::{count, Shape};

/// The losses of a prediction and a label, with an optional scalar top.
pub(crate) const LOSS: LayerType = LayerType::new(
    &[
        "EuclideanLoss",
        "SigmoidCrossEntropyLoss",
        "HingeLoss",
        "MultinomialLogisticLoss",
    ],
    setup_loss,
)
.bottoms(Arity::Exactly(2))
.tops(Arity::Between(0, 1));
/// `SoftmaxWithLoss`: its optional second top is the softmax.
pub(crate) const SOFTMAX_WITH_LOSS: LayerType = LayerType::new(&["SoftmaxWithLoss"], setup_loss)
    .bottoms(Arity::Exactly(2))
    .tops(Arity::Between(0, 2));
/// `InfogainLoss`: the infogain matrix may be a third bottom.
pub(crate) const INFOGAIN_LOSS: LayerType = LayerType::new(&["InfogainLoss"], setup_loss)
    .bottoms(Arity::Between(2, 3))
    .tops(Arity::Between(0, 1));
/// `ContrastiveLoss`: two features and a similarity label.
pub(crate) const CONTRASTIVE_LOSS: LayerType = LayerType::new(&["ContrastiveLoss"], setup_loss)
    .bottoms(Arity::Exactly(3))
    .tops(Arity::Between(0, 1));
/// `Accuracy`: predictions and labels; per-class accuracies as a second top.
pub(crate) const ACCURACY: LayerType = LayerType::new(&["Accuracy"], setup_accuracy)
    .bottoms(Arity::Exactly(2))
    .tops(Arity::Between(1, 2));

/// A loss layer.
#[derive(Debug, Clone, PartialEq)]
pub struct LossParams {
    /// Caffe's type string, e.g. "SoftmaxWithLoss".
    pub kind: String,
    /// `loss_param.ignore_label`.
    pub ignore_label: Option<i32>,
}

/// Accuracy parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct AccuracyParams {
    pub top_k: usize,
    pub axis: i32,
    pub ignore_label: Option<i32>,
}

pub(crate) fn setup_loss(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    let params = LossParams {
        kind: ctx.type_name.to_string(),
        ignore_label: layer.loss_param.as_ref().and_then(|p| p.ignore_label),
    };
    let Some(inputs) = bottoms else {
        return Ok(Setup::unknown(params, ctx.num_tops));
    };
    if inputs[0].first() != inputs[1].first() {
        return Err(ctx.shape_error(inputs, "the data and label should have the same first dimension"));
    }
    if ctx.type_name == "SoftmaxWithLoss" {
        // As Caffe's SoftmaxWithLossLayer::Reshape: one label per prediction
        // along the softmax axis.
        let axis = ctx.axis(
            layer.softmax_param.unwrap_or_default().axis(),
            inputs,
            0,
            "softmax_param.axis",
        )?;
        let (pred, label) = (&inputs[0], &inputs[1]);
        if count(pred, 0, axis) * count(pred, axis + 1, pred.len()) != count(label, 0, label.len()) {
            return Err(ctx.shape_error(
                inputs,
                "the number of labels must match the number of predictions (outer x inner axes of bottom 0)",
            ));
        }
    }
    let mut tops = vec![Vec::new()];
    if ctx.num_tops > 1 {
        tops.push(inputs[0].clone());
    }
    tops.truncate(ctx.num_tops);
    Ok(Setup::known(params, tops, Vec::new()))
}

pub(crate) fn setup_accuracy(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    let p = layer.accuracy_param.unwrap_or_default();
    let mut params = AccuracyParams {
        top_k: p.top_k() as usize,
        axis: p.axis(),
        ignore_label: p.ignore_label,
    };
    let Some(inputs) = bottoms else {
        return Ok(Setup::unknown(params, ctx.num_tops));
    };
    let axis = ctx.axis(params.axis, inputs, 0, "accuracy_param.axis")?;
    let (pred, label) = (&inputs[0], &inputs[1]);
    let outer_inner = count(pred, 0, axis) * count(pred, axis + 1, pred.len());
    if outer_inner != count(label, 0, label.len()) {
        return Err(ctx.shape_error(inputs, "the number of labels must match the number of predictions"));
    }
    params.axis = axis as i32;
    let mut tops = vec![Vec::new()];
    if ctx.num_tops > 1 {
        tops.push(vec![pred[axis]]);
    }
    Ok(Setup::known(params, tops, Vec::new()))
}

impl LayerOp for LossParams {
    /// Fixed: a scalar.
    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        Some(flow.fixed())
    }
}

impl LayerOp for AccuracyParams {
    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        Some(flow.fixed())
    }
}
