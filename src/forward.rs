//! pycaffe's `net.forward()`: the net is exported to ONNX in memory (weights
//! borrowed, not copied), run by tract with every Caffe blob exposed, and
//! each blob returned under its Caffe name, as `net.blobs[name].data`.

use std::collections::HashMap;

use graph_ir::Net;
use ndarray::ArrayD;
use onnx_export::{export, ExportOptions};
use tract_runtime::SessionBuilder;

/// Why a forward pass failed.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error(transparent)]
    Export(#[from] onnx_export::Error),
    #[error(transparent)]
    Run(#[from] tract_runtime::Error),
    #[error("input '{name}' is missing (the net's inputs: {inputs:?})")]
    MissingInput { name: String, inputs: Vec<String> },
}

/// The blobs of one forward pass, in pycaffe's order.
#[derive(Debug, Clone, Default)]
pub struct Blobs {
    pub blobs: Vec<(String, ArrayD<f32>)>,
}

impl Blobs {
    /// A blob by Caffe name (split copies included).
    pub fn get(&self, name: &str) -> Option<&ArrayD<f32>> {
        self.blobs.iter().find(|(n, _)| n == name).map(|(_, a)| a)
    }
}

/// A prepared forward pass: export and tract optimization happen once, then
/// [`Forward::run`] can be called on many inputs.
pub struct Forward {
    session: tract_runtime::Session,
    inputs: Vec<String>,
    /// (blob name, tensor name) for every blob returned.
    blobs: Vec<(String, String)>,
}

impl Forward {
    /// Prepares `net` for forward passes at its current input shapes. With
    /// `all_blobs`, every Caffe blob is returned; otherwise only the outputs.
    pub fn new(net: &Net, all_blobs: bool, threads: usize) -> Result<Self, ForwardError> {
        let exported = export(net, &ExportOptions::default())?;
        let outputs: Vec<String> = net.outputs().map_err(onnx_export::Error::from)?;
        let blobs: Vec<(String, String)> = exported
            .blobs
            .iter()
            .filter(|b| all_blobs || outputs.contains(&b.name))
            .map(|b| (b.name.clone(), b.tensor.clone()))
            .collect();
        let mut tensors: Vec<&str> = Vec::new();
        for (_, t) in &blobs {
            if !tensors.contains(&t.as_str()) {
                tensors.push(t);
            }
        }
        let session = SessionBuilder::from_bytes(&exported.encode())?
            .outputs(&tensors)?
            .threads(threads)
            .build()?;
        Ok(Forward {
            session,
            inputs: net.inputs().iter().map(|s| s.to_string()).collect(),
            blobs,
        })
    }

    /// The net's input blob names.
    pub fn inputs(&self) -> &[String] {
        &self.inputs
    }

    /// Runs one forward pass.
    pub fn run(&self, mut inputs: HashMap<String, ArrayD<f32>>) -> Result<Blobs, ForwardError> {
        let mut ordered = HashMap::new();
        for name in &self.inputs {
            let value = inputs.remove(name).ok_or_else(|| ForwardError::MissingInput {
                name: name.clone(),
                inputs: self.inputs.clone(),
            })?;
            ordered.insert(name.clone(), value);
        }
        let outputs = self.session.run_named(ordered)?;
        let mut by_tensor: HashMap<String, ArrayD<f32>> = outputs.into_iter().collect();
        // A tensor is moved to the last blob that names it (Caffe's split
        // copies share their source's tensor); only those aliases are copied.
        let mut blobs = Vec::with_capacity(self.blobs.len());
        for (i, (blob, tensor)) in self.blobs.iter().enumerate() {
            let used_later = self.blobs[i + 1..].iter().any(|(_, t)| t == tensor);
            let value = if used_later {
                by_tensor.get(tensor).cloned()
            } else {
                by_tensor.remove(tensor)
            };
            if let Some(value) = value {
                blobs.push((blob.clone(), value));
            }
        }
        Ok(Blobs { blobs })
    }
}

/// One forward pass of `net` on `inputs` (by input blob name), returning every
/// blob (`all_blobs`) or only the outputs.
pub fn forward(net: &Net, inputs: HashMap<String, ArrayD<f32>>, all_blobs: bool) -> Result<Blobs, ForwardError> {
    Forward::new(net, all_blobs, 1)?.run(inputs)
}
