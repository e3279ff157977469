//! The net: layers in order (each its Caffe `LayerParameter`, typed op and
//! params), the phase/stage filter of `Net::FilterNet`, and the blob table
//! that shape inference fills as Caffe's `Net::Init` + `Reshape` would.
//!
//! Each layer keeps its original `LayerParameter` (without blobs) as the
//! source of truth for its configuration: ops are derived from it at every
//! inference, and saving writes it back, so fields this crate does not model
//! survive. Passes that change a layer change that parameter.
//!
//! Nets whose data layers read their shapes from a database (train_val
//! prototxts) load; blobs downstream of them have no shape, and asking for
//! one is an [`Error::UnknownShape`] naming the data layer.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use caffe_io::proto::{LayerParameter, NetParameter, NetStateRule, Phase};
use caffe_io::{Limit, Limits};
use ndarray::ArrayD;

use crate::error::{Error, Result};
use crate::ops::{DataParams, InputParams, ParamInit, Setup};
use crate::registry::{LayerRegistry, Op, Unmodelled};
use crate::shape::Shape;
use crate::splits::{self, Expanded};
use crate::weights;

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

/// What to do with layers that have learnable params when the weight file
/// gives them none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MissingWeights {
    /// Refuse the net, naming the layers: an exported model with a silently
    /// empty layer computes garbage.
    #[default]
    Error,
    /// Caffe's behaviour: the prototxt's constant fillers (random fillers give 0).
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
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            state: NetState::default(),
            limits: Limits::default(),
            missing_weights: MissingWeights::default(),
            layers: LayerRegistry::builtin(),
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

    /// The layer types the net may use (built-ins plus a program's own).
    pub fn layers(mut self, layers: impl Into<Arc<LayerRegistry>>) -> Self {
        self.layers = layers.into();
        self
    }
}

/// One layer: its Caffe parameter, its typed op and its learnable params.
#[derive(Debug, Clone)]
pub struct Layer {
    proto: LayerParameter,
    op: Op,
    params: Vec<ArrayD<f32>>,
    /// What the params must be, from the last inference (None: input unknown).
    pub(crate) expected: Option<Vec<ParamInit>>,
    /// Per param: it came with legacy 4-D dims and awaits its real shape.
    pub(crate) legacy: Vec<bool>,
    /// Shapes given by `reshape_input` to a data layer's tops.
    pub(crate) data_shapes: Vec<Option<Shape>>,
}

impl Layer {
    /// The layer's name.
    pub fn name(&self) -> &str {
        self.proto.name()
    }

    /// Caffe's type string ("Convolution", ...).
    pub fn type_name(&self) -> &str {
        self.proto.r#type()
    }

    /// The typed operation with its resolved parameters.
    pub fn op(&self) -> &Op {
        &self.op
    }

    /// Input blob names.
    pub fn bottoms(&self) -> &[String] {
        &self.proto.bottom
    }

    /// Output blob names.
    pub fn tops(&self) -> &[String] {
        &self.proto.top
    }

    /// Learnable params in Caffe's order (e.g. weights, bias).
    pub fn params(&self) -> &[ArrayD<f32>] {
        &self.params
    }

    /// The layer's Caffe parameter (without blobs), as it will be saved.
    pub fn proto(&self) -> &LayerParameter {
        &self.proto
    }

    /// True when top `i` is bottom `i` for some `i` (Caffe's in-place rule).
    pub fn is_in_place(&self) -> bool {
        self.tops().iter().zip(self.bottoms()).any(|(t, b)| t == b)
    }

    /// The layer's configuration (parameter and input overrides), to restore
    /// after a failed change.
    pub(crate) fn clone_config(&self) -> (LayerParameter, Vec<Option<Shape>>) {
        (self.proto.clone(), self.data_shapes.clone())
    }

    pub(crate) fn restore_config(&mut self, (proto, data_shapes): (LayerParameter, Vec<Option<Shape>>)) {
        self.proto = proto;
        self.data_shapes = data_shapes;
    }

    pub(crate) fn proto_mut(&mut self) -> &mut LayerParameter {
        &mut self.proto
    }

