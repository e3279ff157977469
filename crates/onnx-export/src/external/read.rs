//! Reading an `.onnx` file and loading its external data (ONNX's
//! `location` / `offset` / `length` entries, checked against the side file and
//! the tensor's shape) back into `raw_data`, so the model is self-contained.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use bytes::Bytes;
use prost::Message;

use super::{check_location, model_dir};
use crate::error::{Error, Result};
use crate::onnx::tensor_proto::DataLocation;
use crate::onnx::{ModelProto, TensorProto};

/// Reads an `.onnx` file and loads any external data back into `raw_data`, so
/// the returned model is self-contained. Inline payloads share the file's
/// buffer (no copy per tensor).
pub fn read_model(path: impl AsRef<Path>) -> Result<ModelProto> {
    let path = path.as_ref();
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
