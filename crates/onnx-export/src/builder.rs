//! `GraphBuilder`: assembles an ONNX graph node by node and wraps it in a
//! model. It keeps the graph in SSA form (every tensor defined once, read only
//! after its definition), hands out unique tensor and node names, and fills the
//! model header (opset, matching IR version, producer, metadata) so the
//! per-layer export code only says which nodes to add.

use std::collections::{HashMap, HashSet};

use ndarray::{ArrayD, ArrayViewD};

use crate::error::{Error, Result};
use crate::onnx::tensor_proto::DataType;
use crate::onnx::{
    tensor_shape_proto, type_proto, AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto,
    StringStringEntryProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};
use crate::payloads::Payloads;
use crate::tensor;

/// The opset written unless asked otherwise: 17 is supported by tract (tested
/// on 9 to 18) and by every onnxruntime since 1.12, and has the opset-13
/// semantics Caffe needs (Softmax along one axis).
pub const DEFAULT_OPSET: i64 = 17;

/// `producer_name` of every model this crate writes.
pub const PRODUCER_NAME: &str = "netsurgeon";

/// The version of this converter, written as `producer_version` and as the
/// `converter_version` metadata entry.
pub const CONVERTER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// (first opset, IR version) per ONNX release, from `onnx.helper.VERSION_TABLE`
/// (onnx 1.23.2): an opset needs at least the IR version of the release that
/// introduced it. Opset 27 (onnx 1.22, IR 13) is the newest our schema knows.
const IR_FOR_OPSET: &[(i64, i64)] = &[
    (7, 3),
    (9, 4),
    (10, 5),
    (11, 6),
    (12, 7),
    (15, 8),
    (19, 9),
    (21, 10),
    (23, 11),
    (24, 12),
    (25, 13),
];
const MIN_OPSET: i64 = 7;
pub(crate) const MAX_OPSET: i64 = 27;

/// The IR version that goes with `opset` of the default domain, as the ONNX
/// release that introduced the opset wrote it (opset 17 -> IR 8). Writing the
/// lowest matching IR version keeps older runtimes able to load the model.
pub fn ir_version_for_opset(opset: i64) -> Result<i64> {
    if !(MIN_OPSET..=MAX_OPSET).contains(&opset) {
        return Err(Error::UnsupportedOpset {
            opset,
            min: MIN_OPSET,
            max: MAX_OPSET,
        });
    }
    Ok(IR_FOR_OPSET
        .iter()
        .rev()
        .find(|(first, _)| *first <= opset)
        .map(|&(_, ir)| ir)
        .expect("the table starts at MIN_OPSET"))
}

/// One axis of a graph input or output: a fixed size, a symbolic name such
/// as "N" (a batch size the runtime may choose), or unknown (a size that
/// depends on symbolic input sizes in a way ONNX has no name for).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Dim {
    Fixed(usize),
    Param(String),
    Unknown,
}

impl From<usize> for Dim {
    fn from(d: usize) -> Self {
        Dim::Fixed(d)
    }
}

impl From<&str> for Dim {
    fn from(name: &str) -> Self {
        Dim::Param(name.to_string())
    }
}

/// Fixed dims from a shape, e.g. `dims(&[1, 3, 227, 227])`.
pub fn dims(shape: &[usize]) -> Vec<Dim> {
    shape.iter().map(|&d| Dim::Fixed(d)).collect()
}

/// A tensor type with element type `elem` and, if known, a shape.
pub fn tensor_type(elem: DataType, shape: Option<&[Dim]>) -> TypeProto {
    let shape = shape.map(|dims| TensorShapeProto {
        dim: dims
            .iter()
            .map(|d| tensor_shape_proto::Dimension {
                value: match d {
                    Dim::Fixed(v) => Some(tensor_shape_proto::dimension::Value::DimValue(*v as i64)),
                    Dim::Param(p) => Some(tensor_shape_proto::dimension::Value::DimParam(p.clone())),
                    Dim::Unknown => None,
                },
                denotation: None,
            })
            .collect(),
    });
    TypeProto {
        value: Some(type_proto::Value::TensorType(type_proto::Tensor {
            elem_type: Some(elem as i32),
            shape,
        })),
        denotation: None,
    }
}

