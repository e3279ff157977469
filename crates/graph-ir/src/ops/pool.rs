//! Pooling: as Caffe's `PoolingLayer::LayerSetUp`/`Reshape`. Output size
//! `ceil((H + 2p - k) / s) + 1` (CEIL, the default) or with floor (FLOOR),
//! computed in f32 as Caffe does; when any pad is nonzero, an output whose last
//! window would start at or past `H + p` is clipped by one, on each axis.
//! Global pooling takes the whole input plane (pad 0, stride 1).
//!
//! OpenCV's schema and the forks (DenseNet, ResNeXt, DPN models) write the
//! rounding as `ceil_mode` (a bool, default true, at BVLC's `round_mode`
//! number 13): true is CEIL, false is FLOOR, with the same clipping rule.

use caffe_io::proto::pooling_parameter::{PoolMethod as ProtoMethod, RoundMode as ProtoRound};
use caffe_io::proto::LayerParameter;

use super::{LayerCtx, Setup};
use crate::error::Result;
use crate::registry::{Arity, AxisFlow, LayerOp, LayerType};
use crate::shape::Shape;

/// Pooling method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolMethod {
    Max,
    Ave,
    /// Stochastic pooling: at test time a probability-weighted average.
    Stochastic,
}

/// How the output size is rounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoundMode {
    Ceil,
    Floor,
}

/// Resolved pooling parameters; `kernel`, `stride`, `pad` are `[h, w]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolParams {
    pub method: PoolMethod,
    /// `global_pooling: true`; `kernel` is then the input's `[H, W]`.
    pub global: bool,
    pub kernel: Vec<usize>,
    pub stride: Vec<usize>,
    pub pad: Vec<usize>,
    pub round_mode: RoundMode,
    /// The YOLOv3 ports' Caffe (loaded with `Dialect::Yolo`): one more
    /// window on both axes when kernel_h - stride_h is odd, the last one cut
    /// at the edge (YOLOv3-tiny's 2/1 max pooling keeps 13 x 13).
    pub odd_window_extra: bool,
}

