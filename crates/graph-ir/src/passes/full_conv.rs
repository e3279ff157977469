//! A fully convolutional net, as the net-surgery tutorial builds
//! `bvlc_caffenet_full_conv`: every InnerProduct becomes a Convolution
//! ([`super::fc_to_conv()`], at the net's original input size, so that the
//! first fc takes the spatial size of its input as kernel and the later ones
//! 1x1), then the input is reshaped (e.g. CaffeNet at 1x3x451x451 gives an
//! 8x8 map of class scores).

use super::fc_to_conv::{fc_to_conv, ConvertedLayer, FcToConvOptions};
use crate::error::Result;
use crate::net::Net;

/// Converts every InnerProduct (suffix "-conv") and reshapes input `input` to `dims`.
pub fn full_conv(net: &mut Net, input: &str, dims: &[usize]) -> Result<Vec<ConvertedLayer>> {
    let converted = fc_to_conv(net, &FcToConvOptions::default())?;
    net.reshape_input(input, dims)?;
    Ok(converted)
}
