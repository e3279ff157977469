//! Which layers a net keeps: Caffe's `NetState` and the include/exclude
//! rules of `Net::FilterNet` (`StateMeetsRule`).

use caffe_io::proto::{LayerParameter, NetStateRule, Phase};

use crate::error::{Error, Result};

/// Which layers a net keeps: Caffe's `NetState` (phase, level, stages).
#[derive(Debug, Clone, PartialEq)]
pub struct NetState {
    pub phase: Phase,
    pub level: i32,
    pub stages: Vec<String>,
}

impl Default for NetState {
    /// TEST phase, level 0, no stages: what `caffe.Net(proto, caffe.TEST)` uses.
    fn default() -> Self {
        NetState {
            phase: Phase::Test,
            level: 0,
            stages: Vec::new(),
        }
    }
}

impl NetState {
    /// Caffe's `StateMeetsRule`.
    pub fn meets(&self, rule: &NetStateRule) -> bool {
        if rule.phase.is_some() && rule.phase() != self.phase {
            return false;
        }
        if rule.min_level.is_some() && self.level < rule.min_level() {
            return false;
        }
        if rule.max_level.is_some() && self.level > rule.max_level() {
            return false;
        }
        rule.stage.iter().all(|s| self.stages.contains(s)) && !rule.not_stage.iter().any(|s| self.stages.contains(s))
    }

    /// Caffe's `FilterNet` decision: with include rules, kept when one is met;
    /// otherwise kept unless an exclude rule is met.
    pub fn includes(&self, layer: &LayerParameter) -> Result<bool> {
        if !layer.include.is_empty() && !layer.exclude.is_empty() {
            return Err(Error::IncludeAndExclude {
                layer: layer.name().to_string(),
            });
        }
        if layer.include.is_empty() {
            Ok(!layer.exclude.iter().any(|r| self.meets(r)))
        } else {
            Ok(layer.include.iter().any(|r| self.meets(r)))
        }
    }
}