impl PoolParams {
    /// Parses `pooling_param` and checks it as `LayerSetUp`. For global
    /// pooling the kernel is left `[0, 0]` until [`PoolParams::resolve`].
    pub fn from_layer(ctx: &LayerCtx<'_>, layer: &LayerParameter) -> Result<Self> {
        let p = layer.pooling_param.unwrap_or_default();
        let global = p.global_pooling();
        let has_hw = p.kernel_h.is_some() && p.kernel_w.is_some();
        if global {
            if p.kernel_size.is_some() || p.kernel_h.is_some() || p.kernel_w.is_some() {
                return Err(ctx.invalid("with global_pooling: true the kernel size cannot be specified"));
            }
        } else if p.kernel_size.is_some() == has_hw {
            return Err(ctx.invalid(if p.kernel_size.is_some() {
                "the kernel size is kernel_size OR kernel_h and kernel_w; not both"
            } else {
                "a kernel size is required: kernel_size, or both kernel_h and kernel_w"
            }));
        }
        let pad_ok =
            (p.pad.is_none() && p.pad_h.is_some() && p.pad_w.is_some()) || (p.pad_h.is_none() && p.pad_w.is_none());
        if !pad_ok {
            return Err(ctx.invalid("pad is pad OR pad_h and pad_w (both)"));
        }
        let stride_ok = (p.stride.is_none() && p.stride_h.is_some() && p.stride_w.is_some())
            || (p.stride_h.is_none() && p.stride_w.is_none());
        if !stride_ok {
            return Err(ctx.invalid("stride is stride OR stride_h and stride_w (both)"));
        }
        let kernel = if global {
            vec![0, 0]
        } else if let Some(k) = p.kernel_size {
            vec![k as usize; 2]
        } else {
            vec![p.kernel_h() as usize, p.kernel_w() as usize]
        };
        let pad = if p.pad_h.is_some() {
            vec![p.pad_h() as usize, p.pad_w() as usize]
        } else {
            vec![p.pad() as usize; 2]
        };
        let stride = if p.stride_h.is_some() {
            vec![p.stride_h() as usize, p.stride_w() as usize]
        } else {
            vec![p.stride() as usize; 2]
        };
        let method = match p.pool() {
            ProtoMethod::Max => PoolMethod::Max,
            ProtoMethod::Ave => PoolMethod::Ave,
            ProtoMethod::Stochastic => PoolMethod::Stochastic,
        };
        if !global && kernel.contains(&0) {
            return Err(ctx.invalid("filter dimensions cannot be zero"));
        }
        if stride.contains(&0) {
            return Err(ctx.invalid("stride cannot be zero"));
        }
        if global && (pad != [0, 0] || stride != [1, 1]) {
            return Err(ctx.invalid("with global_pooling: true only pad = 0 and stride = 1 are allowed"));
        }
        if pad != [0, 0] {
            if method == PoolMethod::Stochastic {
                return Err(ctx.invalid("padding is implemented only for average and max pooling"));
            }
            if !global && (pad[0] >= kernel[0] || pad[1] >= kernel[1]) {
                return Err(ctx.invalid(format!("pad {pad:?} must be smaller than the kernel {kernel:?}")));
            }
        }
        let mut round_mode = match p.round_mode() {
            ProtoRound::Ceil => RoundMode::Ceil,
            ProtoRound::Floor => RoundMode::Floor,
        };
        if let Some(ceil_mode) = caffe_io::kept::find(&layer.kept_field, "pooling_param.ceil_mode") {
            if p.round_mode.is_some() {
                return Err(ctx.invalid(
                    "round_mode (BVLC's) and ceil_mode (OpenCV's and the forks') both set the rounding; keep one",
                ));
            }
            round_mode = match ceil_mode.as_bool().map_err(|e| ctx.invalid(e))? {
                true => RoundMode::Ceil,
                false => RoundMode::Floor,
            };
        }
        let yolo = ctx.dialects.contains(caffe_io::dialect::Dialect::Yolo);
        let odd_window_extra = yolo && !global && (kernel[0] as i64 - stride[0] as i64).rem_euclid(2) == 1;
        Ok(PoolParams {
            method,
            global,
            kernel,
            stride,
            pad,
            round_mode,
            odd_window_extra,
        })
    }

    /// Sets the kernel of global pooling to the input's plane.
    pub fn resolve(&mut self, input: &[usize]) {
        if self.global && input.len() == 4 {
            self.kernel = vec![input[2], input[3]];
        }
    }

    /// `(N, C, pooled_h, pooled_w)` for a 4-D input (after [`PoolParams::resolve`]).
    pub fn output_shape(&self, ctx: &LayerCtx<'_>, inputs: &[Shape]) -> Result<Shape> {
        let input = &inputs[0];
        if input.len() != 4 {
            return Err(ctx.shape_error(inputs, "input must have 4 axes (num, channels, height, width)"));
        }
        let padded = self.pad != [0, 0];
        let mut top = vec![input[0], input[1]];
        for axis in 0..2 {
            let out = pooled_size_with(
                input[2 + axis],
                self.kernel[axis],
                self.stride[axis],
                self.pad[axis],
                self.round_mode,
                padded,
                usize::from(self.odd_window_extra),
            );
            match out {
                Some(o) => top.push(o),
                None => {
                    return Err(ctx.shape_error(
                        inputs,
                        format!(
                            "kernel {:?}, stride {:?}, pad {:?} give no valid output on spatial axis {axis}",
                            self.kernel, self.stride, self.pad
                        ),
                    ))
                }
            }
        }
        Ok(top)
    }
}

/// One pooled size, exactly as Caffe computes it: f32 division, ceil or
/// floor, +1; then, when the layer has any padding, drop the last window if it
/// would start at or past `len + pad`. `None` when Caffe would abort.
pub fn pooled_size(
    len: usize,
    kernel: usize,
    stride: usize,
    pad: usize,
    mode: RoundMode,
    padded: bool,
) -> Option<usize> {
    pooled_size_with(len, kernel, stride, pad, mode, padded, 0)
}

