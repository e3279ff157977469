//! Removes Dropout layers that are the identity at test time (BVLC's; not
//! py-faster-rcnn's `scale_train: false`, which scales, nor Bayesian
//! SegNet's random test-time dropout). An in-place dropout
//! simply vanishes; otherwise its consumers (and in-place layers on its top)
//! are rewired to read its bottom. A dropout whose top is then modified in
//! place while its bottom is also read elsewhere is kept: removing it would
//! need a copy, which is what it provides. A removed dropout's top is gone
//! from the net: if it was an output, its bottom carries the same values.

use super::{readers_after, rename_blob_from};
use crate::error::Result;
use crate::net::Net;
use crate::ops::Neuron;

/// What [`remove_dropout`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DropoutRemoval {
    /// Removed layers, in order.
    pub removed: Vec<String>,
    /// Dropout layers left in place (see the module doc).
    pub kept: Vec<String>,
}

/// Removes every Dropout layer that can go, and re-infers the net.
pub fn remove_dropout(net: &mut Net) -> Result<DropoutRemoval> {
    let mut report = DropoutRemoval::default();
    let mut i = 0;
    while i < net.layers().len() {
        let layer = &net.layers()[i];
        let identity = matches!(
            layer.op().downcast_ref(),
            Some(Neuron::Dropout { test_scale, random_at_test: false, .. }) if *test_scale == 1.0
        );
        if !identity {
            i += 1;
            continue;
        }
        let name = layer.name().to_string();
        let (bottom, top) = (layer.bottoms()[0].clone(), layer.tops()[0].clone());
        if bottom != top {
            let layers = net.layers();
            // Readers of the version of `bottom` the dropout reads, from its producer on.
            let version_start = layers[..i]
                .iter()
                .rposition(|l| l.tops().contains(&bottom))
                .map_or(0, |p| p + 1);
            let bottom_read_elsewhere = readers_after(layers, version_start, &bottom).iter().any(|&j| j != i);
            let top_written_in_place = layers[i + 1..]
                .iter()
                .any(|l| l.tops().iter().zip(l.bottoms()).any(|(t, b)| t == &top && b == &top));
            if bottom_read_elsewhere && top_written_in_place {
                report.kept.push(name);
                i += 1;
                continue;
            }
            rename_blob_from(net.layers_mut(), i + 1, &top, &bottom);
        }
        net.layers_mut().remove(i);
        report.removed.push(name);
    }
    net.refresh()?;
    Ok(report)
}
