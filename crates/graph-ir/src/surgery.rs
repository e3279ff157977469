//! The pycaffe-style surgery API on [`Net`]: `blobs()` (names, order and
//! shapes exactly as pycaffe's `net.blobs`, automatic split copies included),
//! `params()` (as `net.params`), mutable params, `reshape_input` (as
//! `net.blobs[name].reshape(...)` + `net.reshape()`) and
//! `copy_params_from` (as `net.copy_from`, Caffe's `CopyTrainedLayersFrom`).

use std::path::Path;

use ndarray::{ArrayD, ArrayViewMutD};

use crate::error::{Error, Result};
use crate::net::Net;
use crate::ops::InputParams;
use crate::registry::Unmodelled;
use crate::shape::Shape;
use crate::weights;

/// One entry of the blob listing. Blob data lives elsewhere (the runtime
/// crate fills it by name); this is the name and shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    pub name: String,
    pub shape: Shape,
    /// For a copy made by one of Caffe's automatic Split layers: the blob it
    /// copies (same shape and values). None for blobs the prototxt names.
    pub split_of: Option<String>,
}

impl BlobInfo {
    /// True for the `*_split_*` copies Caffe inserts for shared blobs.
    pub fn is_auto_split(&self) -> bool {
        self.split_of.is_some()
    }
}

/// An entry of [`Net::list_blobs`]: as [`BlobInfo`], with the shape `None`
/// where it is unknown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedBlob {
    pub name: String,
    pub shape: Option<Shape>,
    pub split_of: Option<String>,
}

/// A layer as Caffe runs it (pycaffe's `net.layers` / `net._layer_names`):
/// the net's layers with Caffe's automatic Split layers inserted and the
/// consumers of shared blobs reading their split copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeLayer {
    pub name: String,
    pub type_name: String,
    pub bottoms: Vec<String>,
    pub tops: Vec<String>,
    /// Index into [`Net::layers`]; None for an automatic Split.
    pub layer_index: Option<usize>,
}

/// What a param transplant did, as Caffe's log would tell.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyReport {
    /// Layers whose params were copied, in source order.
    pub copied: Vec<String>,
    /// Source layers with no layer of that name here ("Ignoring source layer").
    pub ignored: Vec<String>,
}

impl Net {
    /// Every blob in pycaffe's order with its shape, including the
    /// `<blob>_<layer>_<i>_split_<j>` copies Caffe inserts for blobs read by
    /// several layers. Fails if any shape is unknown (see [`Error::UnknownShape`]).
    pub fn blobs(&self) -> Result<Vec<BlobInfo>> {
        let expanded = self.expanded()?;
        expanded
            .blobs
            .into_iter()
            .map(|b| {
                let shape = self.shape_of(b.split_of.as_deref().unwrap_or(&b.name))?.clone();
                Ok(BlobInfo {
                    name: b.name,
                    shape,
                    split_of: b.split_of,
                })
            })
            .collect()
    }

    /// As [`blobs`](Self::blobs), but a blob whose shape is unknown (after a
    /// layer of a type this crate does not model, or a data layer that reads
    /// its shape from a database) is listed with `None` rather than failing:
    /// what `netsurgeon inspect` shows of a net it cannot fully model.
    pub fn list_blobs(&self) -> Result<Vec<ListedBlob>> {
        Ok(self
            .expanded()?
            .blobs
            .into_iter()
            .map(|b| ListedBlob {
                shape: self.shapes.get(b.split_of.as_deref().unwrap_or(&b.name)).cloned(),
                name: b.name,
                split_of: b.split_of,
            })
            .collect())
    }

    /// The layers of types this crate does not model, as (name, type), in order.
    pub fn custom_layers(&self) -> Vec<(&str, &str)> {
        self.layers
            .iter()
            .filter_map(|l| {
                let unmodelled = l.op().downcast_ref::<Unmodelled>()?;
                Some((l.name(), unmodelled.type_name.as_str()))
            })
            .collect()
    }

    /// The layers as Caffe runs them, automatic Split layers included.
    pub fn runtime_layers(&self) -> Result<Vec<RuntimeLayer>> {
        Ok(self
            .expanded()?
            .layers
            .into_iter()
            .map(|l| RuntimeLayer {
                type_name: l.source.map_or("Split", |i| self.layers[i].type_name()).to_string(),
                name: l.name,
                bottoms: l.bottoms,
                tops: l.tops,
                layer_index: l.source,
            })
            .collect())
    }

    /// The shape of a blob (a split copy's name works too).
    pub fn blob_shape(&self, name: &str) -> Result<&[usize]> {
        if self.shapes.contains_key(name) || self.unknown.contains_key(name) {
            return self.shape_of(name).map(|s| s.as_slice());
        }
        let expanded = self.expanded()?;
        match expanded
            .blobs
            .into_iter()
            .find(|b| b.name == name)
            .and_then(|b| b.split_of)
        {
            Some(source) => self.shape_of(&source).map(|s| s.as_slice()),
            None => Err(Error::NoSuchBlob(name.to_string())),
        }
    }

    /// The net's input blobs (the tops of its Input layers), in order.
    pub fn inputs(&self) -> Vec<&str> {
        self.layers
            .iter()
            .filter(|l| l.op().is::<InputParams>())
            .flat_map(|l| l.tops().iter().map(String::as_str))
            .collect()
    }