    pub(crate) fn params_mut(&mut self) -> &mut Vec<ArrayD<f32>> {
        &mut self.params
    }

    /// A new layer from a parameter; its op is set at the next inference.
    pub(crate) fn from_proto(mut proto: LayerParameter, phase: Phase, layers: &LayerRegistry) -> Result<Layer> {
        let blobs = std::mem::take(&mut proto.blobs);
        // The op as written, so that the layer is typed even before inference.
        let op = layers.setup(&proto, phase, None)?.op;
        let mut layer = Layer {
            data_shapes: vec![None; proto.top.len()],
            proto,
            op,
            params: Vec::new(),
            expected: None,
            legacy: Vec::new(),
        };
        // Blobs written into the prototxt itself are the layer's initial params.
        if !blobs.is_empty() {
            let name = layer.name().to_string();
            for (index, blob) in blobs.into_iter().enumerate() {
                let legacy = caffe_io::blob::uses_legacy_dims(&blob);
                let array = caffe_io::blob::blob_into_array(blob).map_err(|source| Error::Blob {
                    layer: name.clone(),
                    index,
                    source,
                })?;
                layer.params.push(array);
                layer.legacy.push(legacy);
            }
        }
        Ok(layer)
    }
}

/// Why a blob has no shape: the data or input layer at its root.
#[derive(Debug, Clone)]
pub(crate) struct UnknownCause {
    pub layer: String,
    pub type_name: String,
    pub input: String,
    pub reason: String,
    /// The layer is of a type this crate does not model.
    pub custom: bool,
}

/// A Caffe net: layers in order, their params, and the shapes of its blobs.
#[derive(Debug, Clone)]
pub struct Net {
    /// The NetParameter's fields other than layers, kept for saving.
    pub(crate) header: NetParameter,
    pub(crate) state: NetState,
    pub(crate) layers: Vec<Layer>,
    pub(crate) shapes: HashMap<String, Shape>,
    pub(crate) unknown: HashMap<String, UnknownCause>,
    /// Names of the layers the phase/stage rules left out.
    pub(crate) filtered_out: Vec<String>,
    /// Layers of the weight file, with weights, that match no layer here.
    pub(crate) unused_weights: Vec<String>,
    /// Bounds on every blob and on all params, checked at each inference.
    pub(crate) limits: Limits,
    /// The layer types every inference sets the layers up with.
    pub(crate) registry: Arc<LayerRegistry>,
}

/// The result of inferring every shape, before it is committed.
struct Inference {
    setups: Vec<Setup>,
    shapes: HashMap<String, Shape>,
    unknown: HashMap<String, UnknownCause>,
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

    /// The net's name.
    pub fn name(&self) -> &str {
        self.header.name()
    }

    /// The state the net was filtered with.
    pub fn state(&self) -> &NetState {
        &self.state
    }

    /// The layers in order (Caffe's automatic Split layers are not among them).
    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// The first layer with this name.
    pub fn layer(&self, name: &str) -> Option<&Layer> {
        self.layers.iter().find(|l| l.name() == name)
    }

    /// Index of the first layer with this name.
    pub fn layer_index(&self, name: &str) -> Result<usize> {
        self.layers
            .iter()
            .position(|l| l.name() == name)
            .ok_or_else(|| Error::NoSuchLayer(name.to_string()))
    }

    /// Names of the layers the phase/stage rules left out, in file order.
    pub fn filtered_out(&self) -> &[String] {
        &self.filtered_out
    }

    /// Layers of the weight file given at load that carry weights but match no
    /// layer of the net: ignored, as Caffe does ("Ignoring source layer"), and
    /// listed so a caller can warn (a renamed layer is a common mistake).
    pub fn unused_weights(&self) -> &[String] {
        &self.unused_weights
    }

    /// The limits every inference checks blobs and params against.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Sets the limits for the inferences to come (e.g. before `reshape_input`
    /// to a size larger than the defaults allow).
    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// The layer types the net is set up with.
    pub fn layer_types(&self) -> &Arc<LayerRegistry> {
        &self.registry
    }

    /// Layers that need params but have none yet.
    fn layers_without_weights(&self) -> Vec<String> {
        self.layers
            .iter()
            .filter(|l| l.params().is_empty() && l.op().param_count() > 0)
            .map(|l| l.name().to_string())
            .collect()
    }

