//! Running an ONNX model with tract: [`SessionBuilder`] loads the model, fixes
//! input shapes, selects which tensors come out (graph outputs or any
//! intermediate tensor, chosen before optimization so tract keeps them), and
//! optimizes; [`Session`] runs it on `ndarray` arrays.

use std::collections::HashMap;
use std::path::Path;

use ndarray::ArrayD;
use prost::Message as _;
use tract_onnx::prelude::*;

use crate::error::{detail, Error, Result};
use crate::guard::guard;

/// A model loaded by tract, not yet optimized: the place to fix input shapes
/// and choose outputs.
pub struct SessionBuilder {
    model: InferenceModel,
    origin: String,
    /// The graph's inputs and computed tensors, read from the ONNX graph
    /// before tract rewrites it (see [`SessionBuilder::value_names`]).
    values: Vec<String>,
    outputs: Option<Vec<String>>,
    optimize: bool,
    threads: usize,
}

impl std::fmt::Debug for SessionBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionBuilder")
            .field("origin", &self.origin)
            .field("inputs", &self.input_names())
            .field("outputs", &self.outputs)
            .field("optimize", &self.optimize)
            .field("threads", &self.threads)
            .finish_non_exhaustive()
    }
}

impl SessionBuilder {
    fn new(model: InferenceModel, origin: String, values: Vec<String>) -> Self {
        SessionBuilder {
            model,
            origin,
            values,
            outputs: None,
            optimize: true,
            threads: 1,
        }
    }

    /// Loads an `.onnx` file; external data is resolved relative to its
    /// directory.
    pub fn from_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let onnx = tract_onnx::onnx();
        let proto = onnx.proto_model_for_path(path).map_err(|e| Error::Load {
            origin: origin.clone(),
            detail: detail(e),
        })?;
        let dir = path.parent().and_then(Path::to_str);
        let model = load(&onnx, &proto, dir, &origin)?;
        Ok(Self::new(model, origin, value_names(&proto)))
    }

    /// Loads a model from encoded bytes. External data is not supported here
    /// (there is no directory to resolve it against): use [`from_path`](Self::from_path).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let origin = "<ONNX bytes>".to_string();
        let onnx = tract_onnx::onnx();
        let proto = tract_onnx::pb::ModelProto::decode(bytes).map_err(|e| Error::Load {
            origin: origin.clone(),
            detail: e.to_string(),
        })?;
        let model = load(&onnx, &proto, None, &origin)?;
        Ok(Self::new(model, origin, value_names(&proto)))
    }

    /// Loads a model held as prost message (e.g. `onnx_export::ModelProto`) by
    /// encoding it; tract decodes it into its own types.
    pub fn from_proto(model: &impl prost::Message) -> Result<Self> {
        let bytes = model.encode_to_vec();
        let mut builder = Self::from_bytes(&bytes)?;
        builder.origin = "<ONNX model>".to_string();
        Ok(builder)
    }

    /// Names of the model's inputs, in order.
    pub fn input_names(&self) -> Vec<String> {
        outlet_names(&self.model, self.model.inputs.iter().copied())
    }

    /// Names of the tensors the session will return: the graph outputs unless
    /// [`outputs`](Self::outputs) chose others.
    pub fn output_names(&self) -> Vec<String> {
        match &self.outputs {
            Some(names) => names.clone(),
            None => outlet_names(&self.model, self.model.outputs.iter().copied()),
        }
    }

    /// Every tensor name of the model that can be asked for as an output:
    /// inputs, initializers and node outputs, in graph order.
    pub fn tensor_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        for node in self.model.nodes() {
            for ix in 0..node.outputs.len() {
                if let Some(label) = self.model.outlet_label(OutletId::new(node.id, ix)) {
                    names.push(label.to_string());
                } else if node.outputs.len() == 1 {
                    // Sources and constants are labelled by their node name.
                    names.push(node.name.clone());
                }
            }
        }
        names
    }

    /// The tensors a forward pass computes, by ONNX name, in graph order: the
    /// graph's inputs and every node output, leaving out initializers and
    /// `Constant` nodes (weights and other constants, not results). These
    /// are pycaffe's `net.blobs` for a model netsurgeon exported (plus the
    /// helper tensors of layers lowered to several nodes), and what
    /// `netsurgeon run MODEL.onnx --all-blobs` writes:
    /// `builder.outputs(builder.value_names())` returns them all.
    pub fn value_names(&self) -> Vec<String> {
        // Only names tract kept a label for can be selected as outputs.
        let known: std::collections::HashSet<String> = self.tensor_names().into_iter().collect();
        self.values.iter().filter(|n| known.contains(*n)).cloned().collect()
    }

    /// Fixes the shape of input `name` (f32). Dimensions the model leaves
    /// symbolic (e.g. "N") become concrete, which lets tract optimize fully.
    pub fn input_shape(mut self, name: &str, shape: &[usize]) -> Result<Self> {
        let inputs = self.input_names();
        let ix = inputs
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| Error::UnknownInput {
                name: name.to_string(),
                known: inputs.clone(),
            })?;
        self.model
            .set_input_fact(ix, InferenceFact::dt_shape(f32::datum_type(), shape))
            .map_err(|e| Error::Prepare {
                stage: "set an input shape of",
                detail: detail(e),
            })?;
        Ok(self)
    }

    /// Fixes the shapes of several inputs by name.
    pub fn input_shapes<'a>(mut self, shapes: impl IntoIterator<Item = (&'a str, &'a [usize])>) -> Result<Self> {
        for (name, shape) in shapes {
            self = self.input_shape(name, shape)?;
        }
        Ok(self)
    }

    /// Returns exactly these tensors (graph outputs or intermediate tensors,
    /// by ONNX tensor name), in this order, instead of the graph outputs.
    pub fn outputs<I, S>(mut self, names: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let names: Vec<String> = names.into_iter().map(|s| s.as_ref().to_string()).collect();
        let known: std::collections::HashSet<String> = self.tensor_names().into_iter().collect();
        if let Some(unknown) = names.iter().find(|n| !known.contains(*n)) {
            return Err(Error::UnknownTensor { name: unknown.clone() });
        }
        self.model.select_outputs_by_name(&names).map_err(|e| Error::Prepare {
            stage: "select outputs of",
            detail: detail(e),
        })?;
        self.outputs = Some(names);
        Ok(self)
    }

    /// Whether to run tract's full optimizer (default) or only declutter the
    /// typed model; the latter is slower to run but closer to the ONNX graph,
    /// which helps when bisecting a numerical difference.
    pub fn optimize(mut self, optimize: bool) -> Self {
        self.optimize = optimize;
        self
    }

    /// Runs matrix products on a pool of `threads` threads (1: the calling
    /// thread only, the default). Needs the `multithread` feature; without it
    /// the setting is ignored.
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Types, optimizes and plans the model.
    pub fn build(self) -> Result<Session> {
        let origin = self.origin.clone();
        guard(&origin, "prepare", move || self.build_unguarded())?
    }

    fn build_unguarded(self) -> Result<Session> {
        let inputs = self.input_names();
        let outputs = self.output_names();
        let typed = self.model.into_typed().map_err(|e| Error::Prepare {
            stage: "type",
            detail: detail(e),
        })?;
        let typed = if self.optimize {
            typed.into_optimized()
        } else {
            typed.into_decluttered()
        }
        .map_err(|e| Error::Prepare {
            stage: "optimize",
            detail: detail(e),
        })?;
        let options = RunOptions {
            executor: executor(self.threads),
            ..Default::default()
        };
        let plan = typed.into_runnable_with_options(&options).map_err(|e| Error::Prepare {
            stage: "plan",
            detail: detail(e),
        })?;
        Ok(Session { plan, inputs, outputs })
    }
}

