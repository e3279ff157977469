//! `ConvolutionDepthwise`, the MobileNet/ShuffleNet forks' depthwise
//! convolution (farmingyard/caffe-mobilenet, from BVLC PR #5665): a
//! Convolution with one filter per input channel. The fork reads kernel,
//! stride, pad, dilation and bias_term from `convolution_param` and ignores
//! `num_output` and `group`: the output has the input's C channels, the
//! weights are `(C, 1, kh, kw)`, the bias `(C)`; the output size is
//! Convolution's. It sets up to the same [`Convolution`] op (group = C), so
//! it exports, folds and runs as one; the layer keeps its type when saved.

use caffe_io::proto::LayerParameter;

use super::conv::{self, Convolution};
use super::{LayerCtx, Setup};
use crate::error::Result;
use crate::registry::LayerType;
use crate::shape::Shape;

/// One bottom, one top.
pub(crate) const TYPE: LayerType = LayerType::new(&["ConvolutionDepthwise"], setup);

fn setup(ctx: &LayerCtx<'_>, layer: &LayerParameter, bottoms: Option<&[Shape]>) -> Result<Setup> {
    let mut as_convolution = layer.clone();
    let p = as_convolution.convolution_param.get_or_insert_with(Default::default);
    let axis = p.axis();
    // Before the input is known the channel count is not: a placeholder
    // that passes Convolution's checks until inference sets it.
    let channels = match bottoms {
        Some(inputs) => inputs[0][ctx.axis(axis, inputs, 0, "convolution axis")?],
        None => 1,
    };
    if channels == 0 {
        return Err(ctx.invalid("the input has no channels"));
    }
    p.num_output = Some(channels as u32);
    p.group = Some(channels as u32);
    let setup = conv::setup(ctx, &as_convolution, bottoms, false)?;
    debug_assert!(setup.op.is::<Convolution>());
    Ok(setup)
}

#[cfg(test)]
mod tests {
    use caffe_io::proto::Phase;

    use crate::ops::Convolution;
    use crate::registry::LayerRegistry;

    #[test]
    fn one_filter_per_channel_whatever_num_output_and_group_say() {
        let text = r#"layer { name: "dw" type: "ConvolutionDepthwise" bottom: "x" top: "y"
            convolution_param { num_output: 7 group: 2 kernel_size: 3 stride: 2 pad: 1 } }"#;
        let net = caffe_io::parse_prototxt(text, "t.prototxt").unwrap();
        let s = LayerRegistry::builtin()
            .setup(&net.layer[0], Phase::Test, Some(&[vec![1, 6, 9, 9]]))
            .unwrap();
        let Convolution(p) = s.op.downcast_ref::<Convolution>().unwrap();
        assert_eq!((p.num_output, p.group), (6, 6));
        assert_eq!(s.tops, [Some(vec![1, 6, 5, 5])]);
        let shapes: Vec<_> = s.params.unwrap().into_iter().map(|p| p.shape).collect();
        assert_eq!(shapes, [vec![6, 1, 3, 3], vec![6]]);
    }
}
