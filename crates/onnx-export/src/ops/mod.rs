//! Caffe layer -> ONNX nodes, one module per layer family (mirroring
//! graph-ir's `ops`). Each mapping reproduces Caffe's arithmetic, not just its
//! intent: where an ONNX operator differs (average pooling's divisor, LRN
//! within a channel, ArgMax's float output) the mapping composes the exact
//! Caffe result from several nodes. Shapes come from the net's own shape
//! inference, so every node's output shape is the Caffe blob's.

mod activation;
mod argmax;
mod batch_norm;
mod concat;
mod conv;
mod crop;
mod eltwise;
mod embed;
mod inner_product;
mod lrn;
mod mvn;
mod normalize;
mod parameter;
mod permute;
mod pool;
mod prior_box;
mod reduction;
mod reshape;
mod scale;
mod shuffle_channel;
mod softmax;
mod tile;

use graph_ir::{Layer, Op};
use ndarray::ArrayD;

use crate::attr;
use crate::builder::GraphBuilder;
use crate::error::{Error, Result};
use crate::onnx::AttributeProto;
use crate::payloads::Payloads;

/// One layer being exported: its ONNX inputs (one per bottom), the tensor
/// names its tops must be written to, and the shapes of both.
pub(crate) struct LayerCx<'n, 'b> {
    pub g: &'b mut GraphBuilder,
    pub payloads: &'b mut Payloads<'n>,
    pub layer: &'n Layer,
    pub inputs: Vec<String>,
    pub in_shapes: Vec<Vec<usize>>,
    pub out_shapes: Vec<Vec<usize>>,
    /// The tensor each top must end up in (exact names, already chosen).
    pub outputs: Vec<String>,
    /// The net's batch size when the export makes it symbolic: tensors whose
    /// first axis has this size are taken to be batched.
    pub batch: Option<usize>,
    /// Per input, per axis: whether its size follows a symbolic spatial size
    /// of the graph inputs (`in_shapes` then only holds the export-time size).
    pub in_free: Vec<Vec<bool>>,
    /// The same for each top, as [`free_axes`] propagates it.
    pub out_free: Vec<Vec<bool>>,
}

impl<'n> LayerCx<'n, '_> {
    pub fn name(&self) -> &'n str {
        self.layer.name()
    }

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

/// Exports one layer: adds its nodes, writing each top to `cx.outputs`.
pub(crate) fn export_layer(cx: &mut LayerCx<'_, '_>) -> Result<()> {
    let op = cx.layer.op().clone();
    match &op {
        Op::Input(_) | Op::Data(_) => unreachable!("inputs are declared by the caller"),
        Op::Convolution(p) => conv::convolution(cx, p, false),
        Op::Deconvolution(p) => conv::convolution(cx, p, true),
        Op::InnerProduct(p) => inner_product::inner_product(cx, p),
        Op::Pooling(p) => pool::pooling(cx, p),
        Op::Lrn(p) => lrn::lrn(cx, p),
        Op::ReLU { .. }
        | Op::PReLU { .. }
        | Op::Sigmoid
        | Op::TanH
        | Op::Elu { .. }
        | Op::AbsVal
        | Op::Bnll
        | Op::Power { .. }
        | Op::Exp { .. }
        | Op::Log { .. }
        | Op::Clip { .. }
        | Op::Swish { .. }
        | Op::Threshold { .. }
        | Op::Dropout { .. } => activation::activation(cx, &op),
        Op::Softmax { axis } => softmax::softmax(cx, *axis),
        Op::Concat { axis } => concat::concat(cx, *axis),
        Op::Slice(p) => concat::slice(cx, p),
        Op::Split => concat::split(cx),
        Op::Eltwise(p) => eltwise::eltwise(cx, p),
        Op::BatchNorm(p) => batch_norm::batch_norm(cx, p),
        Op::Scale(p) => scale::scale(cx, p),
        Op::Bias(p) => scale::bias(cx, p),
        Op::Flatten { .. } | Op::Reshape(_) => reshape::reshape(cx),
        Op::Crop(p) => crop::crop(cx, p),
        Op::ArgMax(p) => argmax::argmax(cx, p),
        Op::Mvn(p) => mvn::mvn(cx, p),
        Op::Tile { axis, tiles } => tile::tile(cx, *axis, *tiles),
        Op::Reduction(p) => reduction::reduction(cx, p),
        // Silence only keeps Caffe from reporting its bottoms as outputs.
        Op::Silence => Ok(()),
        Op::Permute { order } => permute::permute(cx, order),
        Op::Normalize(p) => normalize::normalize(cx, p),
        Op::PriorBox(p) => prior_box::prior_box(cx, p),
        Op::ShuffleChannel { group } => shuffle_channel::shuffle_channel(cx, *group),
        Op::Embed { bias_term, .. } => embed::embed(cx, *bias_term),
        Op::Parameter { .. } => parameter::parameter(cx),
        Op::Loss(_) | Op::Accuracy(_) => {
            Err(cx.unsupported("loss and accuracy layers are for training; export a deploy net (or remove the layer)"))
        }
        Op::Custom { .. } => Err(cx.unsupported(
            "netsurgeon does not model this layer type (a Python layer, or a layer from a fork of Caffe?); \
             remove or replace the layer to export the net",
        )),
    }
}