/// A `ValueInfoProto` for a tensor of type `elem` and optional shape.
pub fn value_info(name: &str, elem: DataType, shape: Option<&[Dim]>) -> ValueInfoProto {
    ValueInfoProto {
        name: Some(name.to_string()),
        r#type: Some(tensor_type(elem, shape)),
        ..Default::default()
    }
}

/// Model-level metadata written by [`GraphBuilder::into_model`].
#[derive(Debug, Clone)]
pub struct ModelOptions {
    /// `producer_version` and the `converter_version` metadata entry.
    pub producer_version: String,
    /// The Caffe model the graph comes from (e.g. "bvlc_reference_caffenet"),
    /// written as the `source_model` metadata entry.
    pub source_model: Option<String>,
    /// `model_version` (the version of the model, not of the format).
    pub model_version: Option<i64>,
    pub doc_string: Option<String>,
    /// Further `metadata_props` entries, written after the standard ones.
    pub metadata: Vec<(String, String)>,
}

impl Default for ModelOptions {
    fn default() -> Self {
        ModelOptions {
            producer_version: CONVERTER_VERSION.to_string(),
            source_model: None,
            model_version: None,
            doc_string: None,
            metadata: Vec::new(),
        }
    }
}

/// Builds one ONNX graph. Names given exactly (graph inputs, node outputs,
/// initializers added as `TensorProto`s) must be new; names derived from a
/// base (`fresh_name`, `op`, `initializer_*`) are made unique by appending
/// `_1`, `_2`, ... Names passed to [`reserve`](Self::reserve) are never handed
/// out as fresh names, so that generated names cannot collide with a Caffe
/// blob name defined later in the export.
#[derive(Debug)]
pub struct GraphBuilder {
    opset: i64,
    graph: GraphProto,
    /// Tensor name -> what defined it, for duplicate-definition errors.
    defined: HashMap<String, String>,
    /// Names that fresh names must avoid: reserved or already handed out.
    taken: HashSet<String>,
    node_names: HashSet<String>,
    /// Next suffix to try per base name, so n fresh names of one base cost O(n).
    next_suffix: HashMap<String, usize>,
}

impl GraphBuilder {
    /// An empty graph called `name`, for the default opset.
    pub fn new(name: &str) -> Self {
        GraphBuilder {
            opset: DEFAULT_OPSET,
            graph: GraphProto {
                name: Some(name.to_string()),
                ..Default::default()
            },
            defined: HashMap::new(),
            taken: HashSet::new(),
            node_names: HashSet::new(),
            next_suffix: HashMap::new(),
        }
    }

    /// Targets `opset` of the default ONNX domain instead of [`DEFAULT_OPSET`].
    pub fn with_opset(mut self, opset: i64) -> Result<Self> {
        ir_version_for_opset(opset)?;
        self.opset = opset;
        Ok(self)
    }

    /// The targeted opset: export code branches on it where operators changed
    /// (e.g. Squeeze's axes became an input in 13).
    pub fn opset(&self) -> i64 {
        self.opset
    }

    /// Keeps `names` out of the fresh names handed out later.
    pub fn reserve<I, S>(&mut self, names: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.taken.extend(names.into_iter().map(|s| s.as_ref().to_string()));
    }

    /// A tensor name not defined, reserved or handed out yet: `base` itself if
    /// possible, else `base_1`, `base_2`, ... The name is taken from then on.
    pub fn fresh_name(&mut self, base: &str) -> String {
        if !self.taken.contains(base) && !self.defined.contains_key(base) {
            self.taken.insert(base.to_string());
            return base.to_string();
        }
        let mut n = self.next_suffix.get(base).copied().unwrap_or(1);
        loop {
            let candidate = format!("{base}_{n}");
            n += 1;
            if !self.taken.contains(&candidate) && !self.defined.contains_key(&candidate) {
                self.next_suffix.insert(base.to_string(), n);
                self.taken.insert(candidate.clone());
                return candidate;
            }
        }
    }

    /// Whether a tensor called `name` has been defined (input, initializer or
    /// node output).
    pub fn is_defined(&self, name: &str) -> bool {
        self.defined.contains_key(name)
    }

    fn define(&mut self, name: &str, by: String) -> Result<()> {
        if let Some(first) = self.defined.get(name) {
            return Err(Error::DuplicateTensor {
                name: name.to_string(),
                first: first.clone(),
                second: by,
            });
        }
        self.taken.insert(name.to_string());
        self.defined.insert(name.to_string(), by);
        Ok(())
    }

