//! The context a lowering writes one layer's ONNX nodes through: the layer,
//! its bottoms' ONNX tensors and the tensors its tops must end up in, their
//! shapes (from the net's own shape inference, so every node's output shape
//! is the Caffe blob's), and which axes follow a symbolic input size.

use graph_ir::Layer;
use ndarray::ArrayD;

use crate::builder::GraphBuilder;
use crate::error::{Error, Result};
use crate::onnx::AttributeProto;
use crate::payloads::Payloads;

/// One layer being exported: its ONNX inputs (one per bottom), the tensor
/// names its tops must be written to, and the shapes of both. A lowering
/// adds its nodes through the methods here, writing top `i` to
/// [`LayerCx::out`]`(i)`.
pub struct LayerCx<'n, 'b> {
    pub(crate) g: &'b mut GraphBuilder,
    pub(crate) payloads: &'b mut Payloads<'n>,
    pub(crate) layer: &'n Layer,
    pub(crate) inputs: Vec<String>,
    pub(crate) in_shapes: Vec<Vec<usize>>,
    pub(crate) out_shapes: Vec<Vec<usize>>,
    /// The tensor each top must end up in (exact names, already chosen).
    pub(crate) outputs: Vec<String>,
    /// The net's batch size when the export makes it symbolic: tensors whose
    /// first axis has this size are taken to be batched.
    pub(crate) batch: Option<usize>,
    /// Per input, per axis: whether its size follows a symbolic spatial size
    /// of the graph inputs (`in_shapes` then only holds the export-time size).
    pub(crate) in_free: Vec<Vec<bool>>,
    /// The same for each top, as the op's `symbolic_axes` rule gives it.
    pub(crate) out_free: Vec<Vec<bool>>,
}

