//! BatchNorm's deprecated params, as Caffe's `NetNeedsBatchNormUpgrade` and
//! `UpgradeNetBatchNorm`: a BatchNorm layer with its three statistics blobs
//! declared as `param`s gets lr_mult and decay_mult 0 on each (the current
//! BatchNorm requires both to be 0).

use crate::proto::{LayerParameter, NetParameter};

fn is_legacy_batchnorm(layer: &LayerParameter) -> bool {
    layer.r#type() == "BatchNorm" && layer.param.len() == 3
}

pub(super) fn needs_batchnorm(net: &NetParameter) -> bool {
    net.layer.iter().any(is_legacy_batchnorm)
}

/// Sets lr_mult and decay_mult to 0 on every param of the legacy BatchNorm layers.
pub(super) fn upgrade_batchnorm(net: &mut NetParameter) {
    for layer in net.layer.iter_mut().filter(|l| is_legacy_batchnorm(l)) {
        for p in &mut layer.param {
            p.lr_mult = Some(0.0);
            p.decay_mult = Some(0.0);
        }
    }
}