/// Translates a decoded model with tract, after [`check_model`]; `dir`
/// resolves external data.
fn load(
    onnx: &tract_onnx::Onnx,
    proto: &tract_onnx::pb::ModelProto,
    dir: Option<&str>,
    origin: &str,
) -> Result<InferenceModel> {
    crate::validate::check_model(proto).map_err(|detail| Error::Load {
        origin: origin.to_string(),
        detail,
    })?;
    let parsed = guard(origin, "load", || onnx.parse(proto, dir))?.map_err(|e| Error::Load {
        origin: origin.to_string(),
        detail: detail(e),
    })?;
    if !parsed.unresolved_inputs.is_empty() {
        return Err(Error::Load {
            origin: origin.to_string(),
            detail: format!(
                "node inputs that no node, initializer or graph input provides: {}",
                parsed.unresolved_inputs.join(", ")
            ),
        });
    }
    Ok(parsed.model)
}

/// The graph inputs and node outputs of an ONNX model, in graph order,
/// without initializers (older exporters list them among the inputs too)
/// and without the outputs of `Constant` nodes; each name once.
fn value_names(proto: &tract_onnx::pb::ModelProto) -> Vec<String> {
    let Some(graph) = &proto.graph else {
        return Vec::new();
    };
    let constants: std::collections::HashSet<&str> = graph.initializer.iter().map(|t| t.name.as_str()).collect();
    let inputs = graph.input.iter().map(|v| v.name.as_str());
    let computed = graph
        .node
        .iter()
        .filter(|n| n.op_type != "Constant")
        .flat_map(|n| n.output.iter().map(String::as_str));
    let mut seen = std::collections::HashSet::new();
    inputs
        .filter(|n| !constants.contains(n))
        .chain(computed)
        // Optional outputs a node leaves out have an empty name.
        .filter(|n| !n.is_empty() && seen.insert(*n))
        .map(str::to_string)
        .collect()
}

#[cfg(feature = "multithread")]
fn executor(threads: usize) -> Option<tract_onnx::prelude::multithread::Executor> {
    // No pool for one thread: tract 0.23 runs a matrix product under a
    // one-thread pool on rayon's global pool (one thread per core), so the
    // product would not stay on the calling thread.
    (threads > 1).then(|| tract_onnx::prelude::multithread::Executor::multithread(threads))
}

