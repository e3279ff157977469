//! `.prototxt` printing in the layout of Caffe's own files (protobuf's C++
//! `TextFormat::Print`): one field a line, fields in number order, nested
//! messages as indented blocks, repeated fields repeated (never list syntax),
//! floats in their shortest form that reads back to the same value.
//!
//! Fields kept from another dialect (`KeptField`s) are written back as they
//! were read, after the known fields of the message that held them.

use std::fmt::Write as _;

use prost_reflect::{DynamicMessage, Kind, ReflectMessage as _, Value};

use crate::proto::NetParameter;
use crate::text::to_dynamic;

/// The net as Caffe-style prototxt text. Weight blobs are left out: they belong
/// in the `.caffemodel`.
pub fn net_to_prototxt(net: &NetParameter) -> String {
    let shell = NetParameter {
        layer: net.layer.iter().map(|l| l.clone_without_blobs()).collect(),
        layers: net.layers.iter().map(|l| l.clone_without_blobs()).collect(),
        ..net_fields_only(net)
    };
    message_to_text(&to_dynamic(&shell, "NetParameter"))
}

fn net_fields_only(net: &NetParameter) -> NetParameter {
    NetParameter {
        name: net.name.clone(),
        input: net.input.clone(),
        input_dim: net.input_dim.clone(),
        force_backward: net.force_backward,
        state: net.state.clone(),
        debug_info: net.debug_info,
        input_shape: net.input_shape.clone(),
        layer: Vec::new(),
        layers: Vec::new(),
        kept_field: net.kept_field.clone(),
    }
}

/// Any `caffe.*` message as Caffe-style text.
pub fn message_to_text(msg: &DynamicMessage) -> String {
    let mut out = String::new();
    print_message(msg, 0, &mut out, "", None);
    out
}

/// The name of the field that holds a message's kept fields.
const KEPT: &str = "kept_field";

/// The kept fields of the layer (or net) being printed.
struct Kept {
    /// (parent path, text as written; `None` when it came from a binary file).
    fields: Vec<(String, Option<String>, u32)>,
    printed: Vec<bool>,
}

impl Kept {
    fn of(msg: &DynamicMessage) -> Option<Kept> {
        let value = msg.get_field_by_name(KEPT)?;
        let Value::List(items) = value.as_ref() else {
            return None;
        };
        let text = |m: &DynamicMessage, name: &str| match m.get_field_by_name(name).as_deref() {
            Some(Value::String(s)) if m.has_field_by_name(name) => Some(s.clone()),
            _ => None,
        };
        let fields: Vec<_> = items
            .iter()
            .filter_map(|item| match item {
                Value::Message(m) => {
                    let number = match m.get_field_by_name("number").as_deref() {
                        Some(Value::U32(n)) => *n,
                        _ => 0,
                    };
                    Some((text(m, "parent").unwrap_or_default(), text(m, "text"), number))
                }
                _ => None,
            })
            .collect();
        let printed = vec![false; fields.len()];
        (!fields.is_empty()).then_some(Kept { fields, printed })
    }

    fn print_at(&mut self, path: &str, depth: usize, out: &mut String) {
        for (i, (parent, text, number)) in self.fields.iter().enumerate() {
            if parent == path && !self.printed[i] {
                self.printed[i] = true;
                print_kept(text.as_deref(), *number, depth, out);
            }
        }
    }

    /// Kept fields whose message is no longer there (an edit removed it):
    /// written inside a fresh block of that path, so that they stay with it.
    fn print_orphans(&mut self, depth: usize, out: &mut String) {
        for (i, (parent, text, number)) in self.fields.iter().enumerate() {
            if self.printed[i] {
                continue;
            }
            self.printed[i] = true;
            let segments: Vec<&str> = parent.split('.').map(|s| s.split('[').next().unwrap_or(s)).collect();
            for (d, segment) in segments.iter().enumerate() {
                let _ = writeln!(out, "{}{segment} {{", "  ".repeat(depth + d));
            }
            print_kept(text.as_deref(), *number, depth + segments.len(), out);
            for d in (0..segments.len()).rev() {
                let _ = writeln!(out, "{}}}", "  ".repeat(depth + d));
            }
        }
    }
}

fn print_kept(text: Option<&str>, number: u32, depth: usize, out: &mut String) {
    let indent = "  ".repeat(depth);
    match text {
        Some(text) => {
            for line in text.split('\n') {
                let _ = writeln!(out, "{indent}{line}");
            }
        }
        // Text has no syntax for a field known only by its number.
        None => {
            let _ = writeln!(
                out,
                "{indent}# field {number}, kept from a binary file in another dialect's numbering, has no text form"
            );
        }
    }
}

fn print_message(msg: &DynamicMessage, depth: usize, out: &mut String, path: &str, outer: Option<&mut Kept>) {
    // A layer (or net) with kept fields starts its own context; paths start there.
    let mut own = Kept::of(msg);
    let (mut kept, path) = match own.as_mut() {
        Some(k) => (Some(k), ""),
        None => (outer, path),
    };
    let mut fields: Vec<_> = msg
        .descriptor()
        .fields()
        .filter(|f| f.name() != KEPT && msg.has_field(f))
        .collect();
    fields.sort_by_key(|f| f.number());
    for field in fields {
        let value = msg.get_field(&field);
        match value.as_ref() {
            Value::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    let child = child_path(path, &format!("{}[{i}]", field.name()));
                    print_field(
                        field.name(),
                        &field.kind(),
                        item,
                        depth,
                        out,
                        &child,
                        kept.as_deref_mut(),
                    );
                }
            }
            single => {
                let child = child_path(path, field.name());
                print_field(
                    field.name(),
                    &field.kind(),
                    single,
                    depth,
                    out,
                    &child,
                    kept.as_deref_mut(),
                );
            }
        }
    }
    if let Some(k) = kept {
        k.print_at(path, depth, out);
    }
    if let Some(k) = own.as_mut() {
        k.print_orphans(depth, out);
    }
}

