//! Encoding a model whose header-only initializers take their bytes from
//! [`Payloads`] (borrowed weights), splicing each payload in as the tensor's
//! `raw_data` while the model streams out: protobuf's wire format, framed with
//! prost's own key and varint helpers, so the bytes are what prost would
//! write for the filled model up to field order (which protobuf readers
//! accept in any order).

use std::io::Write;

use bytes::BufMut;
use prost::encoding::{encode_key, encode_varint, encoded_len_varint, key_len, WireType};
use prost::Message;

use crate::onnx::{GraphProto, ModelProto, TensorProto};
use crate::payloads::Payloads;
use crate::sink::ProtoSink;

/// Encodes `model` into `writer` without building the encoding in memory;
/// returns the number of bytes written. Wrap a `File` directly: the encoder
/// batches small fields itself.
pub fn encode_model<W: Write>(model: &ModelProto, writer: W) -> std::io::Result<u64> {
    encode_model_with(model, &Payloads::new(), writer)
}

/// [`encode_model`] for a model whose header-only initializers take their
/// bytes from `payloads`.
pub fn encode_model_with<W: Write>(model: &ModelProto, payloads: &Payloads<'_>, writer: W) -> std::io::Result<u64> {
    let mut sink = ProtoSink::new(writer);
    encode_spliced(model, payloads, &mut sink);
    sink.finish().map(|(_, n)| n)
}

/// The encoded size of `model` with its payloads spliced in.
pub fn encoded_len_with(model: &ModelProto, payloads: &Payloads<'_>) -> u64 {
    match &model.graph {
        None => model.encoded_len() as u64,
        Some(g) => {
            model.encoded_len() as u64 - len_delimited(g.encoded_len() as u64, 7)
                + len_delimited(spliced_graph_len(g, payloads), 7)
        }
    }
}

// Protobuf framing for the splice: ModelProto.graph is field 7, GraphProto.
// initializer field 5, TensorProto.raw_data field 9, all length-delimited.

/// Writes the key and length prefix of length-delimited field `field` holding
/// `len` bytes.
fn put_len_prefix(field: u32, len: u64, buf: &mut impl BufMut) {
    encode_key(field, WireType::LengthDelimited, buf);
    encode_varint(len, buf);
}

/// Bytes of a length-delimited field `field` holding `len` bytes.
fn len_delimited(len: u64, field: u32) -> u64 {
    (key_len(field) + encoded_len_varint(len)) as u64 + len
}

/// Encoded length of initializer `t` with its payload (if any) spliced in.
fn tensor_len(t: &TensorProto, payloads: &Payloads<'_>) -> u64 {
    t.encoded_len() as u64 + payloads.for_tensor(t).map_or(0, |p| len_delimited(p.len() as u64, 9))
}

/// Encoded length of `graph` with its payloads spliced in.
fn spliced_graph_len(graph: &GraphProto, payloads: &Payloads<'_>) -> u64 {
    let mut len = graph.encoded_len() as u64;
    for t in &graph.initializer {
        len = len - len_delimited(t.encoded_len() as u64, 5) + len_delimited(tensor_len(t, payloads), 5);
    }
    len
}

/// Encodes `model`, splicing each header-only initializer's payload in as its
/// `raw_data`. Without payloads this is prost's own encoding. With them the
/// graph is written as: its other fields, then its initializers, each with
/// `raw_data` last. Protobuf readers accept fields in any order.
fn encode_spliced(model: &ModelProto, payloads: &Payloads<'_>, buf: &mut impl BufMut) {
    let spliced = model
        .graph
        .as_ref()
        .is_some_and(|g| g.initializer.iter().any(|t| payloads.for_tensor(t).is_some()));
    if !spliced {
        model.encode_raw(buf);
        return;
    }
    let graph = model.graph.as_ref().expect("checked above");
    // Clones share payloads (`Bytes`) and copy only the graph's structure.
    let top = ModelProto {
        graph: None,
        ..model.clone()
    };
    let rest = GraphProto {
        initializer: Vec::new(),
        ..graph.clone()
    };
    top.encode_raw(buf);
    put_len_prefix(7, spliced_graph_len(graph, payloads), buf);
    rest.encode_raw(buf);
    for t in &graph.initializer {
        put_len_prefix(5, tensor_len(t, payloads), buf);
        t.encode_raw(buf);
        if let Some(p) = payloads.for_tensor(t) {
            put_len_prefix(9, p.len() as u64, buf);
            buf.put_slice(p);
        }
    }
}
