//! Conv, ConvTranspose, MaxPool and AveragePool over 1-D `(N, C, L)`
//! tensors (PyTorch's Conv1d, MaxPool1d): the same op over `(N, C, L, 1)`,
//! whose windows are 1 wide along the added axis. A Reshape in, the 2-D
//! mapping of a copy of the node whose kernel_shape, strides, dilations,
//! pads, output_padding and output_shape are extended for that axis (and
//! whose weight gains a trailing axis of 1), a Reshape out.

use onnx_export::onnx::NodeProto;

use super::reshape_param;
use crate::cx::{Cx, Value};
use crate::error::{OpError, OpResult};
use crate::node::Node;
use crate::registry::{MapFn, Mapped};

/// True when input 0 of `node` is a 3-D blob.
pub(crate) fn is_1d(cx: &Cx, node: &Node) -> bool {
    matches!(cx.value(node, 0), Ok(Value::Blob(b)) if b.rank() == 3)
}

/// `node` mapped by `map2d` over its input seen as `(N, C, L, 1)`.
pub(crate) fn as_2d(cx: &mut Cx, node: &Node, map2d: MapFn) -> OpResult<Mapped> {
    let x = cx.blob(node, 0)?;
    let x4 = cx.part(node, "as_2d", vec![x.shape[0], x.shape[1], x.shape[2], 1]);
    let dims: Vec<i64> = x4.shape.iter().map(|&d| d as i64).collect();
    cx.layer(node, "as_2d", "Reshape", &[&x], &[&x4], vec![], |l| {
        l.reshape_param = Some(reshape_param(dims))
    });
    let mut proto: NodeProto = node.proto.clone();
    cx.values.insert(x4.name.clone(), Value::Blob(x4.clone()));
    proto.input[0] = x4.name.clone();
    if cx.constant(node, 1)?.is_some_and(|w| w.shape().len() == 3) {
        // Moved, not copied, when this node is the weight's only reader.
        if let Some(w) = cx.take_constant(node, 1)? {
            let mut shape = w.shape().to_vec();
            shape.push(1);
            let w4 = w
                .into_f32()
                .into_shape_with_order(ndarray::IxDyn(&shape))
                .map_err(|e| OpError::Invalid(format!("the weight: {e}")))?;
            let name = format!("{}/as_2d", proto.input[1]);
            cx.values.insert(name.clone(), Value::Const(crate::Const::F32(w4)));
            proto.input[1] = name;
        }
    }
    for a in &mut proto.attribute {
        match a.name() {
            "kernel_shape" | "strides" | "dilations" | "output_shape" => a.ints.push(1),
            "output_padding" => a.ints.push(0),
            "pads" if a.ints.len() == 2 => a.ints = vec![a.ints[0], 0, a.ints[1], 0],
            _ => {}
        }
    }
    // A tensor name of its own for the 2-D result, kept from every part.
    let mut out4_name = format!("{}/2d", proto.output[0]);
    while !cx.blob_names.insert(crate::cx::sanitize(&out4_name)) {
        out4_name.push('_');
    }
    proto.output[0] = out4_name.clone();
    let inner = Node {
        proto: &proto,
        opset: node.opset,
        name: node.name,
    };
    let mapped = map2d(cx, &inner)?;
    let y4 = match cx.values.get(&out4_name) {
        Some(Value::Blob(b)) => b.clone(),
        _ => return Err(OpError::Invalid("the 2-D mapping made no output".into())),
    };
    let out = cx.output_blob(node, 0, y4.shape[..3].to_vec());
    let dims: Vec<i64> = out.shape.iter().map(|&d| d as i64).collect();
    cx.layer(node, "as_1d", "Reshape", &[&y4], &[&out], vec![], |l| {
        l.reshape_param = Some(reshape_param(dims))
    });
    Mapped::composed(format!("1-D as 2-D over (N, C, L, 1): {}", mapped.note))
}
