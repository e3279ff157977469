//! Writing and reading `.onnx` files, with ONNX external data when needed.
//!
//! A protobuf message cannot exceed 2 GB, so big models keep their large
//! initializers in a side file (`<model file name>.data` beside the model):
//! each such tensor keeps its name, type and dims in the model and gets
//! `data_location: EXTERNAL` plus `location` / `offset` / `length` entries in
//! `external_data`. Weights are streamed from the in-memory model to disk (no
//! encoded copy of the model is built), and each file is written under a
//! temporary name and renamed into place once complete.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Component, Path, PathBuf};

use bytes::{BufMut, Bytes};
use prost::Message;

use crate::error::{Error, Result};
use crate::onnx::tensor_proto::DataLocation;
use crate::onnx::{GraphProto, ModelProto, StringStringEntryProto, TensorProto};
use crate::payloads::Payloads;
use crate::sink::{AtomicFile, ProtoSink};

/// The largest protobuf message other tools can parse: 2 GiB - 1 bytes.
pub const PROTOBUF_LIMIT: u64 = i32::MAX as u64;

/// Initializers at least this big go to the side file by default (the value
/// `onnx.save_model(..., save_as_external_data=True)` uses).
pub const DEFAULT_THRESHOLD: usize = 1024;

/// Tensors of at least 1 MiB start on a page boundary in the side file, so a
/// runtime can map them; smaller ones on a 64-byte boundary, enough for SIMD
/// loads without wasting a page each.
const PAGE_ALIGN_FROM: usize = 1 << 20;

/// When initializers are written to a side file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ExternalData {
    /// Everything inline; a model past [`PROTOBUF_LIMIT`] is an error.
    Never,
    /// Inline unless the model would pass [`PROTOBUF_LIMIT`]; then as
    /// `Always { threshold: DEFAULT_THRESHOLD }`.
    #[default]
    Auto,
    /// Initializers with at least `threshold` bytes of `raw_data` go to the
    /// side file.
    Always { threshold: usize },
}

/// How [`write_model`] lays the model out.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    pub external: ExternalData,
    /// File name of the side file, relative to the model's directory; default
    /// `<model file name>.data` (e.g. `net.onnx.data`).
    pub location: Option<String>,
}

/// What [`write_model`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteSummary {
    pub model_path: PathBuf,
    pub model_bytes: u64,
    /// The side file, if external data was written.
    pub external: Option<ExternalSummary>,
}

/// The side file written by [`write_model`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalSummary {
    pub path: PathBuf,
    /// The `location` recorded in the model (relative to its directory).
    pub location: String,
    pub bytes: u64,
    pub tensors: usize,
}

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

/// Writes `model` to `path` (and its side file, if `options` call for external
/// data), each atomically. The side file is renamed into place before the
/// model, so a model file never refers to data that is not there yet.
pub fn write_model(path: &Path, model: &ModelProto, options: &WriteOptions) -> Result<WriteSummary> {
    write_model_with(path, model, &Payloads::new(), options)
}

/// [`write_model`] for a model whose header-only initializers take their bytes
/// from `payloads` (borrowed weights, see [`Payloads`]).
pub fn write_model_with(
    path: &Path,
    model: &ModelProto,
    payloads: &Payloads<'_>,
    options: &WriteOptions,
) -> Result<WriteSummary> {
    let threshold = match options.external {
        ExternalData::Never => None,
        ExternalData::Auto if encoded_len_with(model, payloads) <= PROTOBUF_LIMIT => None,
        ExternalData::Auto => Some(DEFAULT_THRESHOLD),
        ExternalData::Always { threshold } => Some(threshold),
    };
    match threshold {
        None => {
            let model_bytes = write_inline(path, model, payloads)?;
            Ok(WriteSummary {
                model_path: path.to_path_buf(),
                model_bytes,
                external: None,
            })
        }
        Some(threshold) => write_external(path, model, payloads, threshold, options.location.as_deref()),
    }
}