    /// Declares a float graph input called exactly `name`, e.g.
    /// `add_input("data", &[Dim::from("N"), 3.into(), 227.into(), 227.into()])`.
    pub fn add_input(&mut self, name: &str, shape: &[Dim]) -> Result<()> {
        self.add_input_typed(name, DataType::Float, shape)
    }

    /// Declares a graph input of element type `elem`.
    pub fn add_input_typed(&mut self, name: &str, elem: DataType, shape: &[Dim]) -> Result<()> {
        self.define(name, "a graph input".to_string())?;
        self.graph.input.push(value_info(name, elem, Some(shape)));
        Ok(())
    }

    /// Declares `name` a float graph output, with its shape if known. The
    /// tensor may be defined later; [`finish`](Self::finish) checks it is.
    pub fn add_output(&mut self, name: &str, shape: Option<&[Dim]>) -> Result<()> {
        self.add_output_typed(name, DataType::Float, shape)
    }

    /// Declares a graph output of element type `elem`.
    pub fn add_output_typed(&mut self, name: &str, elem: DataType, shape: Option<&[Dim]>) -> Result<()> {
        self.graph.output.push(value_info(name, elem, shape));
        Ok(())
    }

    /// Records the type and shape of an intermediate tensor (`value_info`).
    pub fn add_value_info(&mut self, name: &str, elem: DataType, shape: Option<&[Dim]>) {
        self.graph.value_info.push(value_info(name, elem, shape));
    }

    /// Adds `tensor` as an initializer under its own (exact) name.
    pub fn add_initializer(&mut self, tensor: TensorProto) -> Result<String> {
        let name = tensor.name().to_string();
        self.define(&name, "an initializer".to_string())?;
        self.graph.initializer.push(tensor);
        Ok(name)
    }

    /// Adds a float initializer named after `base`, copying `array`.
    pub fn initializer_f32(&mut self, base: &str, array: ArrayViewD<'_, f32>) -> Result<String> {
        let name = self.fresh_name(base);
        self.add_initializer(tensor::f32_tensor(&name, array))
    }

    /// Adds a float initializer named after `base`, taking `array`'s buffer
    /// without a copy where possible (see [`tensor::f32_tensor_owned`]).
    pub fn initializer_f32_owned(&mut self, base: &str, array: ArrayD<f32>) -> Result<String> {
        let name = self.fresh_name(base);
        self.add_initializer(tensor::f32_tensor_owned(&name, array))
    }

