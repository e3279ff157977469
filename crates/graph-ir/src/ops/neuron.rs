//! The neuron layers, Caffe's `NeuronLayer` family: element-wise, one bottom,
//! one top of the bottom's shape, computable in place. ReLU, PReLU, Sigmoid,
//! TanH, ELU, AbsVal, BNLL, Power, Exp, Log, Clip, Swish, Threshold and
//! Dropout, with Caffe's defaults, and the forks' ReLU6 (`min(max(x, 0), 6)`,
//! a Clip). PReLU learns one slope per channel (`(C,)`, axis 1), or one
//! shared slope (`()`), initialised to 0.25. A new neuron layer is a variant
//! here, a name in its `TYPE` and an arm in onnx-export's `neuron` module.

use caffe_io::proto::LayerParameter;

use super::{filler_value, LayerCtx, ParamInit, Setup};
use crate::error::Result;
use crate::registry::{AxisFlow, LayerOp, LayerType};
use crate::shape::Shape;

/// Every neuron layer type, one setup for all.
pub(crate) const TYPE: LayerType = LayerType::new(
    &[
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
    ],
    setup,
)
// py-faster-rcnn's and SegNet's fields of Dropout (see `Neuron::Dropout`).
.fork_fields(&["dropout_param.scale_train", "dropout_param.sample_weights_test"]);

/// A neuron layer with its parameters (Caffe's defaults applied).
#[derive(Debug, Clone, PartialEq)]
pub enum Neuron {
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
    /// `Clip` (and the forks' `ReLU6`): `max(min, min(x, max))` (min <= max is checked).
    Clip { min: f32, max: f32 },
    /// `Swish`: `x * sigmoid(beta * x)`.
    Swish { beta: f32 },
    /// `Threshold`: 1 where `x > threshold`, else 0.
    Threshold { threshold: f32 },
    /// `Dropout` at test time: `x * test_scale`. BVLC Caffe scales while
    /// training, so `test_scale` is 1; py-faster-rcnn's `scale_train: false`
    /// leaves training unscaled and scales by `1 - ratio` at test time.
    /// SegNet's `sample_weights_test: true` (Bayesian SegNet) keeps dropping
    /// at random at test time: `random_at_test`, which no export can match.
    Dropout {
        ratio: f32,
        test_scale: f32,
        random_at_test: bool,
    },
}

impl LayerOp for Neuron {
    fn param_count(&self) -> usize {
        usize::from(matches!(self, Neuron::PReLU { .. }))
    }

    fn computes_in_place(&self) -> bool {
        true
    }

    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        Some(flow.same_as_bottom(0))
    }
}

/// Parses one of the neuron layer types.
pub fn op_from_layer(ctx: &LayerCtx<'_>, layer: &LayerParameter) -> Result<Neuron> {
    Ok(match ctx.type_name {
        "ReLU" => Neuron::ReLU {
            negative_slope: layer.relu_param.unwrap_or_default().negative_slope(),
        },
        "PReLU" => Neuron::PReLU {
            channel_shared: layer.prelu_param.clone().unwrap_or_default().channel_shared(),
        },
        "Sigmoid" => Neuron::Sigmoid,
        "TanH" => Neuron::TanH,
        "ELU" => Neuron::Elu {
            alpha: layer.elu_param.unwrap_or_default().alpha(),
        },
        "AbsVal" => Neuron::AbsVal,
        "BNLL" => Neuron::Bnll,
        "Power" => {
            let p = layer.power_param.unwrap_or_default();
            Neuron::Power {
                power: p.power(),
                scale: p.scale(),
                shift: p.shift(),
            }
        }
        "Exp" => {
            let p = layer.exp_param.unwrap_or_default();
            check_base(ctx, p.base(), false)?;
            Neuron::Exp {
                base: p.base(),
                scale: p.scale(),
                shift: p.shift(),
            }
        }
        "Log" => {
            let p = layer.log_param.unwrap_or_default();
            check_base(ctx, p.base(), true)?;
            Neuron::Log {
                base: p.base(),
                scale: p.scale(),
                shift: p.shift(),
            }
        }
        "Clip" => {
            let Some(p) = layer.clip_param else {
                return Err(ctx.invalid("clip_param { min max } is required"));
            };
            // Caffe computes max(min, min(x, max)), which is `min` everywhere when
            // min > max; ONNX's Clip gives `max` there, so such a layer is refused.
            if p.min.is_nan() || p.max.is_nan() || p.min > p.max {
                return Err(ctx.invalid(format!(
                    "clip_param.min ({}) must not exceed clip_param.max ({})",
                    p.min, p.max
                )));
            }
            Neuron::Clip { min: p.min, max: p.max }
        }
        "ReLU6" => Neuron::Clip { min: 0.0, max: 6.0 },
        "Swish" => Neuron::Swish {
            beta: layer.swish_param.unwrap_or_default().beta(),
        },
        "Threshold" => Neuron::Threshold {
            threshold: layer.threshold_param.unwrap_or_default().threshold(),
        },
        "Dropout" => {
            let ratio = layer.dropout_param.unwrap_or_default().dropout_ratio();
            let fork_bool = |path: &str| {
                caffe_io::kept::find(&layer.kept_field, path)
                    .map(|k| k.as_bool().map_err(|e| ctx.invalid(e)))
                    .transpose()
            };
            let scale_train = fork_bool("dropout_param.scale_train")?.unwrap_or(true);
            Neuron::Dropout {
                ratio,
                // Caffe keeps scale = 1 / (1 - ratio) and multiplies by 1 / scale, in f32.
                test_scale: if scale_train { 1.0 } else { 1.0 / (1.0 / (1.0 - ratio)) },
                random_at_test: fork_bool("dropout_param.sample_weights_test")?.unwrap_or(false),
            }
        }
        other => return Err(ctx.invalid(format!("'{other}' is not an element-wise layer type"))),
    })
}

/// Exp and Log need `base == -1` (e) or `base > 0`; Log also needs `ln(base) != 0`.
fn check_base(ctx: &LayerCtx<'_>, base: f32, is_log: bool) -> Result<()> {
    if base == -1.0 {
        return Ok(());
    }
    if base.is_nan() || base <= 0.0 || !base.ln().is_finite() || (is_log && base.ln() == 0.0) {
        return Err(ctx.invalid(format!(
            "base must be -1 (for e) or strictly positive{}, got {base}",
            if is_log { " and not 1" } else { "" }
        )));
    }
    Ok(())
}

/// PReLU's slope shape: `()` when shared, else `(C,)` with C = input axis 1.
pub fn prelu_param_shape(channel_shared: bool, input: &[usize]) -> Shape {
    if channel_shared {
        Vec::new()
    } else {
        vec![input[1]]
    }
}

pub(crate) fn setup(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    let op = op_from_layer(ctx, layer)?;
    let Some(inputs) = bottoms else {
        return Ok(Setup::unknown(op, ctx.num_tops));
    };
    let input = inputs[0].clone();
    let mut params = Vec::new();
    if let Neuron::PReLU { channel_shared } = op {
        if input.len() < 2 {
            return Err(ctx.shape_error(inputs, "PReLU needs an input with at least 2 axes"));
        }
        let p = layer.prelu_param.clone().unwrap_or_default();
        params.push(ParamInit {
            shape: prelu_param_shape(channel_shared, &input),
            fill: filler_value(p.filler.as_ref(), 0.25),
        });
    }
    Ok(Setup::known(op, vec![input], params))
}