fn write_inline(path: &Path, model: &ModelProto, payloads: &Payloads<'_>) -> Result<u64> {
    let len = encoded_len_with(model, payloads);
    if len > PROTOBUF_LIMIT {
        return Err(Error::TooLarge {
            path: path.to_path_buf(),
            bytes: len,
        });
    }
    let mut out = AtomicFile::create(path)?;
    let written = encode_model_with(model, payloads, out.file()).map_err(|e| Error::io(path, "write", e))?;
    out.commit()?;
    Ok(written)
}

/// Bytes of an initializer payload for the side file: shared or borrowed.
enum Chunk<'a> {
    Shared(Bytes),
    Borrowed(&'a [u8]),
}

impl std::ops::Deref for Chunk<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Chunk::Shared(b) => b,
            Chunk::Borrowed(b) => b,
        }
    }
}

fn write_external(
    path: &Path,
    model: &ModelProto,
    payloads: &Payloads<'_>,
    threshold: usize,
    location: Option<&str>,
) -> Result<WriteSummary> {
    let location = match location {
        Some(l) => l.to_string(),
        None => format!(
            "{}.data",
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "model".into())
        ),
    };
    let dir = model_dir(path);
    check_location(&location).map_err(|message| Error::ExternalData {
        path: path.to_path_buf(),
        tensor: String::new(),
        message,
    })?;
    let data_path = dir.join(&location);

    // The header model shares every payload with `model` (cloning `Bytes` is a
    // reference count), so this costs the size of the graph, not the weights.
    let mut header = model.clone();
    let mut chunks: Vec<(u64, Chunk<'_>)> = Vec::new();
    let mut offset = 0u64;
    if let Some(graph) = header.graph.as_mut() {
        for tensor in &mut graph.initializer {
            if tensor.data_location() == DataLocation::External {
                return Err(Error::ExternalData {
                    path: path.to_path_buf(),
                    tensor: tensor.name().to_string(),
                    message: "already refers to external data; load it first (read_model)".into(),
                });
            }
            let chunk = match (tensor.raw_data.as_ref(), payloads.get(tensor.name())) {
                (Some(raw), _) => Chunk::Shared(raw.clone()),
                (None, Some(borrowed)) => Chunk::Borrowed(borrowed),
                (None, None) => continue,
            };
            if chunk.len() < threshold || chunk.is_empty() {
                if let Chunk::Borrowed(b) = chunk {
                    // Small enough to stay inline: copy it into the header.
                    tensor.raw_data = Some(Bytes::copy_from_slice(b));
                }
                continue;
            }
            let align = if chunk.len() >= PAGE_ALIGN_FROM { 4096 } else { 64 };
            offset = offset.next_multiple_of(align);
            let length = chunk.len() as u64;
            tensor.raw_data = None;
            tensor.data_location = Some(DataLocation::External as i32);
            tensor.external_data = vec![
                entry("location", &location),
                entry("offset", &offset.to_string()),
                entry("length", &length.to_string()),
            ];
            chunks.push((offset, chunk));
            offset += length;
        }
    }
    let header_len = header.encoded_len() as u64;
    if header_len > PROTOBUF_LIMIT {
        return Err(Error::TooLarge {
            path: path.to_path_buf(),
            bytes: header_len,
        });
    }

    let mut data = AtomicFile::create(&data_path)?;
    let data_bytes = write_chunks(data.file(), &chunks).map_err(|e| Error::io(data.path(), "write", e))?;
    drop(chunks);
    let mut out = AtomicFile::create(path)?;
    let model_bytes = encode_model(&header, out.file()).map_err(|e| Error::io(path, "write", e))?;
    data.commit()?;
    out.commit()?;
    Ok(WriteSummary {
        model_path: path.to_path_buf(),
        model_bytes,
        external: Some(ExternalSummary {
            path: data_path,
            location,
            bytes: data_bytes,
            tensors: header.graph.as_ref().map_or(0, |g| {
                g.initializer.iter().filter(|t| !t.external_data.is_empty()).count()
            }),
        }),
    })
}