    /// Adds a float initializer named after `base` whose data stays in
    /// `array`'s memory: the model gets a header-only initializer and
    /// `payloads` a borrow of the bytes, spliced in when the model is written
    /// (see [`crate::write_model_with`]). Arrays that cannot be borrowed as
    /// little-endian C-order bytes are copied into the model instead.
    pub fn initializer_f32_borrowed<'a>(
        &mut self,
        payloads: &mut Payloads<'a>,
        base: &str,
        array: ArrayViewD<'a, f32>,
    ) -> Result<String> {
        let name = self.fresh_name(base);
        match Payloads::f32_bytes(&array) {
            Some(bytes) => {
                self.add_initializer(tensor::header_tensor(&name, DataType::Float, array.shape()))?;
                payloads.insert(&name, bytes);
                Ok(name)
            }
            None => self.add_initializer(tensor::f32_tensor(&name, array)),
        }
    }

    /// Adds an int64 initializer of shape `dims` named after `base`.
    pub fn initializer_i64(&mut self, base: &str, dims: &[usize], values: &[i64]) -> Result<String> {
        let name = self.fresh_name(base);
        self.add_initializer(tensor::i64_tensor(&name, dims, values)?)
    }

    /// Adds a node. `name` is made unique among node names; every non-empty
    /// input must be defined already ("" stands for an omitted optional input);
    /// every non-empty output is defined by this node under exactly its name.
    pub fn add_node(
        &mut self,
        op_type: &str,
        name: &str,
        inputs: &[&str],
        outputs: &[&str],
        attributes: Vec<AttributeProto>,
    ) -> Result<()> {
        let node_name = self.fresh_node_name(name);
        for input in inputs.iter().filter(|i| !i.is_empty()) {
            if !self.defined.contains_key(*input) {
                return Err(Error::UnknownTensor {
                    name: input.to_string(),
                    node: node_name,
                    op_type: op_type.to_string(),
                });
            }
        }
        for output in outputs.iter().filter(|o| !o.is_empty()) {
            self.define(output, format!("node '{node_name}' ({op_type})"))?;
        }
        self.node_names.insert(node_name.clone());
        self.graph.node.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.iter().map(|s| s.to_string()).collect(),
            name: Some(node_name),
            op_type: Some(op_type.to_string()),
            attribute: attributes,
            ..Default::default()
        });
        Ok(())
    }

    /// Adds a single-output node whose output gets a fresh name derived from
    /// `name`, and returns that output name: the usual step when one layer
    /// becomes a chain of nodes.
    pub fn op(
        &mut self,
        op_type: &str,
        name: &str,
        inputs: &[&str],
        attributes: Vec<AttributeProto>,
    ) -> Result<String> {
        let output = self.fresh_name(name);
        self.add_node(op_type, name, inputs, &[&output], attributes)?;
        Ok(output)
    }

    /// Adds a Constant node holding `value`, returns its output name.
    pub fn constant(&mut self, name: &str, value: TensorProto) -> Result<String> {
        self.op("Constant", name, &[], vec![crate::attr::tensor("value", value)])
    }

    fn fresh_node_name(&mut self, base: &str) -> String {
        let base = if base.is_empty() { "node" } else { base };
        if !self.node_names.contains(base) {
            return base.to_string();
        }
        (1..)
            .map(|n| format!("{base}_{n}"))
            .find(|c| !self.node_names.contains(c))
            .expect("an unused suffix exists")
    }

    /// The nodes added so far, in order.
    pub fn nodes(&self) -> &[NodeProto] {
        &self.graph.node
    }

    /// Checks that every graph output is defined and returns the graph.
    pub fn finish(self) -> Result<GraphProto> {
        for output in &self.graph.output {
            if !self.defined.contains_key(output.name()) {
                return Err(Error::UnknownOutput {
                    name: output.name().to_string(),
                });
            }
        }
        Ok(self.graph)
    }

    /// Finishes the graph and wraps it in a model with the opset import, the
    /// IR version that goes with it, and the producer and metadata fields.
    pub fn into_model(self, options: &ModelOptions) -> Result<ModelProto> {
        let opset = self.opset;
        let ir_version = ir_version_for_opset(opset)?;
        let graph = self.finish()?;
        let entry = |key: &str, value: &str| StringStringEntryProto {
            key: Some(key.to_string()),
            value: Some(value.to_string()),
        };
        let mut metadata_props = Vec::new();
        if let Some(source) = &options.source_model {
            metadata_props.push(entry("source_model", source));
        }
        metadata_props.push(entry("converter_version", &options.producer_version));
        metadata_props.extend(options.metadata.iter().map(|(k, v)| entry(k, v)));
        Ok(ModelProto {
            ir_version: Some(ir_version),
            producer_name: Some(PRODUCER_NAME.to_string()),
            producer_version: Some(options.producer_version.clone()),
            model_version: options.model_version,
            doc_string: options.doc_string.clone(),
            graph: Some(graph),
            opset_import: vec![OperatorSetIdProto {
                domain: Some(String::new()),
                version: Some(opset),
            }],
            metadata_props,
            ..Default::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attr;
    use prost::Message;

    #[test]
    fn ir_versions_follow_the_onnx_release_table() {
        assert_eq!(ir_version_for_opset(9).unwrap(), 4);
        assert_eq!(ir_version_for_opset(13).unwrap(), 7);
        assert_eq!(ir_version_for_opset(17).unwrap(), 8);
        assert_eq!(ir_version_for_opset(18).unwrap(), 8);
        assert_eq!(ir_version_for_opset(19).unwrap(), 9);
        assert_eq!(ir_version_for_opset(27).unwrap(), 13);
        assert!(matches!(ir_version_for_opset(6), Err(Error::UnsupportedOpset { .. })));
        assert!(ir_version_for_opset(28).is_err());
    }

    #[test]
    fn fresh_names_avoid_reserved_and_defined_names() {
        let mut g = GraphBuilder::new("g");
        // VGG-style blob names: a generated "conv1_1" must not steal a real one.
        g.reserve(["conv1_1", "conv1_1_1"]);
        g.add_input("conv1", &dims(&[1])).unwrap();
        assert_eq!(g.fresh_name("conv1"), "conv1_2");
        assert_eq!(g.fresh_name("conv1"), "conv1_3");
        assert_eq!(g.fresh_name("x"), "x");
        assert_eq!(g.fresh_name("x"), "x_1");
        // A reserved name can still be defined exactly, once.
        g.add_node("Relu", "r", &["conv1"], &["conv1_1"], vec![]).unwrap();
        let again = g.add_node("Relu", "r", &["conv1"], &["conv1_1"], vec![]);
        assert!(matches!(again, Err(Error::DuplicateTensor { .. })), "{again:?}");
    }

    #[test]
    fn undefined_inputs_and_outputs_are_errors() {
        let mut g = GraphBuilder::new("g");
        g.add_input("data", &dims(&[1, 3])).unwrap();
        let err = g.add_node("Relu", "relu", &["nope"], &["y"], vec![]).unwrap_err();
        assert!(err.to_string().contains("'nope'"), "{err}");
        g.add_output("missing", None).unwrap();
        assert!(matches!(g.finish(), Err(Error::UnknownOutput { .. })));
    }

    #[test]
    fn node_names_are_unique() {
        let mut g = GraphBuilder::new("g");
        g.add_input("x", &dims(&[2])).unwrap();
        let a = g.op("Relu", "layer", &["x"], vec![]).unwrap();
        let b = g.op("Relu", "layer", &[&a], vec![]).unwrap();
        let names: Vec<_> = g.nodes().iter().map(|n| n.name().to_string()).collect();
        assert_eq!(names, ["layer", "layer_1"]);
        assert_eq!((a.as_str(), b.as_str()), ("layer", "layer_1"));
    }

    /// Conv + Relu by hand, serialized and parsed back unchanged.
    #[test]
    fn conv_relu_round_trip() {
        let mut g = GraphBuilder::new("tiny");
        g.add_input("data", &[Dim::from("N"), 1.into(), 4.into(), 4.into()])
            .unwrap();
        let w = ndarray::Array::from_shape_fn(ndarray::IxDyn(&[2, 1, 3, 3]), |i| (i[0] * 9 + i[2] * 3 + i[3]) as f32);
        let w = g.initializer_f32("conv/W", w.view()).unwrap();
        let b = g
            .initializer_f32_owned("conv/b", ndarray::arr1(&[0.5f32, -0.5]).into_dyn())
            .unwrap();
        g.add_node(
            "Conv",
            "conv",
            &["data", &w, &b],
            &["conv"],
            vec![
                attr::ints("kernel_shape", &[3, 3]),
                attr::ints("pads", &[1, 1, 1, 1]),
                attr::ints("strides", &[1, 1]),
                attr::int("group", 1),
            ],
        )
        .unwrap();
        let relu = g.op("Relu", "relu", &["conv"], vec![]).unwrap();
        g.add_output(&relu, Some(&[Dim::from("N"), 2.into(), 4.into(), 4.into()]))
            .unwrap();
        let model = g
            .into_model(&ModelOptions {
                source_model: Some("hand-made".into()),
                ..Default::default()
            })
            .unwrap();

        let bytes = model.encode_to_vec();
        let back = ModelProto::decode(bytes.as_slice()).unwrap();
        assert_eq!(back, model);
        assert_eq!(back.ir_version(), 8);
        assert_eq!(back.opset_import[0].version(), 17);
        assert_eq!(back.producer_name(), "netsurgeon");
        let meta: Vec<_> = back.metadata_props.iter().map(|e| (e.key(), e.value())).collect();
        assert_eq!(
            meta,
            [("source_model", "hand-made"), ("converter_version", CONVERTER_VERSION)]
        );
        let graph = back.graph.as_ref().unwrap();
        assert_eq!(graph.node.len(), 2);
        assert_eq!(
            graph.node[0].attribute[0].r#type(),
            crate::onnx::attribute_proto::AttributeType::Ints
        );
        let w_back = tensor::f32_array(&graph.initializer[0]).unwrap();
        assert_eq!(w_back.shape(), &[2, 1, 3, 3]);
        assert_eq!(w_back[[1, 0, 2, 2]], 17.0);
        let dim = &graph.input[0].r#type.as_ref().unwrap();
        let Some(type_proto::Value::TensorType(t)) = &dim.value else {
            panic!("tensor type")
        };
        assert_eq!(
            t.shape.as_ref().unwrap().dim[0].value,
            Some(tensor_shape_proto::dimension::Value::DimParam("N".into()))
        );
    }
}
