//! Pad with zeros (constant mode, value 0) over H and W: Caffe has no Pad
//! layer, so the pad is kept and taken into the pads of the Conv or
//! AveragePool (count_include_pad 1) that reads it, where zeros are what
//! Caffe pads with. Any other consumer, value or mode is refused.

use crate::cx::{Cx, Value};
use crate::error::OpResult;
use crate::node::Node;
use crate::refuse;
use crate::registry::Mapped;

pub fn pad(cx: &mut Cx, node: &Node) -> OpResult<Mapped> {
    node.arity(1, 4, Some(1))?;
    let x = cx.blob(node, 0)?;
    let mode = node.string("mode", "constant")?;
    if mode != "constant" {
        refuse!("mode '{mode}': Caffe pads with zeros only");
    }
    // Opset 11 moved pads and the value from attributes to inputs 1 and 2.
    let (pads, value) = if node.opset < 11 {
        let pads = node
            .ints("pads")
            .ok_or_else(|| crate::OpError::Invalid("no pads".into()))?
            .to_vec();
        (pads, node.float("value", 0.0)?)
    } else {
        let pads = cx.required_constant(node, 1)?.ints();
        let value = cx.constant(node, 2)?.and_then(|c| c.scalar()).unwrap_or(0.0);
        if node.has_input(3) {
            refuse!("the axes input (opset 18) is not mapped yet");
        }
        (pads, value)
    };
    if value != 0.0 {
        refuse!("pads with the value {value}: Caffe pads with zeros only");
    }
    let rank = x.rank();
    if pads.len() != 2 * rank {
        crate::invalid!("{} pads for rank {rank}", pads.len());
    }
    if pads.iter().any(|&p| p < 0) {
        refuse!("negative pads {pads:?} (a crop) are not mapped");
    }
    let pairs: Vec<(usize, usize)> = (0..rank).map(|i| (pads[i] as usize, pads[i + rank] as usize)).collect();
    if pairs.iter().all(|&p| p == (0, 0)) {
        cx.set_output(node, 0, Value::Blob(x));
        return Mapped::removed("pads of 0");
    }
    if rank != 4 || pairs[0] != (0, 0) || pairs[1] != (0, 0) {
        refuse!("pads {pads:?} pad the batch or channel axes; only H and W can be taken into a following layer's pads");
    }
    cx.set_output(
        node,
        0,
        Value::Padded {
            source: x,
            pads: pairs,
            node: node.name().to_string(),
        },
    );
    Mapped::merged("zero padding taken into the pads of the Conv or AveragePool that reads it")
}
