//! Typed constructors for node attributes: each sets the value slot and the
//! `type` tag together, which ONNX (IR >= 3) requires and which is easy to forget
//! when filling an `AttributeProto` by hand.

use crate::onnx::attribute_proto::AttributeType;
use crate::onnx::{AttributeProto, TensorProto};

fn base(name: &str, ty: AttributeType) -> AttributeProto {
    AttributeProto {
        name: Some(name.to_string()),
        r#type: Some(ty as i32),
        ..Default::default()
    }
}

/// An INT attribute, e.g. `group` or `axis`.
pub fn int(name: &str, value: i64) -> AttributeProto {
    AttributeProto {
        i: Some(value),
        ..base(name, AttributeType::Int)
    }
}

/// An INTS attribute, e.g. `pads` or `strides`.
pub fn ints(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto {
        ints: values.to_vec(),
        ..base(name, AttributeType::Ints)
    }
}

/// A FLOAT attribute, e.g. `alpha` or `epsilon`.
pub fn float(name: &str, value: f32) -> AttributeProto {
    AttributeProto {
        f: Some(value),
        ..base(name, AttributeType::Float)
    }
}

/// A FLOATS attribute.
pub fn floats(name: &str, values: &[f32]) -> AttributeProto {
    AttributeProto {
        floats: values.to_vec(),
        ..base(name, AttributeType::Floats)
    }
}

/// A STRING attribute, e.g. `auto_pad` or `mode`.
pub fn string(name: &str, value: &str) -> AttributeProto {
    AttributeProto {
        s: Some(value.as_bytes().to_vec()),
        ..base(name, AttributeType::String)
    }
}

/// A TENSOR attribute, e.g. the `value` of a Constant node.
pub fn tensor(name: &str, value: TensorProto) -> AttributeProto {
    AttributeProto {
        t: Some(value),
        ..base(name, AttributeType::Tensor)
    }
}
