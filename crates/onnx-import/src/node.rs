//! One ONNX node as the op mappings see it: its name, inputs and outputs,
//! typed attribute access with ONNX's defaults, and the opset it is read at
//! (the version adapters ask it which form of the op they have).

use onnx_export::onnx::{attribute_proto::AttributeType, AttributeProto, NodeProto};

use crate::error::{OpError, OpResult};

/// A node of the graph, at the opset of its domain.
#[derive(Debug, Clone, Copy)]
pub struct Node<'a> {
    pub(crate) proto: &'a NodeProto,
    /// The version of the default ONNX domain the model imports.
    pub opset: i64,
    pub(crate) name: &'a str,
}

impl<'a> Node<'a> {
    /// The node's name (its `op_type` and index when the model gives none).
    pub fn name(&self) -> &'a str {
        self.name
    }

    /// The ONNX op type.
    pub fn op_type(&self) -> &'a str {
        self.proto.op_type()
    }

    /// Input tensor names ("" for an omitted optional input).
    pub fn inputs(&self) -> &'a [String] {
        &self.proto.input
    }

    /// Output tensor names.
    pub fn outputs(&self) -> &'a [String] {
        &self.proto.output
    }

    /// True when input `i` is given (present and not "").
    pub fn has_input(&self, i: usize) -> bool {
        self.proto.input.get(i).is_some_and(|n| !n.is_empty())
    }

    /// The attribute of this name.
    pub fn attr(&self, name: &str) -> Option<&'a AttributeProto> {
        self.proto.attribute.iter().find(|a| a.name() == name)
    }

    /// An INT attribute, or its default.
    pub fn int(&self, name: &str, default: i64) -> OpResult<i64> {
        match self.attr(name) {
            None => Ok(default),
            Some(a) if a.i.is_some() || a.r#type() == AttributeType::Int => Ok(a.i()),
            Some(_) => Err(OpError::Invalid(format!("attribute '{name}' is not an INT"))),
        }
    }

    /// A FLOAT attribute, or its default.
    pub fn float(&self, name: &str, default: f32) -> OpResult<f32> {
        match self.attr(name) {
            None => Ok(default),
            Some(a) if a.f.is_some() || a.r#type() == AttributeType::Float => Ok(a.f()),
            Some(_) => Err(OpError::Invalid(format!("attribute '{name}' is not a FLOAT"))),
        }
    }

    /// An INTS attribute, if present.
    pub fn ints(&self, name: &str) -> Option<&'a [i64]> {
        self.attr(name).map(|a| a.ints.as_slice())
    }

    /// A FLOATS attribute, if present.
    pub fn floats(&self, name: &str) -> Option<&'a [f32]> {
        self.attr(name).map(|a| a.floats.as_slice())
    }

    /// A STRING attribute, or its default.
    pub fn string(&self, name: &str, default: &str) -> OpResult<String> {
        match self.attr(name) {
            None => Ok(default.to_string()),
            Some(a) => String::from_utf8(a.s().to_vec())
                .map_err(|_| OpError::Invalid(format!("attribute '{name}' is not UTF-8"))),
        }
    }

    /// Fails unless the node has between `min` and `max` inputs and exactly
    /// `outputs` outputs (`None`: any number).
    pub fn arity(&self, min: usize, max: usize, outputs: Option<usize>) -> OpResult {
        let n = self.proto.input.len();
        if n < min || n > max {
            return Err(OpError::Invalid(format!(
                "has {n} inputs; {} takes {min} to {max}",
                self.op_type()
            )));
        }
        if let Some(o) = outputs {
            if self.proto.output.len() != o {
                return Err(OpError::Invalid(format!(
                    "has {} outputs; expected {o}",
                    self.proto.output.len()
                )));
            }
        }
        Ok(())
    }
}

/// An axis attribute made non-negative for a tensor of rank `rank`.
pub fn normalize_axis(axis: i64, rank: usize) -> OpResult<usize> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if a < 0 || a >= r.max(1) {
        return Err(OpError::Invalid(format!("axis {axis} is out of range for rank {rank}")));
    }
    Ok(a as usize)
}