/// As [`pooled_size`], with `extra` windows added before the clipping (the
/// YOLOv3 ports' Caffe adds one when kernel - stride is odd).
pub fn pooled_size_with(
    len: usize,
    kernel: usize,
    stride: usize,
    pad: usize,
    mode: RoundMode,
    padded: bool,
    extra: usize,
) -> Option<usize> {
    // i128: no sum or product of these usize values overflows.
    let (len, kernel, stride, pad) = (len as i128, kernel as i128, stride as i128, pad as i128);
    let span = len + 2 * pad - kernel;
    let ratio = span as f32 / stride as f32;
    let rounded = match mode {
        RoundMode::Ceil => ratio.ceil(),
        RoundMode::Floor => ratio.floor(),
    };
    // `as` saturates a float too large for i128 (or NaN, for stride 0).
    let mut out = (rounded as i128).saturating_add(1).saturating_add(extra as i128);
    let limit = len + pad;
    if padded {
        if (out - 1).saturating_mul(stride) >= limit {
            out -= 1;
        }
        if (out - 1).saturating_mul(stride) >= limit {
            return None;
        }
    }
    // Caffe would make an empty blob here (a kernel larger than the padded
    // input); nothing downstream can use one, so it is no valid output.
    usize::try_from(out).ok().filter(|&o| o > 0)
}

pub(crate) fn setup(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    let mut params = PoolParams::from_layer(ctx, layer)?;
    if ctx.num_tops == 2 && params.method != PoolMethod::Max {
        // Caffe: "MaxPool can have 1 or 2 tops"; the others one.
        return Err(ctx.invalid("only MAX pooling has a second top (the argmax mask)"));
    }
    let Some(inputs) = bottoms else {
        return Ok(Setup::unknown(params, ctx.num_tops));
    };
    params.resolve(&inputs[0]);
    let top = params.output_shape(ctx, inputs)?;
    // A second top (MAX only) is the argmax mask, shaped like the output.
    let tops = vec![top; ctx.num_tops];
    Ok(Setup::known(params, tops, Vec::new()))
}

/// `Pooling`: one bottom; MAX pooling may give the argmax mask as a second top.
pub(crate) const TYPE: LayerType = LayerType::new(&["Pooling"], setup)
    .tops(Arity::Between(1, 2))
    .fork_fields(&["pooling_param.ceil_mode"]);

impl LayerOp for PoolParams {
    /// The bottom's axes; a global pooling's spatial axes are 1.
    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        let mut flags = flow.same_as_bottom(0);
        if self.global {
            flags
                .iter_mut()
                .for_each(|f| f.iter_mut().skip(2).for_each(|v| *v = false));
        }
        Some(flags)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caffenet_sizes() {
        assert_eq!(pooled_size(55, 3, 2, 0, RoundMode::Ceil, false), Some(27));
        assert_eq!(pooled_size(13, 3, 2, 0, RoundMode::Ceil, false), Some(6));
        assert_eq!(pooled_size(111, 3, 2, 0, RoundMode::Ceil, false), Some(55));
        // ceil((31 - 33) / 2) + 1 = 0: found by fuzzing the export.
        assert_eq!(pooled_size(31, 33, 2, 0, RoundMode::Ceil, false), None);
    }

    #[test]
    fn ceil_floor_and_clip() {
        // ceil((6 - 3) / 2) + 1 = 3 vs floor: 2.
        assert_eq!(pooled_size(6, 3, 2, 0, RoundMode::Ceil, false), Some(3));
        assert_eq!(pooled_size(6, 3, 2, 0, RoundMode::Floor, false), Some(2));
        // H=5, k=3, s=2, p=1: ceil(4/2)+1 = 3; (3-1)*2 = 4 < 6: kept.
        assert_eq!(pooled_size(5, 3, 2, 1, RoundMode::Ceil, true), Some(3));
        // H=6, k=2, s=2, p=1: ceil(6/2)+1 = 4; (4-1)*2 = 6 >= 7? no: kept.
        assert_eq!(pooled_size(6, 2, 2, 1, RoundMode::Ceil, true), Some(4));
        // H=4, k=2, s=3, p=1: ceil(4/3)+1 = 3; (3-1)*3 = 6 >= 5: clipped to 2.
        assert_eq!(pooled_size(4, 2, 3, 1, RoundMode::Ceil, true), Some(2));
    }
}
