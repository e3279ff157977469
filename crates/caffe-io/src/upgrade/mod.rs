//! Legacy net upgrades, step for step as Caffe's `UpgradeNetAsNeeded`
//! (`upgrade_proto.cpp`), one module per step, run in Caffe's order:
//! - `v0`: V0 layers (with padding layers folded into the following
//!   conv/pool) -> V1 `layers`;
//! - `data_transform`: V1 data-layer transform fields -> `transform_param`;
//! - `v1`: V1 `layers` -> V2 `layer` (enum types to type strings,
//!   `blobs_lr`/`weight_decay` to `param`);
//! - `input`: top-level `input` declarations -> an `Input` layer in front;
//! - `batch_norm`: BatchNorm's three legacy `param`s -> lr 0.
//!
//! Where Caffe aborts, this returns an error; where Caffe logs an error and
//! continues, this continues too and reports the message in [`Upgraded::warnings`].

use std::path::Path;

use crate::error::Result;
use crate::proto::NetParameter;

mod batch_norm;
mod data_transform;
mod input;
mod v0;
mod v1;

pub use v1::{upgrade_v1_layer, v1_type_name};

/// What the upgrade did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Upgraded {
    /// Which upgrades ran, in order (e.g. "V1 layers", "input fields").
    pub steps: Vec<&'static str>,
    /// Problems Caffe would log and continue past.
    pub warnings: Vec<String>,
}

/// True when `net` uses any legacy form that [`upgrade_net`] rewrites.
pub fn needs_upgrade(net: &NetParameter) -> bool {
    v0::needs_v0(net)
        || data_transform::needs_data(net)
        || !net.layers.is_empty()
        || !net.input.is_empty()
        || batch_norm::needs_batchnorm(net)
}

/// Upgrades `net` in place to the current (V2) format, as Caffe does on load.
/// Weight blobs are moved, never copied.
pub fn upgrade_net(net: &mut NetParameter, path: &Path) -> Result<Upgraded> {
    let mut report = Upgraded::default();
    if v0::needs_v0(net) {
        v0::upgrade_v0(net, path, &mut report)?;
        report.steps.push("V0 layers");
    }
    if data_transform::needs_data(net) {
        data_transform::upgrade_data_transform(net);
        report.steps.push("data transformation fields");
    }
    if !net.layers.is_empty() {
        v1::upgrade_v1(net, path, &mut report)?;
        report.steps.push("V1 layers");
    }
    if !net.input.is_empty() {
        input::upgrade_input(net, path)?;
        report.steps.push("input fields");
    }
    if batch_norm::needs_batchnorm(net) {
        batch_norm::upgrade_batchnorm(net);
        report.steps.push("BatchNorm params");
    }
    Ok(report)
}
