//! Round trips through the writer, the splice and the reader.

use prost::Message;

use super::write::entry;
use super::*;
use crate::builder::{dims, GraphBuilder, ModelOptions};
use crate::error::Error;
use crate::onnx::tensor_proto::DataLocation;
use crate::onnx::ModelProto;
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