/// Which axes of each top follow a symbolic spatial size of the graph
/// inputs, given the bottoms' (`in_free`). Layers that cannot carry a
/// symbolic axis through (an InnerProduct over H and W, a Reshape) report
/// fixed tops here and refuse in their mapping.
pub(crate) fn free_axes(
    op: &Op,
    in_free: &[Vec<bool>],
    in_shapes: &[Vec<usize>],
    out_shapes: &[Vec<usize>],
) -> Vec<Vec<bool>> {
    let fixed = |shape: &Vec<usize>| vec![false; shape.len()];
    if !in_free.iter().any(|f| f.contains(&true)) {
        return out_shapes.iter().map(fixed).collect();
    }
    let same_as = |i: usize, shape: &Vec<usize>| -> Vec<bool> {
        let f = in_free.get(i).cloned().unwrap_or_default();
        if f.len() == shape.len() {
            f
        } else {
            fixed(shape)
        }
    };
    let axis_of = |axis: i32, ndim: usize| graph_ir::shape::canonical_axis(axis, ndim);
    match op {
        // One top per bottom, each with its own bottom's symbolic axes.
        Op::Convolution(_) | Op::Deconvolution(_) => {
            out_shapes.iter().enumerate().map(|(i, s)| same_as(i, s)).collect()
        }
        Op::Pooling(p) if p.global => out_shapes
            .iter()
            .map(|s| {
                let mut f = same_as(0, s);
                f.iter_mut().skip(2).for_each(|v| *v = false);
                f
            })
            .collect(),
        // Element-wise (or along one axis) on the first bottom's shape.
        Op::Pooling(_)
        | Op::Lrn(_)
        | Op::ReLU { .. }
        | Op::PReLU { .. }
        | Op::Sigmoid
        | Op::TanH
        | Op::Elu { .. }
        | Op::AbsVal
        | Op::Bnll
        | Op::Power { .. }
        | Op::Exp { .. }
        | Op::Log { .. }
        | Op::Clip { .. }
        | Op::Swish { .. }
        | Op::Threshold { .. }
        | Op::Dropout { .. }
        | Op::Mvn(_)
        | Op::Normalize(_)
        | Op::ShuffleChannel { .. }
        | Op::Tile { .. }
        | Op::Softmax { .. }
        | Op::BatchNorm(_)
        | Op::Scale(_)
        | Op::Bias(_)
        | Op::Slice(_)
        | Op::Split => out_shapes.iter().map(|s| same_as(0, s)).collect(),
        // Any bottom's symbolic axis makes the top's symbolic.
        Op::Concat { .. } | Op::Eltwise(_) => out_shapes
            .iter()
            .map(|s| {
                (0..s.len())
                    .map(|a| in_free.iter().any(|f| f.get(a) == Some(&true)))
                    .collect()
            })
            .collect(),
        // The cropped axes take bottom 1's size, the others bottom 0's.
        Op::Crop(p) => out_shapes
            .iter()
            .map(|s| {
                let from = axis_of(p.axis, s.len()).unwrap_or(0);
                let (f0, f1) = (same_as(0, s), in_free.get(1).cloned().unwrap_or_default());
                (0..s.len())
                    .map(|a| if a >= from { f1.get(a) == Some(&true) } else { f0[a] })
                    .collect()
            })
            .collect(),
        // The reduced axis becomes top_k long.
        Op::ArgMax(p) => match p.axis.and_then(|a| axis_of(a, in_shapes[0].len())) {
            Some(axis) => out_shapes
                .iter()
                .map(|s| {
                    let mut f = same_as(0, s);
                    if let Some(v) = f.get_mut(axis) {
                        *v = false;
                    }
                    f
                })
                .collect(),
            None => out_shapes.iter().map(fixed).collect(),
        },
        // The leading axes are the bottom's (Reduction keeps them, Embed appends num_output).
        Op::Reduction(_) | Op::Embed { .. } => out_shapes
            .iter()
            .map(|s| {
                let f = in_free.first().cloned().unwrap_or_default();
                (0..s.len()).map(|a| f.get(a) == Some(&true)).collect()
            })
            .collect(),
        Op::Silence => Vec::new(),
        // Each top axis is the bottom axis it came from.
        Op::Permute { order } => out_shapes
            .iter()
            .map(|s| {
                let f = in_free.first().cloned().unwrap_or_default();
                (0..s.len())
                    .map(|a| order.get(a).and_then(|&o| f.get(o)) == Some(&true))
                    .collect()
            })
            .collect(),
        // Fixed weights or target shapes: refused by their mappings when a
        // bottom axis is symbolic.
        Op::InnerProduct(_)
        | Op::Flatten { .. }
        | Op::Reshape(_)
        | Op::Input(_)
        | Op::Data(_)
        | Op::Loss(_)
        | Op::Accuracy(_)
        | Op::PriorBox(_)
        | Op::Parameter { .. }
        | Op::Custom { .. } => out_shapes.iter().map(fixed).collect(),
    }
}

