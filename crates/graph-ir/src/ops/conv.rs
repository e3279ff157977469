//! Convolution and Deconvolution: parameters and shapes as Caffe's
//! `BaseConvolutionLayer::LayerSetUp`/`Reshape` and each layer's
//! `compute_output_shape` (kernel/stride/pad given once, once per spatial axis,
//! or as `_h`/`_w` for 2-D; C++ integer division for the output size).

use caffe_io::proto::LayerParameter;

use super::{check_same_shapes, filler_value, LayerCtx, ParamInit, Setup};
use crate::error::Result;
use crate::registry::{Arity, AxisFlow, LayerOp, LayerType};
use crate::shape::Shape;

/// Resolved convolution parameters; the lists have one entry per spatial axis.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvParams {
    pub num_output: usize,
    pub bias_term: bool,
    pub group: usize,
    /// The channel axis (default 1); the spatial axes are all that follow it.
    pub axis: i32,
    pub kernel: Vec<usize>,
    pub stride: Vec<usize>,
    pub pad: Vec<usize>,
    pub dilation: Vec<usize>,
}

impl ConvParams {
    /// Parses the layer's `convolution_param`. With `spatial_axes` given, the
    /// lists are resolved to one value per spatial axis and checked as Caffe
    /// does; without it, they are kept as written.
    pub fn from_layer(ctx: &LayerCtx<'_>, layer: &LayerParameter, spatial_axes: Option<usize>) -> Result<Self> {
        let p = layer.convolution_param.clone().unwrap_or_default();
        let num_output = p.num_output() as usize;
        if num_output == 0 {
            return Err(ctx.invalid("convolution_param.num_output must be given and positive"));
        }
        let group = p.group() as usize;
        if group == 0 {
            return Err(ctx.invalid("convolution_param.group must be positive"));
        }
        if !num_output.is_multiple_of(group) {
            return Err(ctx.invalid(format!(
                "num_output ({num_output}) must be a multiple of group ({group})"
            )));
        }
        let kernel = axis_values(
            ctx,
            "kernel",
            &p.kernel_size,
            hw(p.kernel_h, p.kernel_w),
            None,
            spatial_axes,
        )?;
        if spatial_axes.is_some() && kernel.contains(&0) {
            return Err(ctx.invalid(format!("kernel dimensions must be nonzero, got {kernel:?}")));
        }
        let stride = axis_values(
            ctx,
            "stride",
            &p.stride,
            hw(p.stride_h, p.stride_w),
            Some(1),
            spatial_axes,
        )?;
        if spatial_axes.is_some() && stride.contains(&0) {
            return Err(ctx.invalid(format!("stride dimensions must be nonzero, got {stride:?}")));
        }
        let pad = axis_values(ctx, "pad", &p.pad, hw(p.pad_h, p.pad_w), Some(0), spatial_axes)?;
        let mut dilation = axis_values(ctx, "dilation", &p.dilation, None, Some(1), spatial_axes)?;
        if let Some(hole) = deeplab_hole(ctx, layer)? {
            if !p.dilation.is_empty() {
                return Err(ctx.invalid("dilation (BVLC's) and hole (DeepLab's) both set the dilation; keep one"));
            }
            if spatial_axes.is_some_and(|n| n != 2) {
                return Err(ctx.invalid("DeepLab's hole applies to 2-D convolutions only"));
            }
            dilation = hole.to_vec();
        }
        Ok(ConvParams {
            num_output,
            bias_term: p.bias_term(),
            group,
            axis: p.axis(),
            kernel,
            stride,
            pad,
            dilation,
        })
    }

