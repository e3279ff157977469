//! pycaffe's `net.forward()`: the net is exported to ONNX in memory (weights
//! borrowed, not copied), run by tract with every Caffe blob exposed, and
//! each blob returned under its Caffe name, as `net.blobs[name].data`.
//!
//! ```no_run
//! use netsurgeon::graph_ir::Net;
//! use netsurgeon::{Forward, ForwardOptions};
//!
//! let net = Net::load_with_weights("deploy.prototxt", "weights.caffemodel")?;
//! // Prepared once (export and tract's optimization), run on many inputs.
//! let forward = Forward::new(&net, &ForwardOptions::default().all_blobs(true))?;
//! let image = ndarray::ArrayD::<f32>::zeros(vec![10, 3, 227, 227]);
//! let mut blobs = forward.run([("data", image)])?;
//! for (name, blob) in &blobs {
//!     println!("{name} {:?}", blob.shape());
//! }
//! let prob = blobs.remove("prob").expect("the net's output"); // moved out, not copied
//! println!("{:?}", prob.shape()); // [10, 1000]
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Convolutions with a long reduction (fc6-conv of the full-conv CaffeNet)
//! are split along their input channels first
//! ([`graph_ir::passes::split_large_conv`]): tract's matrix product re-reads
//! their weights several times otherwise. This is a runtime choice, not a
//! change of the net: the caller's net is left as it is, the split is done on
//! a copy, and only the net's own blobs are returned.
//! [`ForwardOptions::split`] turns it off.

use std::collections::HashMap;
use std::sync::Arc;

use graph_ir::passes::{split_large_conv, SplitConvOptions};
use graph_ir::Net;
use ndarray::ArrayD;
use netsurgeon_runtime::SessionBuilder;
use onnx_export::{export, ExportOptions, Lowerings};

/// Why a forward pass failed.
///
/// The errors of the stages (export, tract, the net) are boxed: they are
/// large, and every `Result` of a forward pass carries this type.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ForwardError {
    /// The net could not be exported to ONNX.
    #[error(transparent)]
    Export(Box<onnx_export::Error>),
    /// tract could not prepare or run the exported model.
    #[error(transparent)]
    Run(Box<netsurgeon_runtime::Error>),
    /// The net's blobs or shapes could not be worked out.
    #[error(transparent)]
    Net(Box<graph_ir::Error>),
    /// An input was given under a name that is not an input of the net.
    #[error("{}", unknown_input_message(name, inputs))]
    UnknownInput {
        /// The name given.
        name: String,
        /// The net's input blobs.
        inputs: Vec<String>,
    },
    /// An input of the net was not given.
    #[error("input '{name}' is missing (the net's inputs: {})", quoted(inputs))]
    MissingInput {
        /// The input blob not given.
        name: String,
        /// The net's input blobs.
        inputs: Vec<String>,
    },
    /// The same input was given twice.
    #[error("input '{name}' is given twice")]
    DuplicateInput {
        /// The input blob given twice.
        name: String,
    },
    /// An input array's shape is not the one the net was prepared for.
    #[error(
        "input '{name}' has shape {} but the net was prepared for {}; to run at the new shape, \
         reshape the net and prepare a new Forward: net.reshape_input(\"{name}\", &{:?}) then \
         Forward::new(&net, &options) (on the command line: --input {name}={})",
        format_shape(given),
        format_shape(expected),
        given,
        dims_arg(given)
    )]
    InputShape {
        /// The input blob.
        name: String,
        /// Its shape in the net, which the forward pass was prepared for.
        expected: Vec<usize>,
        /// The shape of the array given.
        given: Vec<usize>,
    },
}

impl ForwardError {
    /// For [`ForwardError::UnknownInput`], the net's input whose name is
    /// closest to the one given, if one is close enough to be a typo.
    pub fn suggestion(&self) -> Option<&str> {
        match self {
            ForwardError::UnknownInput { name, inputs } => closest(name, inputs),
            _ => None,
        }
    }
}

impl From<onnx_export::Error> for ForwardError {
    fn from(e: onnx_export::Error) -> Self {
        ForwardError::Export(Box::new(e))
    }
}

impl From<netsurgeon_runtime::Error> for ForwardError {
    fn from(e: netsurgeon_runtime::Error) -> Self {
        ForwardError::Run(Box::new(e))
    }
}

impl From<graph_ir::Error> for ForwardError {
    fn from(e: graph_ir::Error) -> Self {
        ForwardError::Net(Box::new(e))
    }
}

fn quoted(names: &[String]) -> String {
    if names.is_empty() {
        return "none".to_string();
    }
    names.iter().map(|n| format!("'{n}'")).collect::<Vec<_>>().join(", ")
}

