//! Element-wise layers whose top has the bottom's shape (Caffe's
//! `NeuronLayer::Reshape`): ReLU, PReLU, Sigmoid, TanH, ELU, AbsVal, BNLL,
//! Power, Exp, Log, Clip, Swish, Threshold and Dropout, with Caffe's
//! defaults, and the forks' ReLU6 (`min(max(x, 0), 6)`, a Clip). PReLU learns one slope per channel (`(C,)`, axis 1), or one
//! shared slope (`()`), initialised to 0.25.

use caffe_io::proto::LayerParameter;

use super::{filler_value, LayerCtx, Op, ParamInit, Setup};
use crate::error::Result;
use crate::shape::Shape;

/// Parses one of the element-wise layer types into its [`Op`].
pub fn op_from_layer(ctx: &LayerCtx<'_>, layer: &LayerParameter) -> Result<Op> {
    Ok(match ctx.type_name {
        "ReLU" => Op::ReLU {
            negative_slope: layer.relu_param.unwrap_or_default().negative_slope(),
        },
        "PReLU" => Op::PReLU {
            channel_shared: layer.prelu_param.clone().unwrap_or_default().channel_shared(),
        },
        "Sigmoid" => Op::Sigmoid,
        "TanH" => Op::TanH,
        "ELU" => Op::Elu {
            alpha: layer.elu_param.unwrap_or_default().alpha(),
        },
        "AbsVal" => Op::AbsVal,
        "BNLL" => Op::Bnll,
        "Power" => {
            let p = layer.power_param.unwrap_or_default();
            Op::Power {
                power: p.power(),
                scale: p.scale(),
                shift: p.shift(),
            }
        }
        "Exp" => {
            let p = layer.exp_param.unwrap_or_default();
            check_base(ctx, p.base(), false)?;
            Op::Exp {
                base: p.base(),
                scale: p.scale(),
                shift: p.shift(),
            }
        }
        "Log" => {
            let p = layer.log_param.unwrap_or_default();
            check_base(ctx, p.base(), true)?;
            Op::Log {
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
            Op::Clip { min: p.min, max: p.max }
        }
        "ReLU6" => Op::Clip { min: 0.0, max: 6.0 },
        "Swish" => Op::Swish {
            beta: layer.swish_param.unwrap_or_default().beta(),
        },
        "Threshold" => Op::Threshold {
            threshold: layer.threshold_param.unwrap_or_default().threshold(),
        },
        "Dropout" => Op::Dropout {
            ratio: layer.dropout_param.unwrap_or_default().dropout_ratio(),
        },
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
    if let Op::PReLU { channel_shared } = op {
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