    /// The split-expanded view (pycaffe's blob listing, outputs).
    pub(crate) fn expanded(&self) -> Result<Expanded> {
        splits::expand(&self.layers)
    }

    pub(crate) fn layers_mut(&mut self) -> &mut Vec<Layer> {
        &mut self.layers
    }

    /// Re-checks the wiring and re-infers every shape and op after a change,
    /// creating params for layers that gained a known shape.
    pub(crate) fn refresh(&mut self) -> Result<()> {
        self.infer_and_commit(true)
    }

    /// Infers, checks params against the new shapes, then commits; on error
    /// nothing changes. With `init`, missing params are created from fillers.
    pub(crate) fn infer_and_commit(&mut self, init: bool) -> Result<()> {
        splits::expand(&self.layers)?;
        let inference = self.infer()?;
        for (layer, setup) in self.layers.iter().zip(&inference.setups) {
            if let Some(expected) = &setup.params {
                weights::check_params(layer, expected)?;
            }
        }
        let Inference {
            setups,
            shapes,
            unknown,
        } = inference;
        for (layer, setup) in self.layers.iter_mut().zip(setups) {
            layer.op = setup.op;
            layer.expected = setup.params;
            weights::settle_params(layer, init);
        }
        self.shapes = shapes;
        self.unknown = unknown;
        Ok(())
    }

    /// Runs every layer's setup in order, as `Net::Init` then `Reshape`.
    fn infer(&self) -> Result<Inference> {
        let mut shapes: HashMap<String, Shape> = HashMap::new();
        let mut unknown: HashMap<String, UnknownCause> = HashMap::new();
        let mut setups = Vec::with_capacity(self.layers.len());
        let mut param_bytes = 0u64;
        for layer in &self.layers {
            let mut inputs = Vec::with_capacity(layer.bottoms().len());
            let mut cause = None;
            for b in layer.bottoms() {
                match shapes.get(b) {
                    Some(s) => inputs.push(s.clone()),
                    None => {
                        if cause.is_none() {
                            cause = unknown.get(b).cloned();
                        }
                    }
                }
            }
            let known = inputs.len() == layer.bottoms().len();
            let mut setup = self
                .registry
                .setup(&layer.proto, self.state.phase, known.then_some(&inputs[..]))?;
            check_in_place(layer, &setup.op)?;
            let mut overridden = false;
            for (slot, given) in setup.tops.iter_mut().zip(&layer.data_shapes) {
                if given.is_some() {
                    slot.clone_from(given);
                    overridden = true;
                }
            }
            // Input and data ops report the shapes their tops really have.
            if overridden {
                if let Some(p) = setup.op.downcast_ref::<InputParams>() {
                    let shapes = setup.tops.clone();
                    let _ = p;
                    setup.op = Op::new(InputParams { shapes });
                } else if let Some(p) = setup.op.downcast_ref::<DataParams>() {
                    let shapes = setup.tops.clone();
                    setup.op = Op::new(DataParams { shapes, ..p.clone() });
                }
            }
            self.check_limits(layer, &setup, &mut param_bytes)?;
            for (i, top) in layer.tops().iter().enumerate() {
                match &setup.tops[i] {
                    Some(s) => {
                        shapes.insert(top.clone(), s.clone());
                        unknown.remove(top);
                    }
                    None => {
                        let why = cause.clone().unwrap_or_else(|| source_cause(layer, top, &setup.op));
                        shapes.remove(top);
                        unknown.insert(top.clone(), why);
                    }
                }
            }
            setups.push(setup);
        }
        Ok(Inference {
            setups,
            shapes,
            unknown,
        })
    }

