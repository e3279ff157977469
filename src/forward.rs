//! pycaffe's `net.forward()`: the net is exported to ONNX in memory (weights
//! borrowed, not copied), run by tract with every Caffe blob exposed, and
//! each blob returned under its Caffe name, as `net.blobs[name].data`.
//!
//! Convolutions with a long reduction (fc6-conv of the full-conv CaffeNet)
//! are split along their input channels first
//! ([`graph_ir::passes::split_large_conv`]): tract's matrix product re-reads
//! their weights several times otherwise (2.3x slower than onnxruntime at
//! 451x451 before the split). This is a runtime choice, not a change of the
//! net: the caller's net is left as it is, the split is done on a copy, and
//! only the net's own blobs are returned. [`ForwardOptions::split`] turns it
//! off.

use std::collections::HashMap;

use graph_ir::passes::{split_large_conv, SplitConvOptions};
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
    #[error(transparent)]
    Net(Box<graph_ir::Error>),
    #[error("input '{name}' is missing (the net's inputs: {inputs:?})")]
    MissingInput { name: String, inputs: Vec<String> },
}

impl From<graph_ir::Error> for ForwardError {
    fn from(e: graph_ir::Error) -> Self {
        // Boxed: the net's errors are large, and results carry this type everywhere.
        ForwardError::Net(Box::new(e))
    }
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

/// How [`Forward`] prepares a net.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardOptions {
    /// Return every Caffe blob (true) or only the net's outputs.
    pub all_blobs: bool,
    /// Threads for tract's matrix products.
    pub threads: usize,
    /// Split convolutions with a long reduction before running (on a copy of
    /// the net: it costs a copy of the params while preparing), or None to
    /// run the net's layers as they are.
    pub split: Option<SplitConvOptions>,
}

impl Default for ForwardOptions {
    fn default() -> Self {
        ForwardOptions {
            all_blobs: false,
            threads: 1,
            split: Some(SplitConvOptions::default()),
        }
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
    /// Large convolutions are split (see the module doc).
    pub fn new(net: &Net, all_blobs: bool, threads: usize) -> Result<Self, ForwardError> {
        Self::with_options(
            net,
            &ForwardOptions {
                all_blobs,
                threads,
                ..Default::default()
            },
        )
    }

    /// Prepares `net` as `options` say.
    pub fn with_options(net: &Net, options: &ForwardOptions) -> Result<Self, ForwardError> {
        // The net's own blobs: those of a split copy include the parts'.
        let wanted: Vec<String> = if options.all_blobs {
            net.blobs()?.into_iter().map(|b| b.name).collect()
        } else {
            net.outputs()?
        };
        let split = match &options.split {
            Some(split_options) if needs_split(net, split_options)? => {
                let mut copy = net.clone();
                split_large_conv(&mut copy, split_options)?;
                Some(copy)
            }
            _ => None,
        };
        let exported = export(split.as_ref().unwrap_or(net), &ExportOptions::default())?;
        let blobs: Vec<(String, String)> = exported
            .blobs
            .iter()
            .filter(|b| wanted.contains(&b.name))
            .map(|b| (b.name.clone(), b.tensor.clone()))
            .collect();
        let mut tensors: Vec<&str> = Vec::new();
        for (_, t) in &blobs {
            if !tensors.contains(&t.as_str()) {
                tensors.push(t);
            }
        }
        let bytes = exported.encode();
        // The copy's params live on in the encoded model (and then in tract's).
        drop(exported);
        drop(split);
        let session = SessionBuilder::from_bytes(&bytes)?
            .outputs(&tensors)?
            .threads(options.threads)
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

/// Whether the split pass would change `net` (so that nets it leaves alone
/// are not copied).
fn needs_split(net: &Net, options: &SplitConvOptions) -> Result<bool, ForwardError> {
    Ok(!graph_ir::passes::split_conv::would_split(net, options)?.is_empty())
}

/// One forward pass of `net` on `inputs` (by input blob name), returning every
/// blob (`all_blobs`) or only the outputs.
pub fn forward(net: &Net, inputs: HashMap<String, ArrayD<f32>>, all_blobs: bool) -> Result<Blobs, ForwardError> {
    Forward::new(net, all_blobs, 1)?.run(inputs)
}
