//! Rewrite passes over a [`crate::Net`], each in its own module: fully
//! connected -> convolution ([`fc_to_conv()`], [`full_conv()`]), dropout removal
//! ([`remove_dropout()`]), BatchNorm folding ([`fold_batchnorm()`]) and, for
//! runtimes whose matrix products suffer from long reductions, splitting large
//! convolutions along their input channels ([`split_large_conv()`]).
//!
//! Passes edit each changed layer's `LayerParameter` (so that saving writes
//! the rewritten net) and its params in place, then re-infer the net.

pub mod fc_to_conv;
pub mod fold_batchnorm;
pub mod full_conv;
pub mod remove_dropout;
pub mod split_conv;

pub use fc_to_conv::{fc_to_conv, ConvertedLayer, FcToConvOptions};
pub use fold_batchnorm::{fold_batchnorm, FoldedBatchNorm};
pub use full_conv::full_conv;
pub use remove_dropout::{remove_dropout, DropoutRemoval};
pub use split_conv::{split_large_conv, SplitConvOptions, SplitConvolution};

use crate::net::Layer;

/// The layers from `start` on that read the current version of `blob`: up to
/// and including the first layer that writes it again (in place).
pub(crate) fn readers_after(layers: &[Layer], start: usize, blob: &str) -> Vec<usize> {
    let mut readers = Vec::new();
    for (j, layer) in layers.iter().enumerate().skip(start) {
        if layer.bottoms().iter().any(|b| b == blob) {
            readers.push(j);
        }
        if layer.tops().iter().any(|t| t == blob) {
            break;
        }
    }
    readers
}

/// Renames blob `old` to `new` from layer `start` on: in bottoms, and in the
/// tops of layers computing it in place.
pub(crate) fn rename_blob_from(layers: &mut [Layer], start: usize, old: &str, new: &str) {
    for layer in layers.iter_mut().skip(start) {
        let proto = layer.proto_mut();
        let in_place: Vec<bool> = (0..proto.top.len())
            .map(|i| proto.top[i] == old && proto.bottom.get(i).is_some_and(|b| b == old))
            .collect();
        for b in proto.bottom.iter_mut().filter(|b| *b == old) {
            *b = new.to_string();
        }
        for (t, &rename) in proto.top.iter_mut().zip(&in_place) {
            if rename {
                *t = new.to_string();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Net;

    fn net() -> Net {
        let text = r#"
            layer { name: "data" type: "Input" top: "x" input_param { shape { dim: 1 dim: 2 } } }
            layer { name: "a" type: "ReLU" bottom: "x" top: "x" }
            layer { name: "b" type: "Sigmoid" bottom: "x" top: "y" }
            layer { name: "c" type: "TanH" bottom: "x" top: "z" }"#;
        let param = caffe_io::parse_prototxt(text, std::path::Path::new("t.prototxt")).expect("valid");
        Net::from_proto(param, None).expect("valid net")
    }

    #[test]
    fn readers_stop_at_the_next_writer() {
        let net = net();
        // The Input's version of x is read by the in-place ReLU only.
        assert_eq!(readers_after(net.layers(), 1, "x"), vec![1]);
        // The ReLU's version is read by b and c.
        assert_eq!(readers_after(net.layers(), 2, "x"), vec![2, 3]);
    }

    #[test]
    fn renames_follow_in_place_layers() {
        let mut net = net();
        rename_blob_from(net.layers_mut(), 1, "x", "w");
        let a = &net.layers()[1];
        assert_eq!(
            (a.bottoms(), a.tops()),
            (&["w".to_string()][..], &["w".to_string()][..])
        );
        assert_eq!(net.layers()[3].bottoms(), &["w".to_string()]);
        assert_eq!(net.layers()[0].tops(), &["x".to_string()]);
    }
}