fn child_path(path: &str, segment: &str) -> String {
    if path.is_empty() {
        segment.to_string()
    } else {
        format!("{path}.{segment}")
    }
}

fn print_field(
    name: &str,
    kind: &Kind,
    value: &Value,
    depth: usize,
    out: &mut String,
    path: &str,
    kept: Option<&mut Kept>,
) {
    let indent = "  ".repeat(depth);
    if let Value::Message(inner) = value {
        let _ = writeln!(out, "{indent}{name} {{");
        print_message(inner, depth + 1, out, path, kept);
        let _ = writeln!(out, "{indent}}}");
        return;
    }
    let text = match value {
        Value::Bool(b) => b.to_string(),
        Value::I32(v) => v.to_string(),
        Value::I64(v) => v.to_string(),
        Value::U32(v) => v.to_string(),
        Value::U64(v) => v.to_string(),
        Value::F32(v) => format_f32(*v),
        Value::F64(v) => format_f64(*v),
        Value::String(s) => quote(s.as_bytes()),
        Value::Bytes(b) => quote(b),
        Value::EnumNumber(n) => match kind.as_enum().and_then(|e| e.get_value(*n)) {
            Some(v) => v.name().to_string(),
            None => n.to_string(),
        },
        Value::Message(_) | Value::List(_) | Value::Map(_) => unreachable!("caffe.proto has no nested lists or maps"),
    };
    let _ = writeln!(out, "{indent}{name}: {text}");
}

/// A float as protobuf's C++ printer writes it: `%.6g`, or `%.9g` when six
/// digits do not read back to the same float.
pub fn format_f32(v: f32) -> String {
    if let Some(s) = non_finite(f64::from(v)) {
        return s;
    }
    let short = format_g(f64::from(v), 6);
    if short.parse::<f32>().ok() == Some(v) {
        short
    } else {
        format_g(f64::from(v), 9)
    }
}

/// A double as protobuf's C++ printer writes it: `%.15g`, else `%.17g`.
pub fn format_f64(v: f64) -> String {
    if let Some(s) = non_finite(v) {
        return s;
    }
    let short = format_g(v, 15);
    if short.parse::<f64>().ok() == Some(v) {
        short
    } else {
        format_g(v, 17)
    }
}

fn non_finite(v: f64) -> Option<String> {
    if v.is_nan() {
        Some("nan".into())
    } else if v.is_infinite() {
        Some(if v > 0.0 { "inf".into() } else { "-inf".into() })
    } else {
        None
    }
}

/// C's `%.{precision}g`.
fn format_g(v: f64, precision: usize) -> String {
    if v == 0.0 {
        return if v.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    let sci = format!("{:.*e}", precision - 1, v);
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("exponent is an integer");
    if exp < -4 || exp >= precision as i32 {
        let mantissa = trim_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (precision as i32 - 1 - exp).max(0) as usize;
        trim_zeros(&format!("{v:.decimals$}")).to_string()
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// A double-quoted string with C escapes, as protobuf's `CEscape`.
fn quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    match std::str::from_utf8(bytes) {
        Ok(s) => {
            for c in s.chars() {
                match c {
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    '"' => out.push_str("\\\""),
                    '\'' => out.push_str("\\'"),
                    '\\' => out.push_str("\\\\"),
                    c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                        let _ = write!(out, "\\{:03o}", c as u32);
                    }
                    c => out.push(c),
                }
            }
        }
        Err(_) => {
            for &b in bytes {
                match b {
                    b'"' => out.push_str("\\\""),
                    b'\\' => out.push_str("\\\\"),
                    0x20..=0x7e => out.push(b as char),
                    _ => {
                        let _ = write!(out, "\\{b:03o}");
                    }
                }
            }
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_protobuf_cpp() {
        assert_eq!(format_f32(1.0), "1");
        assert_eq!(format_f32(0.0001), "0.0001");
        assert_eq!(format_f32(1e-5), "1e-05");
        assert_eq!(format_f32(0.999), "0.999");
        assert_eq!(format_f32(0.75), "0.75");
        assert_eq!(format_f32(1234567.0), "1234567");
        assert_eq!(format_f32(-2.5e10), "-2.5e+10");
        assert_eq!(format_f32(1.0 / 3.0), "0.333333343");
        for v in [3.3e-7f32, 1.0 / 3.0, f32::MAX, f32::MIN_POSITIVE, 123.456] {
            assert_eq!(format_f32(v).parse::<f32>().unwrap(), v);
        }
        assert_eq!(format_f64(1e-8), "1e-08");
    }

    #[test]
    fn strings_escape() {
        assert_eq!(quote(b"fc6-conv"), "\"fc6-conv\"");
        assert_eq!(quote(b"a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
    }
}
