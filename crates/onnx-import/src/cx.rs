//! The import context: the value of every ONNX tensor (a Caffe blob with its
//! ONNX shape, a constant, or a pending zero Pad), the Caffe layers emitted
//! so far, and the naming rules (blobs carry the ONNX tensor names; layers
//! the node names, `<node>/<part>` for the parts of a composition).

use std::collections::{HashMap, HashSet};

use caffe_io::blob::array_into_blob;
use caffe_io::proto::LayerParameter;
use ndarray::ArrayD;

use crate::constant::Const;
use crate::dialect::Dialect;
use crate::error::{OpError, OpResult};
use crate::node::Node;

/// A tensor that is a Caffe blob: its name and its (static) ONNX shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    pub name: String,
    pub shape: Vec<usize>,
}

impl Blob {
    /// The rank.
    pub fn rank(&self) -> usize {
        self.shape.len()
    }
}

/// The value of an ONNX tensor during import.
#[derive(Debug, Clone)]
pub enum Value {
    /// Computed by Caffe layers.
    Blob(Blob),
    /// Known at import.
    Const(Const),
    /// The zero padding of `source` by a Pad node, not emitted yet: the next
    /// Conv or AveragePool takes it into its own pads (Caffe has no Pad).
    Padded {
        source: Blob,
        /// Per axis of `source`: (before, after).
        pads: Vec<(usize, usize)>,
        node: String,
    },
    /// Downstream of a refused node.
    Unavailable,
}

/// The import context the op mappings write to.
pub struct Cx {
    pub(crate) dialect: Dialect,
    pub(crate) values: HashMap<String, Value>,
    pub(crate) layers: Vec<LayerParameter>,
    pub(crate) blob_names: HashSet<String>,
    layer_names: HashSet<String>,
    /// Every blob emitted: (blob, its ONNX shape, the node that made it).
    pub(crate) expected: Vec<(String, Vec<usize>, String, String)>,
    /// Layers emitted for the current node.
    pub(crate) node_layers: Vec<String>,
    /// Layers renamed after the graph output they make: (old, new).
    pub(crate) renamed_layers: Vec<(String, String)>,
    /// How many node inputs and graph outputs read each tensor.
    pub(crate) uses: HashMap<String, usize>,
    /// Whether approximate mappings may be written.
    pub(crate) allow_approximate: bool,
    /// The measured error of the current node's approximation.
    pub(crate) approximation: Option<f64>,
}

impl Cx {
    pub(crate) fn new(dialect: Dialect, onnx_names: impl IntoIterator<Item = String>) -> Cx {
        Cx {
            dialect,
            values: HashMap::new(),
            layers: Vec::new(),
            // ONNX names are reserved for the tensors they name, so that a
            // part's blob never takes a name a later tensor needs.
            blob_names: onnx_names.into_iter().map(|n| sanitize(&n)).collect(),
            layer_names: HashSet::new(),
            expected: Vec::new(),
            node_layers: Vec::new(),
            renamed_layers: Vec::new(),
            uses: HashMap::new(),
            allow_approximate: false,
            approximation: None,
        }
    }

    /// True when output `i` of `node` is read by a node or is a graph
    /// output (an op need not compute the outputs nothing reads).
    pub fn output_read(&self, node: &Node, i: usize) -> bool {
        node.outputs()
            .get(i)
            .is_some_and(|n| !n.is_empty() && self.uses.get(n).is_some_and(|&u| u > 0))
    }

    /// Asks to write an approximation of `what` whose largest absolute
    /// error is `max_error`: refused unless approximations are allowed.
    pub fn approximate(&mut self, what: &str, max_error: f64) -> OpResult<()> {
        if !self.allow_approximate {
            return Err(OpError::Refuse(format!(
                "{what}: no Caffe layer computes it exactly; --allow-approximate writes an approximation within \
                 {max_error:.1e} (absolute)"
            )));
        }
        self.approximation = Some(max_error);
        Ok(())
    }