fn unknown_input_message(name: &str, inputs: &[String]) -> String {
    let mut message = format!("'{name}' is not an input of the net (its inputs: {})", quoted(inputs));
    if let Some(close) = closest(name, inputs) {
        message.push_str(&format!("; did you mean '{close}'?"));
    }
    message
}

/// pycaffe's tuple style: `(10, 3, 227, 227)`, `(96,)`.
fn format_shape(shape: &[usize]) -> String {
    match shape {
        [one] => format!("({one},)"),
        dims => format!(
            "({})",
            dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// The command line's `NAME=DIMS` form of a shape: `10,3,227,227`.
fn dims_arg(shape: &[usize]) -> String {
    shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(",")
}

/// The closest of `candidates` to `name` (see [`graph_ir::names::closest`]).
fn closest<'a>(name: &str, candidates: &'a [String]) -> Option<&'a str> {
    graph_ir::names::closest(name, candidates.iter().map(String::as_str))
}

/// The blobs of one forward pass by Caffe name, in pycaffe's order (the
/// order of `net.blobs`): a small ordered map. Lookups scan the list, which
/// for the hundreds of blobs of a real net costs nothing next to the pass.
///
/// ```no_run
/// # fn f(mut blobs: netsurgeon::Blobs) {
/// let prob = &blobs["prob"]; // panics if there is no such blob, as a HashMap does
/// if let Some(conv1) = blobs.get("conv1") { /* ... */ }
/// let names: Vec<&str> = blobs.names().collect();
/// let owned = blobs.remove("prob"); // Some(array), without a copy
/// for (name, blob) in blobs { /* every other blob, by value */ }
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Blobs {
    blobs: Vec<(String, ArrayD<f32>)>,
}

impl Blobs {
    /// A blob by Caffe name (split copies included).
    pub fn get(&self, name: &str) -> Option<&ArrayD<f32>> {
        self.blobs.iter().find(|(n, _)| n == name).map(|(_, a)| a)
    }

    /// A blob by Caffe name, to modify in place.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut ArrayD<f32>> {
        self.blobs.iter_mut().find(|(n, _)| n == name).map(|(_, a)| a)
    }

    /// Takes a blob out (the others keep their order).
    pub fn remove(&mut self, name: &str) -> Option<ArrayD<f32>> {
        let i = self.blobs.iter().position(|(n, _)| n == name)?;
        Some(self.blobs.remove(i).1)
    }

    /// Whether a blob of this name is present.
    pub fn contains(&self, name: &str) -> bool {
        self.blobs.iter().any(|(n, _)| n == name)
    }

    /// How many blobs there are.
    pub fn len(&self) -> usize {
        self.blobs.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.blobs.is_empty()
    }

    /// The blob names, in order.
    pub fn names(&self) -> impl ExactSizeIterator<Item = &str> + DoubleEndedIterator + '_ {
        self.blobs.iter().map(|(n, _)| n.as_str())
    }

    /// (name, blob) pairs, in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter(self.blobs.iter())
    }

    /// The (name, blob) pairs as a list, in order.
    pub fn into_vec(self) -> Vec<(String, ArrayD<f32>)> {
        self.blobs
    }
}

impl std::ops::Index<&str> for Blobs {
    type Output = ArrayD<f32>;

    /// The blob of this name.
    ///
    /// # Panics
    ///
    /// If there is no blob of this name, as `HashMap`'s index does; use
    /// [`Blobs::get`] for names that may be absent.
    fn index(&self, name: &str) -> &ArrayD<f32> {
        match self.get(name) {
            Some(blob) => blob,
            None => panic!("no blob named '{name}' among the {} blobs returned", self.len()),
        }
    }
}

impl From<Blobs> for Vec<(String, ArrayD<f32>)> {
    fn from(blobs: Blobs) -> Self {
        blobs.blobs
    }
}

impl FromIterator<(String, ArrayD<f32>)> for Blobs {
    fn from_iter<I: IntoIterator<Item = (String, ArrayD<f32>)>>(iter: I) -> Self {
        Blobs {
            blobs: iter.into_iter().collect(),
        }
    }
}

impl IntoIterator for Blobs {
    type Item = (String, ArrayD<f32>);
    type IntoIter = std::vec::IntoIter<(String, ArrayD<f32>)>;

    fn into_iter(self) -> Self::IntoIter {
        self.blobs.into_iter()
    }
}

impl<'a> IntoIterator for &'a Blobs {
    type Item = (&'a str, &'a ArrayD<f32>);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// The (name, blob) pairs of a [`Blobs`], in order.
#[derive(Debug, Clone)]
pub struct Iter<'a>(std::slice::Iter<'a, (String, ArrayD<f32>)>);

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a ArrayD<f32>);

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next().map(|(n, a)| (n.as_str(), a))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.0.next_back().map(|(n, a)| (n.as_str(), a))
    }
}

impl ExactSizeIterator for Iter<'_> {}

