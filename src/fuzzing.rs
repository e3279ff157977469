//! Bodies of the fuzz targets in `fuzz/` (cargo-fuzz, libFuzzer), kept here so
//! that a plain `cargo test` can replay their corpora (`tests/it/fuzz_corpus.rs`)
//! on the stable toolchain. Each function takes arbitrary bytes and must never
//! panic, hang or allocate without bound: errors are the expected outcome.
//!
//! Not a public API: the functions swallow every error.

use std::path::Path;

use crate::caffe_io::{self, Limits, Reader};
use crate::graph_ir::{LoadOptions, MissingWeights, Net};
use crate::onnx_export::{self, BatchDim, ExportOptions, SpatialDims};
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

/// A net built from the layer registry (the `layers` target): where the
/// byte-level targets mostly stop in the parser, this one reaches every
/// layer type's setup and lowering with any wiring (0-3 bottoms taken from
/// the blobs before it, 0-3 tops, in place) and any value in any field of
/// any `*_param` block, through load, listing, export and save.
#[derive(Debug, arbitrary::Arbitrary)]
pub struct LayerGraph {
    /// The Input layer's one shape: up to 5 axes of 0 to 15.
    pub input_dims: Vec<u8>,
    pub layers: Vec<FuzzLayer>,
}

/// One layer of a [`LayerGraph`].
#[derive(Debug, arbitrary::Arbitrary)]
pub struct FuzzLayer {
    /// Index into the registry's type names (wrapping).
    pub type_index: u16,
    /// Indices into the blobs made so far (wrapping).
    pub bottoms: Vec<u8>,
    pub tops: u8,
    /// Top 0 is bottom 0.
    pub in_place: bool,
    pub fields: Vec<FuzzField>,
}

/// One value set in a layer's parameter: field `field` (wrapping) of the
/// `*_param` block `block` (wrapping).
#[derive(Debug, arbitrary::Arbitrary)]
pub struct FuzzField {
    pub block: u16,
    pub field: u16,
    pub value: i32,
}

/// The `layers` target: `data` read as a [`LayerGraph`].
pub fn layers(data: &[u8]) {
    let mut input = arbitrary::Unstructured::new(data);
    if let Ok(graph) = <LayerGraph as arbitrary::Arbitrary>::arbitrary(&mut input) {
        layer_graph(&graph);
    }
}

/// Builds, loads, lists, exports and saves one [`LayerGraph`].
pub fn layer_graph(graph: &LayerGraph) {
    let Some(param) = net_of(graph) else {
        return;
    };
    let options = LoadOptions {
        limits: export_limits(),
        missing_weights: MissingWeights::Filler,
        ..Default::default()
    };
    let Ok(net) = Net::from_proto_with(param, None, &options) else {
        return;
    };
    let _ = net.blobs();
    let _ = net.to_proto();
    for (batch, spatial) in [
        (BatchDim::Fixed, SpatialDims::Fixed),
        (BatchDim::Symbolic("N".into()), SpatialDims::Symbolic),
    ] {
        let options = ExportOptions {
            batch,
            spatial,
            ..Default::default()
        };
        if let Ok(exported) = onnx_export::export(&net, &options) {
            let _ = onnx_export::encode_model_with(&exported.model, &exported.payloads, std::io::sink());
        }
    }
}

/// The NetParameter a [`LayerGraph`] describes (None when a field value does
/// not fit its field, which the prototxt parser would refuse too).
fn net_of(graph: &LayerGraph) -> Option<caffe_io::NetParameter> {
    use caffe_io::proto::{BlobShape, InputParameter, LayerParameter, NetParameter};
    use prost_reflect::{DynamicMessage, Kind, Value};

    let types = crate::graph_ir::LayerRegistry::builtin().type_names();
    let descriptor = caffe_io::text::message("LayerParameter");
    let blocks: Vec<_> = descriptor
        .fields()
        .filter(|f| f.name().ends_with("_param") && matches!(f.kind(), Kind::Message(_)))
        .collect();
    let mut blobs = vec!["data".to_string()];
    let mut layers = vec![LayerParameter {
        name: Some("data".into()),
        r#type: Some("Input".into()),
        top: vec!["data".into()],
        input_param: Some(InputParameter {
            shape: vec![BlobShape {
                dim: graph.input_dims.iter().take(5).map(|&d| i64::from(d % 16)).collect(),
            }],
        }),
        ..Default::default()
    }];
    for (i, fuzz) in graph.layers.iter().take(8).enumerate() {
        let mut layer = DynamicMessage::new(descriptor.clone());
        for field in fuzz.fields.iter().take(6) {
            let block = &blocks[usize::from(field.block) % blocks.len()];
            let Kind::Message(block_kind) = block.kind() else {
                continue;
            };
            let scalars: Vec<_> = block_kind
                .fields()
                .filter(|f| !matches!(f.kind(), Kind::Message(_) | Kind::String | Kind::Bytes))
                .collect();
            if scalars.is_empty() {
                continue;
            }
            let target = &scalars[usize::from(field.field) % scalars.len()];
            let value = match target.kind() {
                Kind::Float => Value::F32(field.value as f32 / 16.0),
                Kind::Double => Value::F64(f64::from(field.value) / 16.0),
                Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(field.value),
                Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(i64::from(field.value)),
                Kind::Uint32 | Kind::Fixed32 => Value::U32(field.value.unsigned_abs() % 64),
                Kind::Uint64 | Kind::Fixed64 => Value::U64(u64::from(field.value.unsigned_abs() % 64)),
                Kind::Bool => Value::Bool(field.value % 2 != 0),
                Kind::Enum(e) => Value::EnumNumber(
                    e.values()
                        .nth(field.value.unsigned_abs() as usize % e.values().len())?
                        .number(),
                ),
                _ => continue,
            };
            let mut sub = match layer.get_field(block).into_owned() {
                Value::Message(m) => m,
                _ => DynamicMessage::new(block_kind.clone()),
            };
            if target.is_list() {
                let mut list = match sub.get_field(target).into_owned() {
                    Value::List(l) => l,
                    _ => Vec::new(),
                };
                list.push(value);
                sub.set_field(target, Value::List(list));
            } else {
                sub.set_field(target, value);
            }
            layer.set_field(block, Value::Message(sub));
        }
        let mut layer: LayerParameter = layer.transcode_to().ok()?;
        layer.name = Some(format!("l{i}"));
        layer.r#type = Some(types[usize::from(fuzz.type_index) % types.len()].to_string());
        layer.bottom = fuzz
            .bottoms
            .iter()
            .take(3)
            .map(|&b| blobs[usize::from(b) % blobs.len()].clone())
            .collect();
        layer.top = (0..fuzz.tops % 4).map(|t| format!("l{i}_t{t}")).collect();
        if fuzz.in_place {
            if let (Some(first), Some(top)) = (layer.bottom.first().cloned(), layer.top.first_mut()) {
                *top = first;
            }
        }
        blobs.extend(layer.top.iter().cloned());
        layers.push(layer);
    }
    Some(NetParameter {
        name: Some("fuzz".into()),
        layer: layers,
        ..Default::default()
    })
}
