//! `BN`, the forks' batch normalization. One type name, two layers, told
//! apart by the fields of their `bn_param` block:
//!
//! - SegNet's and ENet's (alexgkendall/caffe-segnet, `bn_layer.cpp`;
//!   `bn_mode`, `scale_filler`, `shift_filler`): two blobs, scale and shift,
//!   each `(1, C, 1, 1)`. `bn_mode: INFERENCE` is `scale * x + shift` (the
//!   deploy nets' statistics are folded into the blobs); LEARN, the default,
//!   normalizes with the batch's own statistics even at test time: over N, H
//!   and W, `mean = E[x]`, `var = E[x^2] - mean^2`, then
//!   `scale * (x - mean) / sqrt(var + 1e-9) + shift`.
//! - PSPNet's (hszhao/PSPNet after yjxiong/caffe; `slope_filler`,
//!   `bias_filler`, `momentum`, `eps`, `frozen`): four blobs, slope, bias,
//!   mean and variance (stored as the variance), each `(1, C, 1, 1)`; at test
//!   time `slope * (x - mean) / sqrt(var + eps) + bias`, eps 1e-5 by default.
//!
//! A `BN` whose block names neither fork's fields is refused: which of the
//! two it is decides what it computes.

use caffe_io::proto::{seg_net_bn_parameter::BnMode, LayerParameter, PspNetBnParameter, SegNetBnParameter};

use super::setup::filler_value;
use super::{Fill, LayerCtx, ParamInit, Setup};
use crate::error::Result;
use crate::registry::{AxisFlow, LayerOp, LayerType};
use crate::shape::Shape;

/// The fork and mode of a `BN` layer.
#[derive(Debug, Clone, PartialEq)]
pub enum ForkBatchNorm {
    /// SegNet/ENet with `bn_mode: INFERENCE`: `scale * x + shift`.
    SegNetInference,
    /// SegNet/ENet in LEARN mode: the batch's own statistics, eps 1e-9.
    SegNetBatchStatistics,
    /// PSPNet: stored mean and variance, `eps`.
    PspNet { eps: f32 },
}

/// SegNet's hard-coded epsilon.
pub const SEGNET_EPS: f32 = 1e-9;

/// One bottom, one top; reads the `bn_param` block.
pub(crate) const TYPE: LayerType = LayerType::new(&["BN"], setup).fork_fields(&["bn_param"]);

impl LayerOp for ForkBatchNorm {
    fn param_count(&self) -> usize {
        match self {
            ForkBatchNorm::PspNet { .. } => 4,
            _ => 2,
        }
    }

    fn computes_in_place(&self) -> bool {
        true
    }

    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        Some(flow.same_as_bottom(0))
    }
}

const SEGNET_FIELDS: &[&str] = &["bn_mode", "scale_filler", "shift_filler"];
const PSPNET_FIELDS: &[&str] = &["slope_filler", "bias_filler", "momentum", "eps", "frozen", "engine"];

/// Which fork's block: the first field name that belongs to one of them.
fn names_any(text: &str, fields: &[&str]) -> bool {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|word| fields.contains(&word))
}

