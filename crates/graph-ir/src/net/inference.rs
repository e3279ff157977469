//! Shape inference, as Caffe's `Net::Init` + `Reshape`: every layer's setup
//! run in order on its bottoms' shapes, the tops and params checked against
//! the limits before anything of that size exists, Caffe's in-place rule
//! enforced, and for each blob without a shape the data or input layer (or
//! unmodelled layer) that explains why.

use std::collections::HashMap;

use caffe_io::Limit;

use super::{Layer, Net};
use crate::error::{Error, Result};
use crate::ops::{DataParams, InputParams, Setup};
use crate::registry::{Op, Unmodelled};
use crate::shape::Shape;
use crate::splits;
use crate::weights;

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

/// The result of inferring every shape, before it is committed.
struct Inference {
    setups: Vec<Setup>,
    shapes: HashMap<String, Shape>,
    unknown: HashMap<String, UnknownCause>,
}

impl Net {
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
            let mut setup = self.registry.setup_for(
                &layer.proto,
                self.state.phase,
                self.dialects,
                known.then_some(&inputs[..]),
            )?;
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
                let shapes = setup.tops.clone();
                if setup.op.is::<InputParams>() {
                    setup.op = Op::new(InputParams { shapes });
                } else if let Some(p) = setup.op.downcast_ref::<DataParams>() {
                    setup.op = Op::new(DataParams { kind: p.kind, shapes });
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
                type_name: c.type_name.as_str().into(),
                input: c.input.clone(),
                reason: c.reason.as_str().into(),
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
        "DenseImageData" => "reads its shapes from its image and label list".to_string(),
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