fn write_chunks(file: &mut File, chunks: &[(u64, Chunk<'_>)]) -> std::io::Result<u64> {
    // BufWriter passes writes larger than its buffer straight through, so
    // weights are not copied; it only batches the padding and small tensors.
    let mut w = BufWriter::with_capacity(1 << 20, file);
    let mut pos = 0u64;
    const ZEROS: [u8; 4096] = [0; 4096];
    for (offset, raw) in chunks {
        let pad = (offset - pos) as usize;
        w.write_all(&ZEROS[..pad])?;
        w.write_all(raw)?;
        pos = offset + raw.len() as u64;
    }
    w.flush()?;
    Ok(pos)
}

// Protobuf framing for the splice: ModelProto.graph is field 7, GraphProto.
// initializer field 5, TensorProto.raw_data field 9, all length-delimited.
const LEN: u64 = 2;

fn varint_len(v: u64) -> u64 {
    (64 - (v | 1).leading_zeros()).div_ceil(7) as u64
}

fn put_varint(mut v: u64, buf: &mut impl BufMut) {
    while v >= 0x80 {
        buf.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    buf.put_u8(v as u8);
}

fn put_len_prefix(field: u64, len: u64, buf: &mut impl BufMut) {
    put_varint((field << 3) | LEN, buf);
    put_varint(len, buf);
}

/// Bytes of a length-delimited field `field` holding `len` bytes.
fn len_delimited(len: u64, field: u64) -> u64 {
    varint_len((field << 3) | LEN) + varint_len(len) + len
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

/// Reads an `.onnx` file and loads any external data back into `raw_data`, so
/// the returned model is self-contained. Inline payloads share the file's
/// buffer (no copy per tensor).
pub fn read_model(path: &Path) -> Result<ModelProto> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, "read", e))?;
    let mut model = ModelProto::decode(Bytes::from(bytes)).map_err(|source| Error::Decode {
        path: path.to_path_buf(),
        source,
    })?;
    let dir = model_dir(path);
    let mut files = HashMap::new();
    if let Some(graph) = model.graph.as_mut() {
        for tensor in &mut graph.initializer {
            load_external(tensor, path, &dir, &mut files)?;
        }
        for node in &mut graph.node {
            for attribute in &mut node.attribute {
                if let Some(t) = attribute.t.as_mut() {
                    load_external(t, path, &dir, &mut files)?;
                }
                for t in &mut attribute.tensors {
                    load_external(t, path, &dir, &mut files)?;
                }
            }
        }
    }
    Ok(model)
}

fn load_external(
    tensor: &mut TensorProto,
    model_path: &Path,
    dir: &Path,
    files: &mut HashMap<String, (File, u64)>,
) -> Result<()> {
    if tensor.data_location() != DataLocation::External {
        return Ok(());
    }
    let fail = |message: String| Error::ExternalData {
        path: model_path.to_path_buf(),
        tensor: tensor.name().to_string(),
        message,
    };
    let value = |key: &str| {
        tensor
            .external_data
            .iter()
            .find(|e| e.key() == key)
            .map(|e| e.value().to_string())
    };
    let location = value("location").ok_or_else(|| fail("no 'location' entry".into()))?;
    check_location(&location).map_err(&fail)?;
    let parse = |key: &str| -> Result<Option<u64>> {
        value(key)
            .map(|v| {
                v.parse::<u64>()
                    .map_err(|_| fail(format!("'{key}' is not a byte count: {v:?}")))
            })
            .transpose()
    };
    let offset = parse("offset")?.unwrap_or(0);
    let length = parse("length")?;

    if !files.contains_key(&location) {
        let data_path = dir.join(&location);
        let file = File::open(&data_path).map_err(|e| Error::io(&data_path, "open external data of", e))?;
        let len = file.metadata().map_err(|e| Error::io(&data_path, "stat", e))?.len();
        files.insert(location.clone(), (file, len));
    }
    let (file, file_len) = files.get_mut(&location).expect("inserted above");
    let length = length.unwrap_or(file_len.saturating_sub(offset));
    if offset.checked_add(length).is_none_or(|end| end > *file_len) {
        return Err(fail(format!(
            "bytes {offset}..{} are past the end of '{location}' ({file_len} bytes)",
            offset.saturating_add(length)
        )));
    }
    let dims = crate::tensor::tensor_shape(tensor)?;
    if let Some(size) = crate::tensor::element_size(tensor.data_type()) {
        let expected = dims.iter().product::<usize>() as u64 * size as u64;
        if expected != length {
            return Err(fail(format!("{length} bytes for shape {dims:?} ({expected} expected)")));
        }
    }
    let length = usize::try_from(length).map_err(|_| fail("too large for this platform".into()))?;
    let mut buf = vec![0u8; length];
    let read = file
        .seek(SeekFrom::Start(offset))
        .and_then(|_| file.read_exact(&mut buf));
    read.map_err(|e| Error::io(&dir.join(&location), "read external data from", e))?;
    tensor.raw_data = Some(Bytes::from(buf));
    tensor.data_location = None;
    tensor.external_data.clear();
    Ok(())
}

fn model_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// External data must stay inside the model's directory: a relative path of
/// plain components (ONNX's own checker rule).
fn check_location(location: &str) -> std::result::Result<(), String> {
    let p = Path::new(location);
    if location.is_empty()
        || !p
            .components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(format!(
            "location {location:?} is not a relative path inside the model's directory"
        ));
    }
    Ok(())
}