    /// The dialect the net is written for.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The value of input `i` of `node`.
    pub fn value(&self, node: &Node, i: usize) -> OpResult<&Value> {
        let name = node
            .inputs()
            .get(i)
            .filter(|n| !n.is_empty())
            .ok_or_else(|| OpError::Invalid(format!("input {i} is missing")))?;
        self.values
            .get(name)
            .ok_or_else(|| OpError::Invalid(format!("input '{name}' is not defined by an earlier node")))
    }

    /// Input `i` as a Caffe blob.
    pub fn blob(&self, node: &Node, i: usize) -> OpResult<Blob> {
        match self.value(node, i)? {
            Value::Blob(b) => Ok(b.clone()),
            Value::Const(_) => Err(OpError::Refuse(format!(
                "input {i} ('{}') is a constant where Caffe needs a blob computed from the inputs",
                node.inputs()[i]
            ))),
            Value::Padded { node: pad, .. } => Err(OpError::Refuse(format!(
                "input {i} is the output of the zero Pad '{pad}', which Caffe can only express folded into a \
                 following Conv or AveragePool (count_include_pad 1)"
            ))),
            Value::Unavailable => Err(OpError::Invalid("input is downstream of a refused node".into())),
        }
    }

    /// Input `i` as a constant; None when the optional input is omitted.
    pub fn constant(&self, node: &Node, i: usize) -> OpResult<Option<&Const>> {
        if !node.has_input(i) {
            return Ok(None);
        }
        match self.value(node, i)? {
            Value::Const(c) => Ok(Some(c)),
            _ => Err(OpError::Refuse(format!(
                "input {i} ('{}') is computed at run time; Caffe needs it constant (an initializer, or computed \
                 from shapes and constants only)",
                node.inputs()[i]
            ))),
        }
    }

    /// Input `i` as an owned constant: moved out when this node is its only
    /// reader (a layer's weights: no copy), else a copy.
    pub fn take_constant(&mut self, node: &Node, i: usize) -> OpResult<Option<Const>> {
        if self.constant(node, i)?.is_none() {
            return Ok(None);
        }
        let name = &node.inputs()[i];
        if self.uses.get(name).copied().unwrap_or(0) <= 1 {
            if let Some(Value::Const(c)) = self.values.remove(name) {
                return Ok(Some(c));
            }
        }
        Ok(self.constant(node, i)?.cloned())
    }

    /// Input `i` as a constant that must be there.
    pub fn required_constant(&self, node: &Node, i: usize) -> OpResult<&Const> {
        self.constant(node, i)?
            .ok_or_else(|| OpError::Invalid(format!("input {i} is missing")))
    }

    /// Defines output `i` of `node` as a value.
    pub fn set_output(&mut self, node: &Node, i: usize, value: Value) {
        if let Some(name) = node.outputs().get(i).filter(|n| !n.is_empty()) {
            self.values.insert(name.clone(), value);
        }
    }

    /// The Caffe blob name for output `i` of `node` (its ONNX name,
    /// sanitized), with its shape recorded for the final check.
    pub fn output_blob(&mut self, node: &Node, i: usize, shape: Vec<usize>) -> Blob {
        let onnx = node.outputs().get(i).cloned().unwrap_or_default();
        let name = if onnx.is_empty() {
            self.part_blob(node, &format!("out{i}"))
        } else {
            sanitize(&onnx)
        };
        self.expected.push((
            name.clone(),
            shape.clone(),
            node.name().to_string(),
            node.op_type().to_string(),
        ));
        let blob = Blob { name, shape };
        self.set_output(node, i, Value::Blob(blob.clone()));
        blob
    }

    /// A fresh blob name for a part of a composition, `<output>/<part>`.
    fn part_blob(&mut self, node: &Node, part: &str) -> String {
        let base = node
            .outputs()
            .first()
            .map(|o| sanitize(o))
            .unwrap_or_else(|| sanitize(node.name()));
        unique(&mut self.blob_names, &format!("{base}/{part}"))
    }

    /// A fresh intermediate blob of a composition, with its shape.
    pub fn part(&mut self, node: &Node, part: &str, shape: Vec<usize>) -> Blob {
        let name = self.part_blob(node, part);
        self.expected.push((
            name.clone(),
            shape.clone(),
            node.name().to_string(),
            node.op_type().to_string(),
        ));
        Blob { name, shape }
    }

