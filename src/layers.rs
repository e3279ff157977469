//! One place to add a layer type netsurgeon does not have: its Caffe side
//! (names, bottom/top counts, setup with the shape rule and params:
//! [`graph_ir::LayerType`]) and its ONNX lowering
//! ([`onnx_export::LowerFn`]) are registered together, and every stage then
//! treats the layer as it treats a built-in one: load, inspect, forward,
//! export, run and save.
//!
//! `examples/custom_layer.rs` registers the forks' `Mish` this way.

use std::sync::Arc;

use graph_ir::{LayerOp, LayerRegistry, LayerType, LoadOptions};
use onnx_export::{ExportOptions, LowerFn, Lowerings};

use crate::forward::ForwardOptions;

/// Why a layer type could not be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegisterError {
    #[error(transparent)]
    Type(#[from] graph_ir::registry::RegistryError),
    #[error(transparent)]
    Lowering(#[from] onnx_export::LoweringError),
}

/// The layer types a program works with: the built-ins and its own.
#[derive(Debug, Clone)]
pub struct Layers {
    types: Arc<LayerRegistry>,
    lowerings: Arc<Lowerings>,
}

impl Default for Layers {
    fn default() -> Self {
        Layers::builtin()
    }
}

impl Layers {
    /// The built-in layer types and their lowerings.
    pub fn builtin() -> Self {
        Layers {
            types: LayerRegistry::builtin(),
            lowerings: Lowerings::builtin(),
        }
    }

    /// Adds a layer type whose setup builds ops of type `T`, and the lowering
    /// of `T`. Nothing is registered when either half is refused (a name or
    /// an op type that has one already).
    pub fn register<T: LayerOp>(&mut self, layer_type: LayerType, lower: LowerFn<T>) -> Result<(), RegisterError> {
        let mut types = (*self.types).clone();
        let mut lowerings = (*self.lowerings).clone();
        types.register(layer_type)?;
        lowerings.register(lower)?;
        self.types = Arc::new(types);
        self.lowerings = Arc::new(lowerings);
        Ok(())
    }

    /// The Caffe side, for [`LoadOptions::layers`].
    pub fn layer_types(&self) -> Arc<LayerRegistry> {
        self.types.clone()
    }

    /// The ONNX side, for [`ExportOptions::lowerings`].
    pub fn lowerings(&self) -> Arc<Lowerings> {
        self.lowerings.clone()
    }

    /// Load options that set nets up with these layer types.
    pub fn load_options(&self) -> LoadOptions {
        LoadOptions::default().layers(self.layer_types())
    }

    /// Export options that lower these layer types.
    pub fn export_options(&self) -> ExportOptions {
        ExportOptions {
            lowerings: self.lowerings(),
            ..ExportOptions::default()
        }
    }

    /// Forward options that lower these layer types.
    pub fn forward_options(&self) -> ForwardOptions {
        ForwardOptions::default().lowerings(self.lowerings())
    }
}