#[cfg(not(feature = "multithread"))]
fn executor(_threads: usize) -> Option<tract_onnx::prelude::multithread::Executor> {
    None
}

fn outlet_names(model: &InferenceModel, outlets: impl Iterator<Item = OutletId>) -> Vec<String> {
    outlets
        .map(|o| {
            model
                .outlet_label(o)
                .map(str::to_string)
                .unwrap_or_else(|| model.node(o.node).name.clone())
        })
        .collect()
}

/// An optimized, runnable model. Running takes `&self`, so one session can
/// serve several threads.
pub struct Session {
    plan: Arc<TypedRunnableModel>,
    inputs: Vec<String>,
    outputs: Vec<String>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("inputs", &self.inputs)
            .field("outputs", &self.outputs)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// The model's input names, in the order [`run`](Self::run) takes them.
    pub fn input_names(&self) -> &[String] {
        &self.inputs
    }

    /// The names of the returned tensors, in order.
    pub fn output_names(&self) -> &[String] {
        &self.outputs
    }

    /// The optimized tract model, e.g. to print or count its nodes.
    pub fn model(&self) -> &TypedModel {
        self.plan.model()
    }

    /// Runs on inputs given in the model's input order.
    pub fn run(&self, inputs: Vec<ArrayD<f32>>) -> Result<Vec<(String, ArrayD<f32>)>> {
        if inputs.len() != self.inputs.len() {
            return Err(Error::InputCount {
                expected: self.inputs.len(),
                got: inputs.len(),
            });
        }
        self.run_values(inputs)?
            .into_iter()
            .map(|(name, value)| {
                let array = to_array(&name, value)?;
                Ok((name, array))
            })
            .collect()
    }

    /// As [`Session::run_named`], but an output that has no f32 value is left
    /// out and reported `(name, why)` instead of failing the run: a shape
    /// tensor that tract keeps symbolic (the data-sized steps inside an
    /// exported DetectionOutput), for a caller that asked for every tensor.
    pub fn run_named_lenient(&self, inputs: HashMap<String, ArrayD<f32>>) -> Result<LenientRun> {
        let (mut values, mut left_out) = (Vec::new(), Vec::new());
        for (name, value) in self.run_values(self.ordered(inputs)?)? {
            match to_array(&name, value) {
                Ok(array) => values.push((name, array)),
                Err(e) => left_out.push((name, e.to_string())),
            }
        }
        Ok((values, left_out))
    }

    /// One pass: each output's tract value, by name.
    fn run_values(&self, inputs: Vec<ArrayD<f32>>) -> Result<Vec<(String, TValue)>> {
        if inputs.len() != self.inputs.len() {
            return Err(Error::InputCount {
                expected: self.inputs.len(),
                got: inputs.len(),
            });
        }
        // Tensor::from copies each array once into tract's aligned storage.
        let inputs: TVec<TValue> = inputs.into_iter().map(|a| Tensor::from(a).into_tvalue()).collect();
        let outputs = crate::guard::catch_panic(|| self.plan.run(inputs))
            .map_err(|message| Error::RunPanic { message })?
            .map_err(|e| Error::Run { detail: detail(e) })?;
        Ok(self.outputs.iter().cloned().zip(outputs).collect())
    }

    /// Runs on inputs given by name; every model input must be present and
    /// every name must be a model input.
    pub fn run_named(&self, inputs: HashMap<String, ArrayD<f32>>) -> Result<Vec<(String, ArrayD<f32>)>> {
        self.run(self.ordered(inputs)?)
    }

    /// Named inputs in the model's order; each must be a model input.
    fn ordered(&self, mut inputs: HashMap<String, ArrayD<f32>>) -> Result<Vec<ArrayD<f32>>> {
        let mut ordered = Vec::with_capacity(self.inputs.len());
        for name in &self.inputs {
            let array = inputs
                .remove(name)
                .ok_or_else(|| Error::MissingInput { name: name.clone() })?;
            ordered.push(array);
        }
        if let Some(name) = inputs.into_keys().next() {
            return Err(Error::UnknownInput {
                name,
                known: self.inputs.clone(),
            });
        }
        Ok(ordered)
    }
}

/// What [`Session::run_named_lenient`] gives: the outputs that have an f32
/// value, by name, and those that have none, `(name, why)`.
pub type LenientRun = (Vec<(String, ArrayD<f32>)>, Vec<(String, String)>);

/// An output as an f32 array; other numeric types (e.g. int64 indices) are
/// converted, as Caffe blobs are all float.
fn to_array(name: &str, value: TValue) -> Result<ArrayD<f32>> {
    let fail = |e: TractError| Error::Output {
        name: name.to_string(),
        detail: detail(e),
    };
    let tensor = value.into_tensor();
    if tensor.datum_type() == f32::datum_type() {
        tensor.into_plain_array::<f32>().map_err(fail)
    } else {
        tensor
            .cast_to::<f32>()
            .and_then(|t| t.into_owned().into_plain_array::<f32>())
            .map_err(fail)
    }
}