    /// The top shape for `input`: the axes before the channel axis, then
    /// `num_output`, then each spatial output size. `deconv` selects the
    /// transposed rule `s * (in - 1) + d * (k - 1) + 1 - 2p`.
    pub fn output_shape(&self, ctx: &LayerCtx<'_>, inputs: &[Shape], deconv: bool) -> Result<Shape> {
        let input = &inputs[0];
        let axis = ctx.axis(self.axis, inputs, 0, "convolution axis")?;
        let mut top: Shape = input[..axis].to_vec();
        top.push(self.num_output);
        for (i, &len) in input[axis + 1..].iter().enumerate() {
            // i128: no product of these usize values overflows.
            let (k, s, p, d) = (
                self.kernel[i] as i128,
                self.stride[i] as i128,
                self.pad[i] as i128,
                self.dilation[i] as i128,
            );
            let extent = d * (k - 1) + 1;
            let len = len as i128;
            // Rust's integer division truncates toward zero, as C++'s int division.
            let out = if deconv {
                s * (len - 1) + extent - 2 * p
            } else {
                (len + 2 * p - extent) / s + 1
            };
            if out < 0 {
                return Err(ctx.shape_error(
                    inputs,
                    format!(
                        "spatial axis {i}: kernel extent {extent} with pad {p} and stride {s} gives a negative output size ({out})"
                    ),
                ));
            }
            let out = usize::try_from(out).map_err(|_| {
                ctx.shape_error(inputs, format!("spatial axis {i}: the output size {out} is too large"))
            })?;
            top.push(out);
        }
        Ok(top)
    }

    /// Weights `(C_out, C_in / group, k...)` (for deconvolution `C_out` is the
    /// input's channels and `C_in` is `num_output`), then bias `(num_output,)`.
    pub fn param_shapes(&self, channels: usize, deconv: bool) -> Vec<Shape> {
        let (out_c, in_c) = if deconv {
            (channels, self.num_output)
        } else {
            (self.num_output, channels)
        };
        let mut weight = vec![out_c, in_c / self.group];
        weight.extend_from_slice(&self.kernel);
        let mut shapes = vec![weight];
        if self.bias_term {
            shapes.push(vec![self.num_output]);
        }
        shapes
    }
}

/// The `_h`/`_w` pair when either is set (both are then used, unset ones as 0).
fn hw(h: Option<u32>, w: Option<u32>) -> Option<[u32; 2]> {
    (h.is_some() || w.is_some()).then(|| [h.unwrap_or(0), w.unwrap_or(0)])
}

/// Caffe's rule for a per-axis list: `_h`/`_w` (2-D only, not with the list),
/// else the list given once (broadcast), once per axis, or (when a default
/// exists) not at all.
fn axis_values(
    ctx: &LayerCtx<'_>,
    what: &str,
    list: &[u32],
    hw: Option<[u32; 2]>,
    default: Option<usize>,
    spatial_axes: Option<usize>,
) -> Result<Vec<usize>> {
    if let Some([h, w]) = hw {
        if !list.is_empty() {
            return Err(ctx.invalid(format!(
                "either {what} or {what}_h/{what}_w should be specified; not both"
            )));
        }
        if let Some(n) = spatial_axes.filter(|&n| n != 2) {
            return Err(ctx.invalid(format!(
                "{what}_h & {what}_w can only be used for 2D convolution (the input has {n} spatial axes)"
            )));
        }
        return Ok(vec![h as usize, w as usize]);
    }
    let values: Vec<usize> = list.iter().map(|&v| v as usize).collect();
    let Some(n) = spatial_axes else {
        return Ok(values);
    };
    match (values.len(), default) {
        (0, Some(d)) => Ok(vec![d; n]),
        (1, _) => Ok(vec![values[0]; n]),
        (len, _) if len == n => Ok(values),
        (len, _) => Err(ctx.invalid(format!(
            "{what} must be specified once, or once per spatial dimension ({what} specified {len} times; {n} spatial dims)"
        ))),
    }
}

/// DeepLab v1's `hole`, `hole_h`, `hole_w` (its fork's atrous convolution:
/// im2col over a kernel whose extent is `k + (k - 1) * (hole - 1)`), which is
/// BVLC's dilation: `[h, w]`, or `None` when the layer has none.
fn deeplab_hole(ctx: &LayerCtx<'_>, layer: &LayerParameter) -> Result<Option<[usize; 2]>> {
    let value = |name: &str| -> Result<Option<usize>> {
        let Some(k) = caffe_io::kept::find(&layer.kept_field, &format!("convolution_param.{name}")) else {
            return Ok(None);
        };
        match k.scalar().and_then(|v| v.parse::<usize>().ok()) {
            Some(v) if v >= 1 => Ok(Some(v)),
            _ => Err(ctx.invalid(format!("'{}' must be a positive integer", k.text()))),
        }
    };
    let (hole, h, w) = (value("hole")?, value("hole_h")?, value("hole_w")?);
    Ok(match (hole, h, w) {
        (None, None, None) => None,
        (hole, h, w) => {
            let both = hole.unwrap_or(1);
            Some([h.unwrap_or(both), w.unwrap_or(both)])
        }
    })
}