/// How [`Forward`] prepares a net. Built from the default with its setters:
///
/// ```
/// use netsurgeon::ForwardOptions;
/// let every_blob_one_thread = ForwardOptions::default().all_blobs(true).threads(1);
/// let as_is = ForwardOptions::default().split(None);
/// # let _ = (every_blob_one_thread, as_is);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ForwardOptions {
    /// Return every Caffe blob (true) or only the net's outputs (false, the
    /// default), as pycaffe's `net.blobs` after a forward pass or the dict
    /// `net.forward()` returns.
    pub all_blobs: bool,
    /// Threads for tract's matrix products. The default is every core of the
    /// machine (`std::thread::available_parallelism`), as onnxruntime's; 1
    /// keeps the pass on the calling thread.
    pub threads: usize,
    /// Split convolutions with a long reduction before running (on a copy of
    /// the net: it costs a copy of the params while preparing), or None to
    /// run the net's layers as they are.
    pub split: Option<SplitConvOptions>,
    /// The ONNX lowering of each layer's op (default: the built-ins; a
    /// program's own layer types bring theirs, see [`crate::Layers`]).
    pub lowerings: Arc<Lowerings>,
    /// Compute only what these blobs need (pycaffe's `forward(end=...)`
    /// asks for the tops of its last layer), or None (the default) for the
    /// whole net. They are returned in place of the net's outputs; with
    /// [`all_blobs`](Self::all_blobs), every blob computed on the way is.
    pub outputs: Option<Vec<String>>,
}

impl PartialEq for ForwardOptions {
    fn eq(&self, other: &Self) -> bool {
        self.all_blobs == other.all_blobs
            && self.threads == other.threads
            && self.split == other.split
            && Arc::ptr_eq(&self.lowerings, &other.lowerings)
            && self.outputs == other.outputs
    }
}

impl Default for ForwardOptions {
    fn default() -> Self {
        ForwardOptions {
            all_blobs: false,
            threads: all_cores(),
            split: Some(SplitConvOptions::default()),
            lowerings: Lowerings::builtin(),
            outputs: None,
        }
    }
}

impl ForwardOptions {
    /// Sets [`all_blobs`](Self::all_blobs).
    pub fn all_blobs(mut self, all_blobs: bool) -> Self {
        self.all_blobs = all_blobs;
        self
    }

    /// Sets [`threads`](Self::threads) (0 is taken as 1).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Sets [`split`](Self::split): None runs the net's convolutions unsplit.
    pub fn split(mut self, split: Option<SplitConvOptions>) -> Self {
        self.split = split;
        self
    }

    /// Sets [`outputs`](Self::outputs).
    pub fn outputs(mut self, outputs: Option<Vec<String>>) -> Self {
        self.outputs = outputs;
        self
    }

    /// Sets [`lowerings`](Self::lowerings).
    pub fn lowerings(mut self, lowerings: Arc<Lowerings>) -> Self {
        self.lowerings = lowerings;
        self
    }
}

/// Every core of the machine, or 1 when the count cannot be had.
pub fn all_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A prepared forward pass: export and tract's optimization happen once, in
/// [`Forward::new`], then [`Forward::run`] can be called on many inputs (from
/// several threads too: it takes `&self`).
#[derive(Debug)]
pub struct Forward {
    session: netsurgeon_runtime::Session,
    /// The net's input blobs and the shapes the session was prepared for.
    inputs: Vec<(String, Vec<usize>)>,
    /// (blob name, tensor name) for every blob returned.
    blobs: Vec<(String, String)>,
}

impl Forward {
    /// Prepares `net` for forward passes at its current input shapes (to run
    /// at other shapes, [`Net::reshape_input`] first). Large convolutions
    /// are split unless `options` say otherwise (see the module doc).
    pub fn new(net: &Net, options: &ForwardOptions) -> Result<Self, ForwardError> {
        // The net's own blobs: those of a split copy include the parts'.
        let wanted: Vec<String> = match (&options.outputs, options.all_blobs) {
            (_, true) => net.list_blobs()?.into_iter().map(|b| b.name).collect(),
            (Some(outputs), false) => outputs.clone(),
            (None, false) => net.outputs()?,
        };
        let inputs = net
            .inputs()
            .iter()
            .map(|name| Ok((name.to_string(), net.blob_shape(name)?.to_vec())))
            .collect::<Result<Vec<_>, graph_ir::Error>>()?;
        let split = match &options.split {
            Some(split_options) if needs_split(net, split_options)? => {
                let mut copy = net.clone();
                split_large_conv(&mut copy, split_options)?;
                Some(copy)
            }
            _ => None,
        };
        let export_options = ExportOptions {
            lowerings: options.lowerings.clone(),
            outputs: options.outputs.clone(),
            ..ExportOptions::default()
        };
        let exported = export(split.as_ref().unwrap_or(net), &export_options)?;
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
        Ok(Forward { session, inputs, blobs })
    }