fn entry(key: &str, value: &str) -> StringStringEntryProto {
    StringStringEntryProto {
        key: Some(key.to_string()),
        value: Some(value.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::builder::{dims, GraphBuilder, ModelOptions};
    use crate::payloads::Payloads;

    fn model_with_weights() -> ModelProto {
        let mut g = GraphBuilder::new("g");
        g.add_input("x", &dims(&[1, 1000])).unwrap();
        let w = g.initializer_f32_owned("fc/W", weight()).unwrap();
        let b = g
            .initializer_f32("fc/b", ndarray::Array1::<f32>::ones(10).into_dyn().view())
            .unwrap();
        let small = g.initializer_i64("shape", &[2], &[1, -1]).unwrap();
        let flat = g.op("Reshape", "flat", &["x", &small], vec![]).unwrap();
        let y = g
            .op("Gemm", "fc", &[&flat, &w, &b], vec![crate::attr::int("transB", 1)])
            .unwrap();
        g.add_output(&y, None).unwrap();
        g.into_model(&ModelOptions::default()).unwrap()
    }

    /// The same model as `model_with_weights`, with its weight borrowed.
    fn borrowed_model<'a>(w: &'a ndarray::ArrayD<f32>, payloads: &mut Payloads<'a>) -> ModelProto {
        let mut g = GraphBuilder::new("g");
        g.add_input("x", &dims(&[1, 1000])).unwrap();
        let w = g.initializer_f32_borrowed(payloads, "fc/W", w.view()).unwrap();
        let b = g
            .initializer_f32("fc/b", ndarray::Array1::<f32>::ones(10).into_dyn().view())
            .unwrap();
        let small = g.initializer_i64("shape", &[2], &[1, -1]).unwrap();
        let flat = g.op("Reshape", "flat", &["x", &small], vec![]).unwrap();
        let y = g
            .op("Gemm", "fc", &[&flat, &w, &b], vec![crate::attr::int("transB", 1)])
            .unwrap();
        g.add_output(&y, None).unwrap();
        g.into_model(&ModelOptions::default()).unwrap()
    }

    fn weight() -> ndarray::ArrayD<f32> {
        ndarray::Array::from_shape_fn(ndarray::IxDyn(&[10, 1000]), |i| (i[0] * 1000 + i[1]) as f32 * 0.5)
    }

    #[test]
    fn borrowed_payloads_are_spliced_in() {
        let w = weight();
        let mut payloads = Payloads::new();
        let header = borrowed_model(&w, &mut payloads);
        assert_eq!(payloads.len(), 1);
        assert!(header.graph.as_ref().unwrap().initializer[0].raw_data.is_none());
        let mut bytes = Vec::new();
        let n = encode_model_with(&header, &payloads, &mut bytes).unwrap();
        assert_eq!(n as usize, bytes.len());
        assert_eq!(encoded_len_with(&header, &payloads), n);
        let mut filled = header.clone();
        payloads.fill(&mut filled);
        assert_eq!(filled, model_with_weights());
        assert_eq!(ModelProto::decode(bytes.as_slice()).unwrap(), filled);
        // Same size as prost's own encoding of the filled model (only the
        // field order differs).
        assert_eq!(bytes.len(), filled.encoded_len());

        let dir = tempfile::tempdir().unwrap();
        for external in [ExternalData::Never, ExternalData::Always { threshold: 1024 }] {
            let path = dir.path().join("b.onnx");
            let options = WriteOptions {
                external: external.clone(),
                location: None,
            };
            write_model_with(&path, &header, &payloads, &options).unwrap();
            assert_eq!(read_model(&path).unwrap(), filled, "{external:?}");
        }
    }

    #[test]
    fn inline_write_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.onnx");
        let model = model_with_weights();
        let summary = write_model(&path, &model, &WriteOptions::default()).unwrap();
        assert!(summary.external.is_none());
        assert_eq!(summary.model_bytes, model.encoded_len() as u64);
        assert_eq!(std::fs::read(&path).unwrap(), model.encode_to_vec());
        assert_eq!(read_model(&path).unwrap(), model);
        // Only the model is left: no temporary files.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn external_data_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.onnx");
        let model = model_with_weights();
        let options = WriteOptions {
            external: ExternalData::Always { threshold: 1024 },
            location: None,
        };
        let summary = write_model(&path, &model, &options).unwrap();
        let ext = summary.external.clone().unwrap();
        // The 40 kB weight goes out; the 40-byte bias and 16-byte shape stay.
        assert_eq!(ext.tensors, 1);
        assert_eq!(ext.location, "m.onnx.data");
        assert_eq!(ext.bytes, 40_000);
        assert!(summary.model_bytes < 2_000, "{summary:?}");

        let raw = ModelProto::decode(std::fs::read(&path).unwrap().as_slice()).unwrap();
        let w = &raw.graph.as_ref().unwrap().initializer[0];
        assert_eq!(w.data_location(), DataLocation::External);
        assert!(w.raw_data.is_none());
        let kv: Vec<_> = w.external_data.iter().map(|e| (e.key(), e.value())).collect();
        assert_eq!(kv, [("location", "m.onnx.data"), ("offset", "0"), ("length", "40000")]);

        assert_eq!(read_model(&path).unwrap(), model);
    }

    #[test]
    fn auto_keeps_small_models_inline() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.onnx");
        let summary = write_model(&path, &model_with_weights(), &WriteOptions::default()).unwrap();
        assert!(summary.external.is_none());
        assert!(!dir.path().join("m.onnx.data").exists());
    }

    #[test]
    fn bad_external_references_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.onnx");
        let mut model = model_with_weights();
        let t = &mut model.graph.as_mut().unwrap().initializer[0];
        t.raw_data = None;
        t.data_location = Some(DataLocation::External as i32);
        t.external_data = vec![entry("location", "../escape.bin")];
        std::fs::write(&path, model.encode_to_vec()).unwrap();
        let err = read_model(&path).unwrap_err();
        assert!(matches!(err, Error::ExternalData { .. }), "{err}");

        let t = &mut model.graph.as_mut().unwrap().initializer[0];
        t.external_data = vec![entry("location", "w.bin"), entry("length", "40000")];
        std::fs::write(dir.path().join("w.bin"), [0u8; 100]).unwrap();
        std::fs::write(&path, model.encode_to_vec()).unwrap();
        let err = read_model(&path).unwrap_err();
        assert!(err.to_string().contains("past the end"), "{err}");
    }

    #[test]
    fn a_failed_write_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-dir").join("m.onnx");
        assert!(write_model(&path, &model_with_weights(), &WriteOptions::default()).is_err());
        assert!(!path.exists());
    }
}