/// A reduction over `axes` keeping them (size 1).
pub(crate) fn reduce(cx: &mut LayerCx<'_, '_>, op: &str, x: &str, axes: &[i64], what: &str) -> Result<String> {
    let output = cx.g.fresh_name(&format!("{}/{what}", cx.name()));
    reduce_into(cx, op, x, axes, true, what, &output)?;
    Ok(output)
}

/// A reduction over `axes` (non-empty) written to `output`, keeping the axes
/// or dropping them. The axes became an input in opset 13 for ReduceSum and
/// in opset 18 for the others.
pub(crate) fn reduce_into(
    cx: &mut LayerCx<'_, '_>,
    op: &str,
    x: &str,
    axes: &[i64],
    keepdims: bool,
    what: &str,
    output: &str,
) -> Result<()> {
    let keepdims = attr::int("keepdims", i64::from(keepdims));
    let axes_are_input = cx.g.opset() >= 18 || (op == "ReduceSum" && cx.g.opset() >= 13);
    if axes_are_input {
        let axes = cx.ints(&format!("{what}_axes"), axes)?;
        cx.node(op, &[x, &axes], &[output], vec![keepdims])
    } else {
        cx.node(op, &[x], &[output], vec![attr::ints("axes", axes), keepdims])
    }
}

/// `[a, b, ...]` as the i64 list ONNX attributes take.
pub(crate) fn i64s(values: &[usize]) -> Vec<i64> {
    values.iter().map(|&v| v as i64).collect()
}

/// ONNX `pads`: all begins, then all ends.
pub(crate) fn pads(begin: &[usize], end: &[usize]) -> AttributeProto {
    let mut v = i64s(begin);
    v.extend(i64s(end));
    attr::ints("pads", &v)
}

/// A rank-`n` shape of ones with `inner` at position `at` (for parameters
/// that broadcast along the remaining axes).
pub(crate) fn broadcast_dims(inner: &[usize], at: usize, ndim: usize) -> Vec<usize> {
    let mut dims = inner.to_vec();
    dims.extend(std::iter::repeat_n(1, ndim.saturating_sub(at + inner.len())));
    dims
}