    /// Emits one layer for `node`: named after the node (`part` "" ) or
    /// `<node>/<part>`, with its params, configured by `configure`.
    // What a Caffe layer is: its name (node, part), type, wiring, params and
    // fields; a struct for them would only rename the arguments.
    #[allow(clippy::too_many_arguments)]
    pub fn layer(
        &mut self,
        node: &Node,
        part: &str,
        type_name: &str,
        bottoms: &[&Blob],
        tops: &[&Blob],
        params: Vec<ArrayD<f32>>,
        configure: impl FnOnce(&mut LayerParameter),
    ) -> String {
        let base = sanitize(node.name());
        let wanted = if part.is_empty() {
            base
        } else {
            format!("{base}/{part}")
        };
        let name = unique(&mut self.layer_names, &wanted);
        let mut layer = LayerParameter {
            name: Some(name.clone()),
            r#type: Some(type_name.to_string()),
            bottom: bottoms.iter().map(|b| b.name.clone()).collect(),
            top: tops.iter().map(|t| t.name.clone()).collect(),
            ..Default::default()
        };
        configure(&mut layer);
        layer.blobs = params.into_iter().map(array_into_blob).collect();
        self.layers.push(layer);
        self.node_layers.push(name.clone());
        name
    }

    /// The slice `[start, start + len)` of `input` along `axis`, as a Slice
    /// layer whose other pieces go to a Silence layer (Caffe 1.0 has no
    /// single-output crop by offsets: Crop needs a reference blob). Returns
    /// `input` when the slice is all of it.
    #[allow(clippy::too_many_arguments)]
    pub fn slice(
        &mut self,
        node: &Node,
        part: &str,
        input: &Blob,
        axis: usize,
        start: usize,
        len: usize,
        out: Option<Blob>,
    ) -> Blob {
        let dim = input.shape[axis];
        if start == 0 && len == dim {
            return input.clone();
        }
        let mut shape = input.shape.clone();
        shape[axis] = len;
        let kept = out.unwrap_or_else(|| self.part(node, part, shape.clone()));
        let mut points = Vec::new();
        let mut tops: Vec<Blob> = Vec::new();
        let mut discards: Vec<Blob> = Vec::new();
        if start > 0 {
            points.push(start as u32);
            let mut s = input.shape.clone();
            s[axis] = start;
            let d = self.part(node, &format!("{part}_before"), s);
            tops.push(d.clone());
            discards.push(d);
        }
        tops.push(kept.clone());
        if start + len < dim {
            points.push((start + len) as u32);
            let mut s = input.shape.clone();
            s[axis] = dim - start - len;
            let d = self.part(node, &format!("{part}_after"), s);
            tops.push(d.clone());
            discards.push(d);
        }
        let top_refs: Vec<&Blob> = tops.iter().collect();
        self.layer(node, part, "Slice", &[input], &top_refs, vec![], |l| {
            l.slice_param = Some(caffe_io::proto::SliceParameter {
                axis: Some(axis as i32),
                slice_point: points,
                ..Default::default()
            });
        });
        let discard_refs: Vec<&Blob> = discards.iter().collect();
        self.layer(
            node,
            &format!("{part}_silence"),
            "Silence",
            &discard_refs,
            &[],
            vec![],
            |_| {},
        );
        kept
    }
}

/// A name Caffe's text format and OpenCV take as is: control characters,
/// whitespace and quotes become '_'; an empty name becomes "_".
pub fn sanitize(name: &str) -> String {
    if name.is_empty() {
        return "_".into();
    }
    name.chars()
        .map(|c| {
            if c.is_whitespace() || c.is_control() || c == '"' || c == '\'' || c == '\\' {
                '_'
            } else {
                c
            }
        })
        .collect()
}

fn unique(taken: &mut HashSet<String>, wanted: &str) -> String {
    if taken.insert(wanted.to_string()) {
        return wanted.to_string();
    }
    (1..)
        .map(|i| format!("{wanted}_{i}"))
        .find(|n| taken.insert(n.clone()))
        .expect("an unused name")
}