    /// The net's output blobs: those no layer reads, sorted by name as Caffe lists them.
    pub fn outputs(&self) -> Result<Vec<String>> {
        Ok(self.expanded()?.outputs)
    }

    /// Layers with learnable params and their params, in layer order (pycaffe's `net.params`).
    pub fn params(&self) -> Vec<(&str, &[ArrayD<f32>])> {
        self.layers
            .iter()
            .filter(|l| !l.params().is_empty())
            .map(|l| (l.name(), l.params()))
            .collect()
    }

    /// Param `index` of `layer`.
    pub fn param(&self, layer: &str, index: usize) -> Result<&ArrayD<f32>> {
        let l = &self.layers[self.layer_index(layer)?];
        l.params().get(index).ok_or_else(|| Error::NoSuchParam {
            layer: layer.to_string(),
            index,
            count: l.params().len(),
        })
    }

    /// A writable view of param `index` of `layer` (pycaffe's
    /// `net.params[layer][index].data[...] = ...`); its shape cannot change.
    pub fn param_mut(&mut self, layer: &str, index: usize) -> Result<ArrayViewMutD<'_, f32>> {
        let i = self.layer_index(layer)?;
        let params = self.layers[i].params_mut();
        let count = params.len();
        params
            .get_mut(index)
            .map(|p| p.view_mut())
            .ok_or_else(|| Error::NoSuchParam {
                layer: layer.to_string(),
                index,
                count,
            })
    }

    /// Replaces param `index` of `layer` with an array of the same shape.
    pub fn set_param(&mut self, layer: &str, index: usize, value: ArrayD<f32>) -> Result<()> {
        let i = self.layer_index(layer)?;
        let l = &mut self.layers[i];
        let type_name = l.type_name().to_string();
        let params = l.params_mut();
        let count = params.len();
        let Some(slot) = params.get_mut(index) else {
            return Err(Error::NoSuchParam {
                layer: layer.to_string(),
                index,
                count,
            });
        };
        if slot.shape() != value.shape() {
            return Err(Error::ParamShape {
                layer: layer.to_string(),
                type_name: type_name.into(),
                index,
                expected: slot.shape().to_vec(),
                actual: value.shape().to_vec(),
                hint: "",
            });
        }
        *slot = value;
        Ok(())
    }

    /// Gives input blob `name` (a top of an Input or data layer) the shape
    /// `dims` and re-infers every shape. Params keep their shapes: an input
    /// the params do not fit (e.g. an InnerProduct's K changes) is an error,
    /// and the net is then left as it was.
    pub fn reshape_input(&mut self, name: &str, dims: &[usize]) -> Result<()> {
        let found = self.layers.iter().enumerate().find_map(|(i, l)| {
            let top = l.tops().iter().position(|t| t == name)?;
            l.op().is_net_input().then_some((i, top))
        });
        let Some((li, top)) = found else {
            let producer = self.layers.iter().find(|l| l.tops().iter().any(|t| t == name));
            let hint = match producer {
                Some(l) => format!(" (it is produced by layer '{}' ({}))", l.name(), l.type_name()),
                None => " (no layer produces it)".to_string(),
            };
            return Err(Error::NotAnInput {
                blob: name.to_string(),
                hint,
            });
        };
        let saved = self.layers[li].clone_config();
        set_input_shape(&mut self.layers[li], top, dims);
        if let Err(e) = self.infer_and_commit(true) {
            self.layers[li].restore_config(saved);
            return Err(e);
        }
        Ok(())
    }

    /// Copies params from `source` by layer name (Caffe's
    /// `CopyTrainedLayersFrom`): source layers without a namesake here are
    /// ignored and listed; a blob count or shape mismatch is an error (a
    /// legacy 4-D blob matches when equal after left-padding the target with
    /// 1s). Nothing is copied if any match fails.
    pub fn copy_params_from(&mut self, source: &Net) -> Result<CopyReport> {
        weights::copy_from_net(self, source)
    }

    /// As [`Net::copy_params_from`], moving the blobs out of a weights
    /// parameter (e.g. a decoded caffemodel) without copying them.
    pub fn copy_params_from_proto(&mut self, weights: caffe_io::NetParameter) -> Result<CopyReport> {
        weights::copy_from_proto(self, weights)
    }

    /// As [`Net::copy_params_from`], reading a `.caffemodel` (pycaffe's `net.copy_from`).
    pub fn copy_params_from_file(&mut self, caffemodel: &Path) -> Result<CopyReport> {
        let weights = caffe_io::read_caffemodel(caffemodel)?;
        self.copy_params_from_proto(weights)
    }
}

/// Sets one top's shape: in the Input layer's prototxt (so that saving keeps
/// it) when the parameter can say it, else as an override (data layers).
fn set_input_shape(layer: &mut crate::net::Layer, top: usize, dims: &[usize]) {
    let num_tops = layer.tops().len();
    if layer.op().is::<InputParams>() {
        let shape = caffe_io::proto::BlobShape {
            dim: dims.iter().map(|&d| d as i64).collect(),
        };
        let param = layer.proto_mut().input_param.get_or_insert_with(Default::default);
        if num_tops == 1 {
            param.shape = vec![shape];
            return;
        }
        if param.shape.len() == 1 {
            param.shape = vec![param.shape[0].clone(); num_tops];
        }
        if param.shape.len() == num_tops {
            param.shape[top] = shape;
            return;
        }
    }
    layer.data_shapes[top] = Some(dims.to_vec());
}
