//! Building a net from its parameters and weights, as Caffe's `Net::Init` and
//! `CopyTrainedLayersFrom`: the phase/stage filter, the layer limit, weights
//! matched to layers by name and checked against the inferred shapes, and
//! the policy for layers the weights leave out.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use caffe_io::proto::NetParameter;
use caffe_io::{Limit, Limits};

use super::{Layer, Net, NetState};
use crate::error::{Error, Result};
use crate::registry::LayerRegistry;
use crate::weights;

/// What to do with layers that have learnable params when the weight file
/// gives them none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MissingWeights {
    /// Refuse the net, naming the layers: an exported model with a silently
    /// empty layer computes garbage.
    #[default]
    Error,
    /// Caffe's behaviour: the prototxt's fillers. Constant fillers give their
    /// value; random ones are drawn when [`LoadOptions::filler_seed`] is
    /// set, and give 0 otherwise.
    Filler,
    /// Every missing param is zero.
    Zero,
}

/// How a net is loaded: its phase/stages, the size limits for untrusted
/// files, the policy for layers the weights leave out, and the layer types
/// it may use.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub state: NetState,
    pub limits: Limits,
    pub missing_weights: MissingWeights,
    /// The layer types the net is set up with (default: the built-ins); a
    /// program adds its own with [`LayerRegistry::register`].
    pub layers: Arc<LayerRegistry>,
    /// The Caffe builds the net was written for, for the rules no field of
    /// the model states (default: none, BVLC's rules); e.g. the YOLOv3 ports'
    /// pooling size ([`caffe_io::dialect::Dialect::Yolo`]).
    pub dialects: caffe_io::dialect::DialectSet,
    /// Draw the random fillers (gaussian, xavier, msra, uniform, ...) of the
    /// params no weights give, from this seed, as Caffe does when it sets a
    /// net up ([`crate::fillers`]; not Caffe's random stream). None (the
    /// default): those params are 0, so that a net without weights is the
    /// same on every load and every machine.
    pub filler_seed: Option<u64>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            state: NetState::default(),
            limits: Limits::default(),
            missing_weights: MissingWeights::default(),
            layers: LayerRegistry::builtin(),
            dialects: caffe_io::dialect::DialectSet::new(),
            filler_seed: None,
        }
    }
}

impl LoadOptions {
    /// The phase, level and stages to filter the net with.
    pub fn state(mut self, state: NetState) -> Self {
        self.state = state;
        self
    }

    /// The size limits for untrusted files.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// What to do with layers whose weights the weight file leaves out.
    pub fn missing_weights(mut self, missing: MissingWeights) -> Self {
        self.missing_weights = missing;
        self
    }

    /// Sets [`LoadOptions::filler_seed`].
    pub fn filler_seed(mut self, seed: Option<u64>) -> Self {
        self.filler_seed = seed;
        self
    }

    /// The Caffe builds the net was written for (see [`LoadOptions::dialects`]).
    pub fn dialects(mut self, dialects: caffe_io::dialect::DialectSet) -> Self {
        self.dialects = dialects;
        self
    }

    /// The layer types the net may use (built-ins plus a program's own).
    pub fn layers(mut self, layers: impl Into<Arc<LayerRegistry>>) -> Self {
        self.layers = layers.into();
        self
    }
}

impl Net {
    /// Builds a TEST-phase net from a parameter, optionally with weights
    /// (matched to layers by name, as Caffe's `CopyTrainedLayersFrom`).
    pub fn from_proto(param: NetParameter, weights: Option<NetParameter>) -> Result<Net> {
        Self::from_proto_with(param, weights, &LoadOptions::default())
    }

    /// Builds a net for `state`: its phase and level replace the prototxt's,
    /// its stages add to the prototxt's (as `caffe::Net(file, phase, level, stages)`).
    pub fn from_proto_with_state(param: NetParameter, weights: Option<NetParameter>, state: &NetState) -> Result<Net> {
        let options = LoadOptions {
            state: state.clone(),
            ..LoadOptions::default()
        };
        Self::from_proto_with(param, weights, &options)
    }

