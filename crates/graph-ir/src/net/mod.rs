//! The net: layers in order (each its Caffe `LayerParameter`, typed op and
//! params), the phase/stage filter of `Net::FilterNet`, and the blob table
//! that shape inference fills as Caffe's `Net::Init` + `Reshape` would.
//! This module holds the [`Net`] type and its accessors; `state` is the
//! phase/stage filter ([`NetState`]), `layer` one [`Layer`], `load` building a
//! net from its parameters and weights ([`LoadOptions`]), and `inference` the
//! shape inference and its checks.
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
use std::sync::Arc;

use caffe_io::proto::NetParameter;
use caffe_io::Limits;

use crate::error::{Error, Result};
use crate::registry::LayerRegistry;
use crate::shape::Shape;
use crate::splits::{self, Expanded};

mod inference;
mod layer;
mod load;
mod state;

use inference::UnknownCause;
pub use layer::Layer;
pub use load::{LoadOptions, MissingWeights};
pub use state::NetState;

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
    /// The dialects it was loaded for ([`LoadOptions::dialects`]).
    pub(crate) dialects: caffe_io::dialect::DialectSet,
}

impl Net {
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

    /// The split-expanded view (pycaffe's blob listing, outputs).
    pub(crate) fn expanded(&self) -> Result<Expanded> {
        splits::expand(&self.layers)
    }

    pub(crate) fn layers_mut(&mut self) -> &mut Vec<Layer> {
        &mut self.layers
    }
}
