//! `.prototxt` parsing: protobuf text format of `caffe.NetParameter`, read with
//! prost-reflect's text-format parser (comments, unquoted enum names, `layer`
//! and legacy `layers` alike) and transcoded into the prost types.
//!
//! Caffe's own `ReadProtoFromTextFile` refuses a field its schema lacks; every
//! fork of Caffe adds fields. A field this schema does not know is cut out
//! verbatim first (by its `scan` module) and kept on its layer (or the net) as a
//! `KeptField`, which every save writes back. Whether a layer may carry one is
//! for the layer's type to say (graph-ir refuses it in a layer it models).

use std::path::Path;
use std::sync::OnceLock;

use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, ReflectMessage};

use crate::error::{Error, Location, Result};
use crate::limits::{Limit, Limits};
use crate::proto::{KeptField, NetParameter};

mod scan;

/// The encoded `FileDescriptorSet` of netsurgeon's Caffe schema
/// (`proto/caffe.proto`), for bindings in other languages (the Python
/// package builds its `caffe_pb2` from it).
pub static DESCRIPTOR_SET: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/caffe_descriptor.bin"));

/// The descriptor pool of `caffe.proto`, built once.
pub fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| DescriptorPool::decode(DESCRIPTOR_SET).expect("embedded caffe.proto descriptor is valid"))
}

/// The descriptor of a `caffe.*` message, e.g. `message("NetParameter")`.
pub fn message(name: &str) -> MessageDescriptor {
    pool()
        .get_message_by_name(&format!("caffe.{name}"))
        .unwrap_or_else(|| panic!("caffe.{name} is in caffe.proto"))
}

/// Parses the text of a `.prototxt`; `path` names it in errors. The net is
/// returned as written: legacy forms are upgraded by [`crate::upgrade`].
pub fn parse_net(text: &str, path: &Path, limits: &Limits) -> Result<NetParameter> {
    check_depth(text, path, limits)?;
    let scanned = scan::scan_net(text, &message("NetParameter"));
    let strict_text = scanned.as_ref().map_or(text, |s| s.blanked.as_str());
    let dynamic = parse_dynamic(strict_text, message("NetParameter"), path)?;
    if let Some(missing) = missing_required(&dynamic, "") {
        return Err(Error::Text {
            path: path.to_path_buf(),
            location: Location::File,
            message: format!("{missing} is required but missing (Caffe's text parser refuses the file too)"),
        });
    }
    let mut net = dynamic.transcode_to::<NetParameter>().map_err(|e| Error::Text {
        path: path.to_path_buf(),
        location: Location::File,
        message: format!("cannot convert to caffe.NetParameter: {e}"),
    })?;
    for cut in scanned.map(|s| s.cuts).unwrap_or_default() {
        let kept = KeptField {
            parent: Some(cut.parent),
            name: Some(cut.name),
            text: Some(cut.text),
            line: Some(cut.line as u32),
            number: None,
            wire: None,
        };
        let holder = match cut.holder {
            scan::Holder::Net => Some(&mut net.kept_field),
            scan::Holder::Layer(i) => net.layer.get_mut(i).map(|l| &mut l.kept_field),
            scan::Holder::Legacy(i) => net.layers.get_mut(i).map(|l| &mut l.kept_field),
        };
        let Some(holder) = holder else {
            return Err(Error::Text {
                path: path.to_path_buf(),
                location: Location::File,
                message: "the parser read fewer layers than the file holds".into(),
            });
        };
        holder.push(kept);
    }
    let layers = (net.layer.len() + net.layers.len()) as u64;
    limits.check(Limit::Layers, layers).map_err(|exceeded| Error::Limit {
        path: path.to_path_buf(),
        location: Location::File,
        context: String::new(),
        exceeded,
    })?;
    Ok(net)
}

