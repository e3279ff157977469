//! InnerProduct -> Convolution, as the net-surgery tutorial's transplant: an
//! fc fed by a 4-D blob `(N, C, H, W)` becomes a `C -> num_output` convolution
//! with an `H x W` kernel; an fc fed by a former fc (a `(N, K, 1, 1)` blob
//! once that one is converted) gets a 1x1 kernel. The weights keep their
//! row-major memory, `(num_output, C*H*W)` -> `(num_output, C, H, W)`, with no
//! copy; the bias is unchanged. Converted layers and their tops take a suffix
//! ("-conv" by default) so that weights for the old fc are never loaded into
//! them by name; the consumers' bottoms (and in-place layers such as relu6,
//! drop6) follow the renamed tops.

use caffe_io::proto::ConvolutionParameter;
use ndarray::IxDyn;

use super::rename_blob_from;
use crate::error::{Error, Result};
use crate::net::Net;
use crate::ops::InnerProductParams;

const PASS: &str = "fc_to_conv";

/// Which layers to convert and how to rename them.
#[derive(Debug, Clone, PartialEq)]
pub struct FcToConvOptions {
    /// Appended to converted layers' names and tops.
    pub suffix: String,
    /// The InnerProduct layers to convert, by name; None converts all of them.
    pub layers: Option<Vec<String>>,
}

impl Default for FcToConvOptions {
    fn default() -> Self {
        FcToConvOptions {
            suffix: "-conv".to_string(),
            layers: None,
        }
    }
}

/// One converted layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertedLayer {
    pub old_name: String,
    pub new_name: String,
    /// The convolution kernel `[h, w]`.
    pub kernel: Vec<usize>,
}

/// Converts InnerProduct layers to Convolutions, in layer order, re-inferring
/// shapes after each so that an fc fed by a converted one sees its 4-D output.
pub fn fc_to_conv(net: &mut Net, options: &FcToConvOptions) -> Result<Vec<ConvertedLayer>> {
    if let Some(names) = &options.layers {
        for name in names {
            let layer = &net.layers()[net.layer_index(name)?];
            if !layer.op().is::<InnerProductParams>() {
                return Err(pass_error(
                    name,
                    format!("is a {} layer, not InnerProduct", layer.type_name()),
                ));
            }
        }
    }
    let mut converted = Vec::new();
    let mut i = 0;
    while i < net.layers().len() {
        let layer = &net.layers()[i];
        let selected = match &options.layers {
            Some(names) => names.iter().any(|n| n == layer.name()),
            None => true,
        };
        if selected && layer.op().is::<InnerProductParams>() {
            converted.push(convert(net, i, &options.suffix)?);
        }
        i += 1;
    }
    Ok(converted)
}

fn pass_error(layer: &str, message: impl Into<String>) -> Error {
    Error::Pass {
        pass: PASS,
        layer: layer.to_string(),
        message: message.into(),
    }
}

/// Converts layer `i` (an InnerProduct) and re-infers the net.
fn convert(net: &mut Net, i: usize, suffix: &str) -> Result<ConvertedLayer> {
    let layer = &net.layers()[i];
    let name = layer.name().to_string();
    let Some(ip) = layer.op().downcast_ref::<InnerProductParams>().cloned() else {
        return Err(pass_error(&name, "is not an InnerProduct layer"));
    };
    if ip.transpose {
        return Err(pass_error(
            &name,
            "has transposed weights (K, num_output), which no convolution layout holds without a copy",
        ));
    }
    if ip.axis != 1 {
        return Err(pass_error(
            &name,
            format!("flattens from axis {}; only axis 1 maps to a convolution", ip.axis),
        ));
    }
    let bottom = layer.bottoms()[0].clone();
    let input = net.blob_shape(&bottom)?.to_vec();
    if input.len() != 4 {
        return Err(pass_error(
            &name,
            format!(
                "its bottom '{bottom}' has shape {}; a convolution needs a 4-D (N, C, H, W) input \
                 (convert the InnerProduct that feeds it too, or feed it a spatial blob)",
                crate::shape::fmt_shape(&input)
            ),
        ));
    }
    let (channels, kernel) = (input[1], vec![input[2], input[3]]);
    let new_name = format!("{name}{suffix}");
    let old_tops = layer.tops().to_vec();
    let new_tops: Vec<String> = old_tops.iter().map(|t| format!("{t}{suffix}")).collect();
    if net.layer(&new_name).is_some() {
        return Err(pass_error(&name, format!("a layer named '{new_name}' already exists")));
    }
    for t in &new_tops {
        if net.layers().iter().any(|l| l.tops().contains(t)) {
            return Err(pass_error(&name, format!("a blob named '{t}' already exists")));
        }
    }

    let layers = net.layers_mut();
    let target = &mut layers[i];
    let weight_shape = [ip.num_output, channels, kernel[0], kernel[1]];
    if let Some(weights) = target.params_mut().first_mut() {
        let owned = std::mem::take(weights);
        let from = owned.shape().to_vec();
        // Row-major (N, C*H*W) is row-major (N, C, H, W): a new shape, the same buffer.
        *weights = owned.into_shape_with_order(IxDyn(&weight_shape)).map_err(|e| {
            pass_error(
                &name,
                format!("weights {from:?} cannot take shape {weight_shape:?}: {e}"),
            )
        })?;
    }
    let proto = target.proto_mut();
    let ip_param = proto.inner_product_param.take().unwrap_or_default();
    let (kernel_size, kernel_h, kernel_w) = if kernel[0] == kernel[1] {
        (vec![kernel[0] as u32], None, None)
    } else {
        (Vec::new(), Some(kernel[0] as u32), Some(kernel[1] as u32))
    };
    proto.convolution_param = Some(ConvolutionParameter {
        num_output: ip_param.num_output,
        bias_term: ip_param.bias_term,
        kernel_size,
        kernel_h,
        kernel_w,
        weight_filler: ip_param.weight_filler,
        bias_filler: ip_param.bias_filler,
        ..Default::default()
    });
    proto.r#type = Some("Convolution".to_string());
    proto.name = Some(new_name.clone());
    proto.top.clone_from(&new_tops);
    for (old, new) in old_tops.iter().zip(&new_tops) {
        rename_blob_from(layers, i + 1, old, new);
    }
    net.refresh()?;
    Ok(ConvertedLayer {
        old_name: name,
        new_name,
        kernel,
    })
}