    /// Checks a layer's tops and params against the limits before anything of
    /// that size exists (a prototxt alone can ask for a 10^12-element blob).
    fn check_limits(&self, layer: &Layer, setup: &Setup, param_bytes: &mut u64) -> Result<()> {
        let what = |thing: String, shape: &Shape| {
            format!(
                "layer '{}' ({}): {thing} of shape {}",
                layer.name(),
                layer.type_name(),
                crate::shape::fmt_shape(shape)
            )
        };
        for (top, shape) in layer.tops().iter().zip(&setup.tops) {
            if let Some(shape) = shape {
                self.limits
                    .check(Limit::BlobElements, elements(shape))
                    .map_err(|exceeded| Error::Limit {
                        what: what(format!("top '{top}'"), shape),
                        exceeded,
                    })?;
            }
        }
        for (index, param) in setup.params.iter().flatten().enumerate() {
            let n = elements(&param.shape);
            self.limits
                .check(Limit::BlobElements, n)
                .map_err(|exceeded| Error::Limit {
                    what: what(format!("param {index}"), &param.shape),
                    exceeded,
                })?;
            *param_bytes = param_bytes.saturating_add(n.saturating_mul(4));
            self.limits
                .check(Limit::WeightBytes, *param_bytes)
                .map_err(|exceeded| Error::Limit {
                    what: what(format!("param {index} (with the params before it)"), &param.shape),
                    exceeded,
                })?;
        }
        Ok(())
    }

    /// The shape of a known blob, or the error explaining why it is unknown.
    pub(crate) fn shape_of(&self, blob: &str) -> Result<&Shape> {
        if let Some(s) = self.shapes.get(blob) {
            return Ok(s);
        }
        match self.unknown.get(blob) {
            Some(c) if c.custom => Err(Error::UnsupportedLayer {
                layer: c.layer.clone(),
                type_name: c.type_name.clone(),
                blob: Some(blob.to_string()),
                supported: self.registry.type_names(),
            }),
            Some(c) => Err(Error::UnknownShape {
                blob: blob.to_string(),
                layer: c.layer.clone(),
                type_name: c.type_name.clone(),
                input: c.input.clone(),
                reason: c.reason.clone(),
            }),
            None => Err(Error::NoSuchBlob(blob.to_string())),
        }
    }
}

/// A shape's element count, saturating rather than overflowing.
fn elements(shape: &[usize]) -> u64 {
    shape.iter().fold(1u64, |n, &d| n.saturating_mul(d as u64))
}

/// Why a layer's own top has no shape: a data/input layer that does not say,
/// or a layer of a type this crate does not model.
fn source_cause(layer: &Layer, top: &str, op: &Op) -> UnknownCause {
    if op.is::<Unmodelled>() {
        return UnknownCause {
            layer: layer.name().to_string(),
            type_name: layer.type_name().to_string(),
            input: top.to_string(),
            reason: String::new(),
            custom: true,
        };
    }
    let reason = match layer.type_name() {
        "Input" => "declares no shape for it".to_string(),
        "HDF5Data" => "reads its shapes from its HDF5 files".to_string(),
        "ImageData" => "reads its shape from its images".to_string(),
        "WindowData" => "reads its shape from its windows file".to_string(),
        _ => match layer.proto().data_param.as_ref().and_then(|p| p.source.as_deref()) {
            Some(source) => format!("reads its shape from its database '{source}'"),
            None => "reads its shape from its database".to_string(),
        },
    };
    UnknownCause {
        layer: layer.name().to_string(),
        type_name: layer.type_name().to_string(),
        input: top.to_string(),
        reason,
        custom: false,
    }
}

/// Refuses a layer written in place (top i == bottom i) whose op does not
/// compute in place: Caffe would overwrite a bottom it still reads (or
/// reshape it), so no exact result exists. Unmodelled layers are left to
/// whoever runs them.
fn check_in_place(layer: &Layer, op: &Op) -> Result<()> {
    if op.computes_in_place() || op.is::<Unmodelled>() {
        return Ok(());
    }
    let Some((index, top)) = layer
        .tops()
        .iter()
        .zip(layer.bottoms())
        .enumerate()
        .find_map(|(i, (t, b))| (t == b).then_some((i, t)))
    else {
        return Ok(());
    };
    Err(Error::InvalidParam {
        layer: layer.name().to_string(),
        type_name: layer.type_name().to_string(),
        message: format!(
            "top {index} '{top}' is also bottom {index}, but this layer type does not compute in place \
             (it would overwrite an input it still reads); give the top its own name"
        ),
    })
}