/// The first `required` field (proto2) that `msg` or a message inside it
/// leaves out, as a path naming each layer on the way (`layer 2 'clip'
/// .clip_param.max`). prost's structs give a missing required field its
/// default, so this is the only place the absence can be seen.
fn missing_required(msg: &DynamicMessage, at: &str) -> Option<String> {
    use prost_reflect::{Cardinality, Value};
    for field in msg.descriptor().fields() {
        let here = if at.is_empty() {
            field.name().to_string()
        } else {
            format!("{at}.{}", field.name())
        };
        if !msg.has_field(&field) {
            if field.cardinality() == Cardinality::Required {
                return Some(here);
            }
            continue;
        }
        let named = |i: usize, m: &DynamicMessage| match m.get_field_by_name("name").as_deref() {
            Some(Value::String(name)) => format!("{here} {i} '{name}'"),
            _ => format!("{here}[{i}]"),
        };
        match &*msg.get_field(&field) {
            Value::Message(m) => {
                if let Some(found) = missing_required(m, &here) {
                    return Some(found);
                }
            }
            Value::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    if let Value::Message(m) = item {
                        if let Some(found) = missing_required(m, &named(i, m)) {
                            return Some(found);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    None
}

/// Refuses text nested deeper than the limit before the (recursive) parser
/// sees it. Braces inside strings and `#` comments do not count.
fn check_depth(text: &str, path: &Path, limits: &Limits) -> Result<()> {
    let mut depth = 0usize;
    let mut quote = None;
    let mut escaped = false;
    let mut comment = false;
    for (offset, c) in text.char_indices() {
        if comment {
            comment = c != '\n';
            continue;
        }
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q || c == '\n' {
                quote = None;
            }
            continue;
        }
        match c {
            '#' => comment = true,
            '"' | '\'' => quote = Some(c),
            '{' | '<' => {
                depth += 1;
                if let Err(exceeded) = limits.check(Limit::TextDepth, depth as u64) {
                    let (line, column) = line_column(text, offset);
                    return Err(Error::Limit {
                        path: path.to_path_buf(),
                        location: Location::LineColumn { line, column },
                        context: String::new(),
                        exceeded,
                    });
                }
            }
            '}' | '>' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Parses protobuf text of any `caffe.*` message.
pub fn parse_dynamic(text: &str, desc: MessageDescriptor, path: &Path) -> Result<DynamicMessage> {
    DynamicMessage::parse_text_format(desc, text).map_err(|e| {
        let offset = error_offset(&e).unwrap_or(text.len());
        let (line, column) = line_column(text, offset);
        let mut message = e.to_string();
        if message.contains("not found for message") {
            message.push_str(
                " (the field is not in BVLC Caffe's caffe.proto: is this model from a fork of Caffe, or misspelled?)",
            );
        }
        Error::Text {
            path: path.to_path_buf(),
            location: Location::LineColumn { line, column },
            message,
        }
    })
}

fn error_offset(e: &prost_reflect::text_format::ParseError) -> Option<usize> {
    use miette::Diagnostic as _;
    e.labels()?.next().map(|label| label.offset())
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

fn floor_char_boundary(text: &str, mut offset: usize) -> usize {
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    offset
}

/// A prost `caffe.*` message as a dynamic one (for reflection-driven printing).
pub fn to_dynamic<M: prost::Message>(msg: &M, type_name: &str) -> DynamicMessage {
    let bytes = msg.encode_to_vec();
    DynamicMessage::decode(message(type_name), bytes.as_slice()).expect("prost output decodes with its own schema")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_an_unknown_field_of_a_layer_with_its_line() {
        let text = "name: \"x\"\nlayer {\n  name: \"a\"\n  typo_field: 3\n}\n";
        let net = parse_net(text, Path::new("net.prototxt"), &Limits::default()).unwrap();
        let kept = &net.layer[0].kept_field;
        assert_eq!(kept.len(), 1);
        assert_eq!(
            (kept[0].name(), kept[0].text(), kept[0].line()),
            ("typo_field", "typo_field: 3", 4)
        );
    }

    #[test]
    fn keeps_an_unknown_field_of_a_legacy_layer_through_the_upgrade() {
        let text = "name: \"x\"\nlayers {\n  name: \"a\"\n  type: CONVOLUTION\n  typo_field: 3\n}\n";
        let net = crate::parse_prototxt(text, "net.prototxt").unwrap();
        assert_eq!(net.layer[0].r#type(), "Convolution");
        assert_eq!(net.layer[0].kept_field[0].text(), "typo_field: 3");
        assert_eq!(net.layer[0].kept_field[0].line(), 5);
    }

    #[test]
    fn reports_line_and_column_of_a_syntax_error() {
        let text = "name: \"x\"\nlayer {\n  name: \"a\"\n  top: }\n";
        let msg = parse_net(text, Path::new("net.prototxt"), &Limits::default())
            .unwrap_err()
            .to_string();
        assert!(msg.starts_with("net.prototxt:4:8:"), "{msg}");
    }

    #[test]
    fn refuses_a_missing_required_field_naming_the_layer() {
        let text = r#"layer { name: "in" type: "Input" top: "x" }
            layer { name: "clip" type: "Clip" bottom: "x" top: "y" clip_param { min: 0 } }"#;
        let err = parse_net(text, Path::new("n.prototxt"), &Limits::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("layer 1 'clip'.clip_param.max is required but missing"),
            "{err}"
        );
    }

    #[test]
    fn accepts_comments_and_bare_enums() {
        let text = "# a comment\nlayer { name: 'p' type: 'Pooling' pooling_param { pool: AVE kernel_size: 2 } }";
        let net = parse_net(text, Path::new("p.prototxt"), &Limits::default()).unwrap();
        let pool = net.layer[0].pooling_param.as_ref().unwrap();
        assert_eq!(pool.pool(), crate::proto::pooling_parameter::PoolMethod::Ave);
    }

    #[test]
    fn refuses_nesting_past_the_limit_where_it_happens() {
        let limits = Limits {
            max_text_depth: 3,
            ..Limits::default()
        };
        // Braces in strings and comments do not count.
        let fine = "layer { name: '{{{{' # {{{{\n convolution_param { weight_filler { type: 'xavier' } } }";
        parse_net(fine, Path::new("n.prototxt"), &limits).unwrap();
        let deep = "layer {\n convolution_param { weight_filler { x { } } } }";
        let msg = parse_net(deep, Path::new("n.prototxt"), &limits)
            .unwrap_err()
            .to_string();
        assert!(
            msg.starts_with("n.prototxt:2:40: 4 levels of nesting exceeds the limit of 3"),
            "{msg}"
        );
        assert!(msg.contains("--max-text-depth"), "{msg}");
    }

    #[test]
    fn refuses_more_layers_than_the_limit() {
        let limits = Limits {
            max_layers: 2,
            ..Limits::default()
        };
        let text = "layer { name: 'a' } layer { name: 'b' } layers { name: 'c' }";
        let msg = parse_net(text, Path::new("n.prototxt"), &limits)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("3 layers exceeds the limit of 2"), "{msg}");
        assert!(msg.contains("--max-layers"), "{msg}");
    }
}
