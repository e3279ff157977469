//! Writing a model to disk, inline or with ONNX external data (initializers
//! past a threshold go to a side file, each at an aligned `offset` with its
//! `length`, as ONNX's external data format and `onnx.save_model(...,
//! save_as_external_data=True)` lay them out); each file is written atomically,
//! the side file renamed into place before the model.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use prost::Message;

use super::splice::{encode_model, encode_model_with, encoded_len_with};
use super::{check_location, model_dir};
use crate::error::{Error, Result};
use crate::onnx::tensor_proto::DataLocation;
use crate::onnx::{ModelProto, StringStringEntryProto};
use crate::payloads::Payloads;
use crate::sink::AtomicFile;

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

/// Writes `model` to `path` (and its side file, if `options` call for external
/// data), each atomically. The side file is renamed into place before the
/// model, so a model file never refers to data that is not there yet.
pub fn write_model(path: impl AsRef<Path>, model: &ModelProto, options: &WriteOptions) -> Result<WriteSummary> {
    write_model_with(path, model, &Payloads::new(), options)
}

/// [`write_model`] for a model whose header-only initializers take their bytes
/// from `payloads` (borrowed weights, see [`Payloads`]).
pub fn write_model_with(
    path: impl AsRef<Path>,
    model: &ModelProto,
    payloads: &Payloads<'_>,
    options: &WriteOptions,
) -> Result<WriteSummary> {
    let path = path.as_ref();
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

pub(super) fn entry(key: &str, value: &str) -> StringStringEntryProto {
    StringStringEntryProto {
        key: Some(key.to_string()),
        value: Some(value.to_string()),
    }
}
