//! Writing and reading `.onnx` files, with ONNX external data when needed:
//! `write` lays a model out inline or with a side file, `splice` encodes a
//! model whose weights are borrowed (protobuf framing done by prost's
//! encoding helpers), `read` loads a model and its external data back.
//!
//! A protobuf message cannot exceed 2 GB, so big models keep their large
//! initializers in a side file (`<model file name>.data` beside the model):
//! each such tensor keeps its name, type and dims in the model and gets
//! `data_location: EXTERNAL` plus `location` / `offset` / `length` entries in
//! `external_data` (ONNX's external data format). Weights are streamed from the
//! in-memory model to disk (no encoded copy of the model is built), and each
//! file is written under a temporary name and renamed into place once complete.

use std::path::{Component, Path, PathBuf};

mod read;
mod splice;
mod write;

pub use read::read_model;
pub use splice::{encode_model, encode_model_with, encoded_len_with};
pub use write::{
    write_model, write_model_with, ExternalData, ExternalSummary, WriteOptions, WriteSummary, DEFAULT_THRESHOLD,
    PROTOBUF_LIMIT,
};

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

#[cfg(test)]
mod tests;
