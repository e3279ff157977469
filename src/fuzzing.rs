//! Bodies of the fuzz targets in `fuzz/` (cargo-fuzz, libFuzzer), kept here so
//! that a plain `cargo test` can replay their corpora (`tests/fuzz_corpus.rs`)
//! on the stable toolchain. Each function takes arbitrary bytes and must never
//! panic, hang or allocate without bound: errors are the expected outcome.
//!
//! Not a public API: the functions swallow every error.

use std::path::Path;

use crate::caffe_io::{self, Limits, Reader};
use crate::graph_ir::{LoadOptions, MissingWeights, Net};
use crate::onnx_export::{self, ExportOptions, SpatialDims};
use crate::runtime::SessionBuilder;

/// The byte that ends the prototxt part of an [`export`] input; the rest is
/// the caffemodel. Prototxt text never holds it, and libFuzzer's mutations keep
/// the two parts apart better than with a length prefix.
pub const SEPARATOR: u8 = 0;

/// Prototxt parsing (text format, then the V0/V1 upgrade), and printing back
/// what parsed.
pub fn prototxt(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(net) = caffe_io::parse_prototxt(text, Path::new("fuzz.prototxt")) {
        let printed = caffe_io::print::net_to_prototxt(&net);
        let _ = caffe_io::parse_prototxt(&printed, Path::new("printed.prototxt"));
    }
}

/// Caffemodel decoding (streaming reader and in-memory decoder, upgrade, blob
/// checks) and `.binaryproto` blobs; what decodes is encoded back.
pub fn caffemodel(data: &[u8]) {
    let path = Path::new("fuzz.caffemodel");
    let streamed = caffe_io::read_caffemodel_from(data, data.len() as u64, path);
    let decoded = caffe_io::decode_caffemodel(data, path);
    assert_eq!(
        streamed.is_ok(),
        decoded.is_ok(),
        "the streaming and in-memory decoders agree"
    );
    if let Ok(net) = decoded {
        let _ = caffe_io::binary::write_net(&net, &mut std::io::sink());
    }
    if let Ok(blob) = caffe_io::binary::decode_blob(data, Path::new("fuzz.binaryproto"), &Limits::default()) {
        let _ = caffe_io::blob::blob_into_array(blob);
    }
}

/// Splits an [`export`] input into prototxt text and caffemodel bytes (none
/// when there is no [`SEPARATOR`]).
pub fn split_export_input(data: &[u8]) -> (&[u8], Option<&[u8]>) {
    match data.iter().position(|&b| b == SEPARATOR) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    }
}

/// Joins prototxt text and caffemodel bytes into one [`export`] input.
pub fn join_export_input(prototxt: &[u8], caffemodel: Option<&[u8]>) -> Vec<u8> {
    let mut data = prototxt.to_vec();
    if let Some(weights) = caffemodel {
        data.push(SEPARATOR);
        data.extend_from_slice(weights);
    }
    data
}

/// The limits the [`export`] target loads under: far below the defaults, so
/// that a hostile net stops at a limit error before its fillers or weights
/// could approach libFuzzer's 1 GB memory limit.
pub fn export_limits() -> Limits {
    Limits {
        max_blob_elements: 1 << 24,
        max_weight_bytes: 1 << 26,
        max_text_depth: 64,
        max_layers: 1000,
    }
}

/// Prototxt + caffemodel -> graph IR -> ONNX (fixed and symbolic spatial
/// dims), encoded: what `netsurgeon convert` does, without files.
pub fn export(data: &[u8]) {
    let (text, weights) = split_export_input(data);
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let reader = Reader::new(export_limits());
    let Ok(param) = reader.parse_prototxt(text, Path::new("fuzz.prototxt")) else {
        return;
    };
    let weights = match weights {
        Some(bytes) => match reader.decode_caffemodel(bytes, Path::new("fuzz.caffemodel")) {
            Ok(w) => Some(w),
            Err(_) => return,
        },
        None => None,
    };
    // Fillers for layers the weights leave out, to reach the exporter more often.
    let options = LoadOptions {
        limits: export_limits(),
        missing_weights: MissingWeights::Filler,
        ..Default::default()
    };
    let Ok(net) = Net::from_proto_with(param, weights, &options) else {
        return;
    };
    let _ = net.blobs();
    for spatial in [SpatialDims::Fixed, SpatialDims::Symbolic] {
        let options = ExportOptions {
            spatial,
            ..Default::default()
        };
        if let Ok(exported) = onnx_export::export(&net, &options) {
            let _ = onnx_export::encode_model_with(&exported.model, &exported.payloads, std::io::sink());
        }
    }
}

/// The ONNX loading of `netsurgeon run model.onnx`: tract decodes the model,
/// the inputs get fixed shapes when the model declares them, and the model is
/// typed, optimized and planned (not run).
pub fn onnx(data: &[u8]) {
    let Ok(builder) = SessionBuilder::from_bytes(data) else {
        return;
    };
    let _ = builder.input_names();
    let _ = builder.tensor_names();
    let _ = builder.build();
}