    /// The net's input blob names.
    pub fn inputs(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.inputs.iter().map(|(n, _)| n.as_str())
    }

    /// The shape input `name` must have, or None if it is not an input.
    pub fn input_shape(&self, name: &str) -> Option<&[usize]> {
        self.inputs.iter().find(|(n, _)| n == name).map(|(_, s)| s.as_slice())
    }

    /// Runs one forward pass on the net's inputs by blob name: a
    /// `HashMap<String, ArrayD<f32>>`, or pairs such as `[("data", array)]`.
    /// Every input must be given, once, at the shape the net was prepared
    /// for; anything else is an error naming the input (nothing reaches
    /// tract).
    pub fn run<K, I>(&self, inputs: I) -> Result<Blobs, ForwardError>
    where
        K: Into<String>,
        I: IntoIterator<Item = (K, ArrayD<f32>)>,
    {
        let names = || self.inputs.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        let mut given: HashMap<String, ArrayD<f32>> = HashMap::new();
        for (name, value) in inputs {
            let name = name.into();
            let Some((_, expected)) = self.inputs.iter().find(|(n, _)| *n == name) else {
                return Err(ForwardError::UnknownInput { name, inputs: names() });
            };
            if value.shape() != expected.as_slice() {
                return Err(ForwardError::InputShape {
                    expected: expected.clone(),
                    given: value.shape().to_vec(),
                    name,
                });
            }
            if given.contains_key(&name) {
                return Err(ForwardError::DuplicateInput { name });
            }
            given.insert(name, value);
        }
        if let Some((name, _)) = self.inputs.iter().find(|(n, _)| !given.contains_key(n)) {
            return Err(ForwardError::MissingInput {
                name: name.clone(),
                inputs: names(),
            });
        }
        let outputs = self.session.run_named(given)?;
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

/// One forward pass of `net` on `inputs` (by input blob name, as
/// [`Forward::run`] takes them), prepared as `options` say. To run many
/// inputs, prepare a [`Forward`] once instead.
///
/// ```no_run
/// # let net: netsurgeon::graph_ir::Net = todo!();
/// # let image: ndarray::ArrayD<f32> = todo!();
/// use netsurgeon::{forward, ForwardOptions};
/// let blobs = forward(&net, [("data", image)], &ForwardOptions::default())?;
/// println!("{:?}", blobs["prob"].shape());
/// # Ok::<(), netsurgeon::ForwardError>(())
/// ```
pub fn forward<K, I>(net: &Net, inputs: I, options: &ForwardOptions) -> Result<Blobs, ForwardError>
where
    K: Into<String>,
    I: IntoIterator<Item = (K, ArrayD<f32>)>,
{
    Forward::new(net, options)?.run(inputs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_are_matched_to_inputs() {
        let inputs = vec!["data".to_string(), "label".to_string()];
        assert_eq!(closest("dta", &inputs), Some("data"));
        assert_eq!(closest("Data", &inputs), Some("data"));
        assert_eq!(closest("labels", &inputs), Some("label"));
        assert_eq!(closest("image", &inputs), None);
        let e = ForwardError::UnknownInput {
            name: "dta".into(),
            inputs: inputs.clone(),
        };
        assert_eq!(
            e.to_string(),
            "'dta' is not an input of the net (its inputs: 'data', 'label'); did you mean 'data'?"
        );
        assert_eq!(e.suggestion(), Some("data"));
    }

    #[test]
    fn errors_stay_small() {
        // Every Result of a forward pass carries a ForwardError: the stage
        // errors are boxed so that it stays a few words.
        assert!(std::mem::size_of::<ForwardError>() <= 80);
    }

    #[test]
    fn blobs_behave_like_a_map() {
        let a = ArrayD::<f32>::zeros(vec![1, 2]);
        let b = ArrayD::<f32>::ones(vec![3]);
        let mut blobs: Blobs = [("a".to_string(), a.clone()), ("b".to_string(), b.clone())]
            .into_iter()
            .collect();
        assert_eq!(blobs.len(), 2);
        assert_eq!(blobs.names().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(blobs["b"], b);
        assert!(blobs.contains("a") && !blobs.contains("c"));
        let pairs: Vec<(&str, usize)> = (&blobs).into_iter().map(|(n, x)| (n, x.len())).collect();
        assert_eq!(pairs, [("a", 2), ("b", 3)]);
        assert_eq!(blobs.remove("a"), Some(a));
        assert_eq!(blobs.remove("a"), None);
        assert_eq!(blobs.into_vec(), vec![("b".to_string(), b)]);
        let missing = std::panic::catch_unwind(|| Blobs::default()["x"].len());
        assert!(missing.is_err());
    }
}
