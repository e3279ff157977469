//! One layer of a net: its Caffe `LayerParameter` (the source of truth for its
//! configuration), the typed op its setup derived from it, and its learnable
//! params; Caffe's in-place rule (top i is bottom i).

use caffe_io::proto::{LayerParameter, Phase};
use ndarray::ArrayD;

use crate::error::{Error, Result};
use crate::ops::ParamInit;
use crate::registry::{LayerRegistry, Op};
use crate::shape::Shape;

/// One layer: its Caffe parameter, its typed op and its learnable params.
#[derive(Debug, Clone)]
pub struct Layer {
    pub(super) proto: LayerParameter,
    pub(super) op: Op,
    pub(super) params: Vec<ArrayD<f32>>,
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

    /// The fields of the layer that BVLC Caffe's schema lacks (a fork's
    /// `bn_param { ... }`, OpenCV's `ceil_mode`), kept as they were read and
    /// written back by every save; `KeptField::path` names one.
    pub fn kept_fields(&self) -> &[caffe_io::proto::KeptField] {
        &self.proto.kept_field
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