/// `Convolution`: one top per bottom, all bottoms of one shape, sharing the
/// weights; DeepLab's `hole` fields are its dilation.
pub(crate) const CONVOLUTION: LayerType = LayerType::new(&["Convolution"], setup_convolution)
    .bottoms(Arity::AtLeast(1))
    .tops(Arity::SameAsBottoms)
    .fork_fields(&[
        "convolution_param.hole",
        "convolution_param.hole_h",
        "convolution_param.hole_w",
    ]);
/// `Deconvolution`: as Convolution.
pub(crate) const DECONVOLUTION: LayerType = LayerType::new(&["Deconvolution"], setup_deconvolution)
    .bottoms(Arity::AtLeast(1))
    .tops(Arity::SameAsBottoms);

/// `Convolution` with its resolved parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Convolution(pub ConvParams);

/// `Deconvolution` (weights are `(C_in, num_output / group, k...)`).
#[derive(Debug, Clone, PartialEq)]
pub struct Deconvolution(pub ConvParams);

impl LayerOp for Convolution {
    fn param_count(&self) -> usize {
        1 + usize::from(self.0.bias_term)
    }

    /// One top per bottom, each with its own bottom's symbolic axes.
    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        Some(flow.per_bottom())
    }
}

impl LayerOp for Deconvolution {
    fn param_count(&self) -> usize {
        1 + usize::from(self.0.bias_term)
    }

    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        Some(flow.per_bottom())
    }
}

fn setup_convolution(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    setup(ctx, layer, bottoms, false)
}

fn setup_deconvolution(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    setup(ctx, layer, bottoms, true)
}

/// Sets up a Convolution (`deconv == false`) or Deconvolution layer.
pub(super) fn setup(
    ctx: &LayerCtx<'_>,
    layer: &LayerParameter,
    bottoms: Option<&[Shape]>,
    deconv: bool,
) -> Result<Setup> {
    let wrap = |p: ConvParams| -> super::Op {
        if deconv {
            Deconvolution(p).into()
        } else {
            Convolution(p).into()
        }
    };
    let Some(inputs) = bottoms else {
        let params = ConvParams::from_layer(ctx, layer, None)?;
        return Ok(Setup::unknown(wrap(params), ctx.num_tops));
    };
    let input = &inputs[0];
    let raw_axis = layer.convolution_param.as_ref().map_or(1, |p| p.axis());
    let axis = ctx.axis(raw_axis, inputs, 0, "convolution axis")?;
    let params = ConvParams::from_layer(ctx, layer, Some(input.len() - axis - 1))?;
    let params = ConvParams {
        axis: axis as i32,
        ..params
    };
    check_same_shapes(ctx, inputs)?;
    let channels = input[axis];
    if channels % params.group != 0 {
        return Err(ctx.shape_error(
            inputs,
            format!(
                "input channels ({channels}) must be a multiple of group ({})",
                params.group
            ),
        ));
    }
    let top = params.output_shape(ctx, inputs, deconv)?;
    let p = layer.convolution_param.clone().unwrap_or_default();
    let fills = [
        filler_value(p.weight_filler.as_ref(), 0.0),
        filler_value(p.bias_filler.as_ref(), 0.0),
    ];
    let param_inits = params
        .param_shapes(channels, deconv)
        .into_iter()
        .zip(fills)
        .map(|(shape, fill)| ParamInit { shape, fill })
        .collect();
    let tops = vec![top; ctx.num_tops];
    Ok(Setup::known(wrap(params), tops, param_inits))
}