impl<'n> LayerCx<'n, '_> {
    /// The layer's name.
    pub fn name(&self) -> &'n str {
        self.layer.name()
    }

    /// The layer being exported (its parameter, params, bottoms and tops).
    pub fn layer(&self) -> &'n Layer {
        self.layer
    }

    /// The ONNX tensor holding bottom `i`.
    pub fn input(&self, i: usize) -> &str {
        &self.inputs[i]
    }

    /// The ONNX tensors of every bottom, in order.
    pub fn inputs(&self) -> &[String] {
        &self.inputs
    }

    /// The bottoms' shapes (at export time; see [`LayerCx::require_fixed`]
    /// for axes that follow a symbolic input size).
    pub fn in_shapes(&self) -> &[Vec<usize>] {
        &self.in_shapes
    }

    /// The tops' shapes, as the net inferred them.
    pub fn out_shapes(&self) -> &[Vec<usize>] {
        &self.out_shapes
    }

    /// The opset of the default domain the graph is written for.
    pub fn opset(&self) -> i64 {
        self.g.opset()
    }

    /// A fresh intermediate tensor name, `<layer>/<what>` made unique.
    pub fn fresh_name(&mut self, what: &str) -> String {
        self.g.fresh_name(&format!("{}/{what}", self.layer.name()))
    }

    /// An error naming the layer: what the lowering cannot do exactly.
    pub fn unsupported(&self, message: impl Into<String>) -> Error {
        Error::Unsupported {
            layer: self.layer.name().to_string(),
            type_name: self.layer.type_name().to_string(),
            message: message.into(),
        }
    }

    /// `axis` (possibly negative) as an index into input `input`'s axes.
    pub fn axis(&self, axis: i32, input: usize) -> Result<usize> {
        let ndim = self.in_shapes[input].len();
        graph_ir::shape::canonical_axis(axis, ndim)
            .ok_or_else(|| self.unsupported(format!("axis {axis} is out of range for {ndim} axes")))
    }

    /// Learnable param `index`, borrowed from the net as an initializer with
    /// `dims` (same element count; default: the param's own shape).
    pub fn param(&mut self, index: usize, suffix: &str, dims: Option<&[usize]>) -> Result<String> {
        let layer: &'n Layer = self.layer;
        let array = layer.params().get(index).ok_or_else(|| {
            self.unsupported(format!(
                "param {index} is missing (the layer has {})",
                layer.params().len()
            ))
        })?;
        let view = match dims {
            Some(d) if d != array.shape() => {
                let count: usize = d.iter().product();
                if count != array.len() {
                    return Err(
                        self.unsupported(format!("param {index} has shape {:?}, expected {d:?}", array.shape()))
                    );
                }
                match array.view().into_shape_with_order(ndarray::IxDyn(d)) {
                    Ok(v) => v,
                    // Not in C order: copy it under the wanted shape.
                    Err(_) => {
                        let owned = array
                            .as_standard_layout()
                            .into_owned()
                            .into_shape_with_order(ndarray::IxDyn(d))
                            .expect("same count, standard layout");
                        return self.owned(suffix, owned);
                    }
                }
            }
            _ => array.view(),
        };
        let base = format!("{}/{suffix}", self.name());
        self.g.initializer_f32_borrowed(self.payloads, &base, view)
    }

    /// A float initializer computed by the export.
    pub fn owned(&mut self, suffix: &str, array: ArrayD<f32>) -> Result<String> {
        let base = format!("{}/{suffix}", self.name());
        self.g.initializer_f32_owned(&base, array)
    }

    /// A float scalar (rank 0) initializer.
    pub fn scalar(&mut self, suffix: &str, value: f32) -> Result<String> {
        self.owned(suffix, ndarray::arr0(value).into_dyn())
    }

    /// A 1-D int64 initializer (shapes, axes, sizes).
    pub fn ints(&mut self, suffix: &str, values: &[i64]) -> Result<String> {
        let base = format!("{}/{suffix}", self.name());
        self.g.initializer_i64(&base, &[values.len()], values)
    }

    /// A node writing exactly `outputs`.
    pub fn node(&mut self, op_type: &str, inputs: &[&str], outputs: &[&str], attrs: Vec<AttributeProto>) -> Result<()> {
        let name = self.name();
        self.g.add_node(op_type, name, inputs, outputs, attrs)
    }

    /// A node with one new intermediate output, named `<layer>/<what>`.
    pub fn tmp(&mut self, op_type: &str, what: &str, inputs: &[&str], attrs: Vec<AttributeProto>) -> Result<String> {
        let output = self.g.fresh_name(&format!("{}/{what}", self.name()));
        let name = self.name();
        self.g.add_node(op_type, name, inputs, &[&output], attrs)?;
        Ok(output)
    }

    /// Top `i`'s output name.
    pub fn out(&self, i: usize) -> String {
        self.outputs[i].clone()
    }

    /// A Reshape of `x` (of static shape `x_shape`) to `shape`, a fixed shape
    /// from the net. With a symbolic batch the first target axis becomes -1
    /// (inferred from the element count), so it follows the batch whether
    /// it is the batch itself or the batch merged with the next axes (as in
    /// InnerProduct's flattening); only a reshape that moves a batched first
    /// axis elsewhere is refused.
    pub fn reshape(&mut self, x: &str, x_shape: &[usize], shape: &[usize], output: Option<&str>) -> Result<String> {
        let mut dims: Vec<i64> = shape.iter().map(|&d| d as i64).collect();
        if let (Some(b), Some(&d0)) = (self.batch.filter(|&b| b > 0), shape.first()) {
            let batched_input = x_shape.first().is_some_and(|&x0| x0 % b == 0);
            if batched_input && d0 % b != 0 {
                return Err(self.unsupported(format!(
                    "with a symbolic batch, reshaping {x_shape:?} to {shape:?} does not keep the batch axis first"
                )));
            }
            dims[0] = -1;
        }
        let target = self.ints("shape", &dims)?;
        match output {
            Some(out) => {
                self.node("Reshape", &[x, &target], &[out], vec![])?;
                Ok(out.to_string())
            }
            None => self.tmp("Reshape", "reshape", &[x, &target], vec![]),
        }
    }

    /// Fails for an operation along the batch axis when the batch is
    /// symbolic (its sizes would be baked in).
    pub fn fixed_axis(&self, axis: usize, what: &str) -> Result<()> {
        if axis == 0 && self.batch.is_some_and(|b| self.in_shapes[0].first() == Some(&b)) {
            return Err(self.unsupported(format!("{what} along the batch axis needs a fixed batch")));
        }
        Ok(())
    }

    /// Fails when any of `axes` of input `input` follows a symbolic spatial
    /// size, which the layer would bake into a constant (`why`).
    pub fn require_fixed(&self, input: usize, axes: std::ops::Range<usize>, why: &str) -> Result<()> {
        let free = &self.in_free[input];
        let bad: Vec<usize> = axes.filter(|&a| free.get(a) == Some(&true)).collect();
        if bad.is_empty() {
            return Ok(());
        }
        Err(self.unsupported(format!(
            "axes {bad:?} of bottom '{}' (shape {:?} at export) follow the input's symbolic height and width, \
             but {why}; export with fixed spatial dims",
            self.layer.bottoms().get(input).map_or("?", String::as_str),
            self.in_shapes[input],
        )))
    }

    /// Fails when bottom `other` has a fixed size on an axis where bottom 0's
    /// follows the input's symbolic size (or the reverse), for layers whose
    /// bottoms must match there (`axes` of bottom 0; bottom `other`'s axes
    /// start at `other_from`): at any other size the net would be invalid.
    pub fn require_same_free(&self, other: usize, axes: std::ops::Range<usize>, other_from: usize) -> Result<()> {
        let start = axes.start;
        for a in axes {
            let f0 = self.in_free[0].get(a) == Some(&true);
            let fo = self.in_free[other].get(a - start + other_from) == Some(&true);
            if f0 != fo {
                let (free, fixed) = if f0 { (0, other) } else { (other, 0) };
                let name = |i: usize| self.layer.bottoms().get(i).map_or("?", String::as_str).to_string();
                return Err(self.unsupported(format!(
                    "bottom '{}' follows the input's symbolic height and width where bottom '{}' (shape {:?}) has \
                     a fixed size, so the net only runs at its export size; export with fixed spatial dims",
                    name(free),
                    name(fixed),
                    self.in_shapes[fixed],
                )));
            }
        }
        Ok(())
    }

    /// An Identity from `x` to `output`.
    pub fn identity(&mut self, x: &str, output: &str) -> Result<()> {
        self.node("Identity", &[x], &[output], vec![])
    }
}