    /// Builds a net with every load option. Before any param is allocated the
    /// wiring is validated (each bottom produced by an earlier layer, so the
    /// graph cannot have a cycle; no top produced twice outside Caffe's
    /// in-place rule) and every blob and param shape is checked against the
    /// limits; weights are then checked against the shapes.
    pub fn from_proto_with(
        mut param: NetParameter,
        weights: Option<NetParameter>,
        options: &LoadOptions,
    ) -> Result<Net> {
        let mut state = options.state.clone();
        if let Some(s) = &param.state {
            let mut stages = s.stage.clone();
            stages.extend(state.stages.iter().cloned());
            state.stages = stages;
        }
        let all = std::mem::take(&mut param.layer);
        options
            .limits
            .check(Limit::Layers, all.len() as u64)
            .map_err(|exceeded| Error::Limit {
                what: format!("the net ({} layers)", all.len()),
                exceeded,
            })?;
        let mut layers = Vec::with_capacity(all.len());
        let mut filtered_out = Vec::new();
        for proto in all {
            if state.includes(&proto)? {
                layers.push(Layer::from_proto(proto, state.phase, &options.layers)?);
            } else {
                filtered_out.push(proto.name().to_string());
            }
        }
        let mut net = Net {
            header: param,
            state,
            layers,
            shapes: HashMap::new(),
            unknown: HashMap::new(),
            filtered_out,
            unused_weights: Vec::new(),
            limits: options.limits,
            registry: options.layers.clone(),
            dialects: options.dialects,
        };
        // Shapes first, then weights (checked against them), then fillers for the rest.
        net.infer_and_commit(false)?;
        let given = weights.is_some();
        if let Some(w) = weights {
            net.unused_weights = w
                .layer
                .iter()
                .filter(|l| !l.blobs.is_empty() && net.layer(l.name()).is_none())
                .map(|l| l.name().to_string())
                .collect();
            weights::copy_from_proto(&mut net, w)?;
        }
        let missing: Vec<String> = if given {
            net.layers_without_weights()
        } else {
            Vec::new()
        };
        if !missing.is_empty() && options.missing_weights == MissingWeights::Error {
            return Err(Error::MissingWeights { layers: missing });
        }
        net.infer_and_commit(true)?;
        if options.missing_weights == MissingWeights::Zero {
            for layer in net.layers.iter_mut().filter(|l| missing.iter().any(|m| m == l.name())) {
                layer.params_mut().iter_mut().for_each(|p| p.fill(0.0));
            }
        }
        if let Some(seed) = options.filler_seed {
            if !given {
                net.run_fillers(seed, None)?;
            } else if options.missing_weights == MissingWeights::Filler && !missing.is_empty() {
                net.run_fillers(seed, Some(&missing))?;
            }
        }
        Ok(net)
    }

    /// Reads a prototxt and builds the TEST-phase net, its params from the
    /// prototxt's constant fillers (pycaffe's `caffe.Net(prototxt, caffe.TEST)`).
    pub fn load(prototxt: impl AsRef<Path>) -> Result<Net> {
        Self::load_with(prototxt, None, &LoadOptions::default())
    }

    /// Reads a prototxt and a caffemodel and builds the TEST-phase net
    /// (pycaffe's `caffe.Net(prototxt, weights, caffe.TEST)`).
    pub fn load_with_weights(prototxt: impl AsRef<Path>, weights: impl AsRef<Path>) -> Result<Net> {
        Self::load_with(prototxt, Some(weights.as_ref()), &LoadOptions::default())
    }

    /// As [`Net::load`], with every load option and optional weights (the
    /// limits apply to reading both files too).
    pub fn load_with(prototxt: impl AsRef<Path>, weights: Option<&Path>, options: &LoadOptions) -> Result<Net> {
        let reader = caffe_io::Reader::new(options.limits);
        let param = reader.read_prototxt(prototxt.as_ref())?;
        let weights = weights.map(|w| reader.read_caffemodel(w)).transpose()?;
        Self::from_proto_with(param, weights, options)
    }

    /// Layers that need params but have none yet.
    fn layers_without_weights(&self) -> Vec<String> {
        self.layers
            .iter()
            .filter(|l| l.params().is_empty() && l.op().param_count() > 0)
            .map(|l| l.name().to_string())
            .collect()
    }
}