fn setup(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    let block = caffe_io::kept::find(&layer.kept_field, "bn_param");
    let text = block.and_then(|b| b.text.as_deref()).unwrap_or("");
    let (segnet, pspnet) = (names_any(text, SEGNET_FIELDS), names_any(text, PSPNET_FIELDS));
    let parse_err = |e: String| ctx.invalid(e);
    let (op, fills) =
        match (block, segnet, pspnet) {
            (Some(b), true, false) => {
                let p: SegNetBnParameter = b.parse_block("SegNetBNParameter").map_err(parse_err)?;
                let op = match p.bn_mode() {
                    BnMode::Inference => ForkBatchNorm::SegNetInference,
                    BnMode::Learn => ForkBatchNorm::SegNetBatchStatistics,
                };
                let fills = vec![
                    filler_value(p.scale_filler.as_ref(), 1.0),
                    filler_value(p.shift_filler.as_ref(), 0.0),
                ];
                (op, fills)
            }
            (Some(b), false, true) => {
                let p: PspNetBnParameter = b.parse_block("PSPNetBNParameter").map_err(parse_err)?;
                if p.eps().is_nan() || p.eps() <= 0.0 {
                    return Err(ctx.invalid(format!("bn_param.eps must be positive, got {}", p.eps())));
                }
                let fills = vec![
                    filler_value(p.slope_filler.as_ref(), 1.0),
                    filler_value(p.bias_filler.as_ref(), 0.0),
                    Fill::Constant(0.0),
                    // The fork initialises the variance to 1 when frozen.
                    Fill::Constant(if p.frozen() { 1.0 } else { 0.0 }),
                ];
                (ForkBatchNorm::PspNet { eps: p.eps() }, fills)
            }
            (_, true, true) => return Err(ctx.invalid(
                "bn_param mixes SegNet's fields (bn_mode, scale_filler, shift_filler) with PSPNet's (slope_filler, \
                 bias_filler, momentum, eps, frozen): which BN is this?",
            )),
            _ => {
                return Err(ctx.invalid(
                    "a BN layer is SegNet's/ENet's (2 blobs: scale, shift) or PSPNet's (4 blobs: slope, bias, mean, \
                 variance), and netsurgeon tells them apart by bn_param's fields; this one names none. Add \
                 `bn_param { bn_mode: INFERENCE }` (SegNet, ENet) or `bn_param { eps: 1e-5 }` (PSPNet)",
                ))
            }
        };
    let Some(inputs) = bottoms else {
        return Ok(Setup::unknown(op, ctx.num_tops));
    };
    let input = &inputs[0];
    if input.len() != 4 {
        return Err(ctx.shape_error(inputs, "BN takes an N x C x H x W input"));
    }
    let params = fills
        .into_iter()
        .map(|fill| ParamInit {
            shape: vec![1, input[1], 1, 1],
            fill,
        })
        .collect();
    Ok(Setup::known(op, vec![input.clone()], params))
}

#[cfg(test)]
mod tests {
    use caffe_io::proto::Phase;

    use super::*;
    use crate::registry::LayerRegistry;

    fn set_up(block: &str) -> Result<Setup> {
        let text = format!(r#"layer {{ name: "bn" type: "BN" bottom: "x" top: "x" {block} }}"#);
        let net = caffe_io::parse_prototxt(&text, "t.prototxt").unwrap();
        LayerRegistry::builtin().setup(&net.layer[0], Phase::Test, Some(&[vec![2, 3, 4, 5]]))
    }

    #[test]
    fn the_block_says_which_fork() {
        let s = set_up("bn_param { bn_mode: INFERENCE scale_filler { type: 'constant' value: 2 } }").unwrap();
        assert_eq!(s.op.downcast_ref(), Some(&ForkBatchNorm::SegNetInference));
        let fills: Vec<_> = s
            .params
            .unwrap()
            .iter()
            .map(|p| (p.shape.clone(), p.fill.initial()))
            .collect();
        assert_eq!(fills, [(vec![1, 3, 1, 1], 2.0), (vec![1, 3, 1, 1], 0.0)]);
        let s = set_up("bn_param { scale_filler { type: 'constant' value: 1 } }").unwrap();
        assert_eq!(s.op.downcast_ref(), Some(&ForkBatchNorm::SegNetBatchStatistics));
        let s = set_up("bn_param { slope_filler { type: 'constant' value: 1 } frozen: true }").unwrap();
        assert_eq!(s.op.downcast_ref(), Some(&ForkBatchNorm::PspNet { eps: 1e-5 }));
        assert_eq!(s.params.unwrap()[3].fill.initial(), 1.0);
    }

    #[test]
    fn an_unknown_or_ambiguous_block_is_refused_naming_the_layer() {
        for block in ["", "bn_param { }", "bn_param { bn_mode: INFERENCE eps: 1e-5 }"] {
            let err = set_up(block).unwrap_err().to_string();
            assert!(err.starts_with("layer 'bn' (BN): "), "{err}");
        }
        let err = set_up("bn_param { eps: 0 }").unwrap_err().to_string();
        assert!(err.contains("eps must be positive"), "{err}");
        let err = set_up("bn_param { frozen: true typo: 1 }").unwrap_err().to_string();
        assert!(
            err.contains("bn_param { ... }, line 1") && err.contains("typo"),
            "{err}"
        );
    }
}
