//! No panic from structure: every registered layer type is set up with 0 to
//! 3 bottoms and 0 to 3 tops, in place, and with odd parameters (zero and
//! negative sizes, axes out of range, empty lists), then loaded, listed
//! (`blobs`, as `inspect` does) and exported. Each net must load or be
//! refused with an error naming the layer; a net that loads must list its
//! blobs or say why not, and export or be refused naming a layer. A panic
//! anywhere fails the test with the net that caused it.

use std::panic::{catch_unwind, AssertUnwindSafe};

use graph_ir::{LayerRegistry, Net};
use onnx_export::{export, BatchDim, ExportOptions, SpatialDims};

/// Three inputs: two 4-D blobs of one shape and a 2-D one.
const INPUT: &str = r#"layer { name: "in" type: "Input" top: "a" top: "b" top: "c"
  input_param { shape { dim: 2 dim: 6 dim: 8 dim: 8 } shape { dim: 2 dim: 6 dim: 8 dim: 8 } shape { dim: 2 dim: 3 } } }"#;

/// Parameter blocks with the values converters trip on; each is tried with
/// every type (a block for another type is ignored by Caffe, as here).
const ODD_PARAMS: &[&str] = &[
    "",
    "convolution_param { num_output: 0 kernel_size: 0 }",
    "convolution_param { num_output: 4 kernel_size: 3 stride: 0 }",
    "convolution_param { num_output: 4 kernel_size: 9 pad: 0 }",
    "convolution_param { num_output: 4 kernel_size: 1 group: 5 axis: 7 }",
    "convolution_param { num_output: 4 kernel_size: 3 dilation: 0 }",
    "pooling_param { kernel_size: 0 stride: 0 }",
    "pooling_param { kernel_size: 20 }",
    "pooling_param { pool: AVE kernel_size: 3 pad: 3 }",
    "pooling_param { global_pooling: true kernel_size: 2 }",
    "inner_product_param { num_output: 0 axis: -9 }",
    "inner_product_param { num_output: 3 axis: 4 }",
    "lrn_param { local_size: 0 }",
    "lrn_param { local_size: 4 }",
    "softmax_param { axis: 9 }",
    "softmax_param { axis: -9 }",
    "concat_param { axis: 5 }",
    "slice_param { axis: 1 slice_point: 9 }",
    "slice_param { axis: 1 slice_point: 3 slice_point: 2 }",
    "slice_param { axis: -7 }",
    "eltwise_param { operation: PROD coeff: 2 }",
    "eltwise_param { coeff: 1 }",
    "scale_param { axis: 9 num_axes: -2 }",
    "scale_param { axis: 1 num_axes: 9 bias_term: true }",
    "bias_param { axis: -9 }",
    "flatten_param { axis: 3 end_axis: 1 }",
    "reshape_param { shape { dim: -1 dim: -1 } }",
    "reshape_param { shape { dim: 7 } }",
    "reshape_param { shape { dim: 0 dim: 0 dim: 0 dim: 0 dim: 0 } }",
    "reshape_param { shape { } axis: 9 num_axes: -3 }",
    "crop_param { axis: 9 offset: 100 }",
    "crop_param { offset: 1 offset: 2 offset: 3 offset: 4 offset: 5 }",
    "argmax_param { top_k: 0 }",
    "argmax_param { top_k: 100 axis: 9 }",
    "mvn_param { across_channels: true eps: -1 }",
    "tile_param { tiles: 0 }",
    "tile_param { tiles: -2 axis: 8 }",
    "reduction_param { axis: 9 }",
    "reduction_param { operation: MEAN axis: -9 coeff: 0 }",
    "embed_param { num_output: 0 input_dim: 0 }",
    "embed_param { num_output: 3 input_dim: 4 }",
    "parameter_param { shape { dim: -4 } }",
    "parameter_param { shape { } }",
    "permute_param { order: 9 }",
    "permute_param { order: 0 order: 0 }",
    "norm_param { channel_shared: true eps: -1 }",
    "prior_box_param { min_size: 0 }",
    "prior_box_param { min_size: -3 max_size: -4 aspect_ratio: 0 }",
    "prior_box_param { min_size: 4 step: 0 offset: 9 }",
    "prior_box_param { min_size: 4 variance: 0.1 variance: 0.2 }",
    "shuffle_channel_param { group: 0 }",
    "shuffle_channel_param { group: 4 }",
    "clip_param { min: 1 max: 0 }",
    "power_param { power: -1 scale: 0 }",
    "exp_param { base: -2 }",
    "log_param { base: 1 }",
    "threshold_param { threshold: nan }",
    "prelu_param { channel_shared: false }",
    "batch_norm_param { use_global_stats: false eps: -1 }",
    "input_param { shape { dim: 0 } }",
    "input_param { shape { dim: -1 dim: 3 } }",
    "dummy_data_param { shape { dim: 0 } }",
    "memory_data_param { batch_size: 0 channels: 0 }",
    "accuracy_param { top_k: 0 axis: 9 }",
    "loss_param { ignore_label: -1 }",
];

/// Bottom lists: none, one to three 4-D blobs, the 2-D blob, a 4-D with the 2-D.
const BOTTOMS: &[&[&str]] = &[&[], &["a"], &["a", "b"], &["a", "b", "c"], &["c"], &["a", "c"]];

/// Top lists; `@0` stands for bottom 0 (in place).
const TOPS: &[&[&str]] = &[&[], &["t0"], &["t0", "t1"], &["t0", "t1", "t2"], &["@0"], &["@0", "t1"]];

#[derive(Default)]
struct Counts {
    nets: usize,
    refused_at_load: usize,
    loaded: usize,
    exported: usize,
    refused_at_export: usize,
}

#[test]
fn every_type_survives_every_wiring_and_odd_params() {
    let registry = LayerRegistry::builtin();
    let mut counts = Counts::default();
    let mut failures = Vec::new();
    for type_name in registry.type_names() {
        for params in ODD_PARAMS {
            for bottoms in BOTTOMS {
                for tops in TOPS {
                    if tops.contains(&"@0") && bottoms.is_empty() {
                        continue;
                    }
                    let text = net_text(type_name, bottoms, tops, params);
                    counts.nets += 1;
                    if let Err(why) = check_net(&text, &mut counts) {
                        failures.push(format!("{why}\n  net: {text}"));
                    }
                }
            }
        }
    }
    eprintln!(
        "structure: {} types, {} nets: {} refused at load, {} loaded, {} exported, {} refused at export",
        registry.type_names().len(),
        counts.nets,
        counts.refused_at_load,
        counts.loaded,
        counts.exported,
        counts.refused_at_export
    );
    assert!(
        failures.is_empty(),
        "{} failures, first ones:\n{}",
        failures.len(),
        failures[..failures.len().min(12)].join("\n")
    );
    // The sweep must reach every stage, or it proves nothing.
    assert!(counts.exported > 1000 && counts.refused_at_load > 1000 && counts.refused_at_export > 100);
}

fn net_text(type_name: &str, bottoms: &[&str], tops: &[&str], params: &str) -> String {
    let bottoms: String = bottoms.iter().map(|b| format!(" bottom: \"{b}\"")).collect();
    let first_bottom = bottoms.split('"').nth(1).unwrap_or("").to_string();
    let tops: String = tops
        .iter()
        .map(|t| {
            let t = if *t == "@0" { first_bottom.as_str() } else { t };
            format!(" top: \"{t}\"")
        })
        .collect();
    format!("{INPUT}\nlayer {{ name: \"l\" type: \"{type_name}\"{bottoms}{tops} {params} }}")
}

/// Loads, lists and exports one net; Err describes a panic or an error that
/// does not name the layer.
fn check_net(text: &str, counts: &mut Counts) -> Result<(), String> {
    let run = catch_unwind(AssertUnwindSafe(|| -> Result<(), String> {
        let param = match caffe_io::parse_prototxt(text, std::path::Path::new("net.prototxt")) {
            Ok(p) => p,
            // The parser's own refusals (a negative dim in a uint field, ...) name the line.
            Err(e) => {
                counts.refused_at_load += 1;
                return names_a_place(&e.to_string(), "net.prototxt");
            }
        };
        let net = match Net::from_proto(param, None) {
            Ok(net) => net,
            Err(e) => {
                counts.refused_at_load += 1;
                return names_a_place(&e.to_string(), "'l'");
            }
        };
        counts.loaded += 1;
        if let Err(e) = net.blobs() {
            names_a_place(&e.to_string(), "'l'")?;
        }
        for options in [
            ExportOptions::default(),
            ExportOptions {
                batch: BatchDim::Symbolic("N".into()),
                spatial: SpatialDims::Symbolic,
                ..ExportOptions::default()
            },
        ] {
            match export(&net, &options) {
                Ok(_) => counts.exported += 1,
                Err(e) => {
                    counts.refused_at_export += 1;
                    // An export refusal names a layer (ours, or the input
                    // whose size cannot be symbolic).
                    let message = e.to_string();
                    if !message.contains("'l'") && !message.contains("'in'") && !message.contains("layer") {
                        return Err(format!("export error names no layer: {message}"));
                    }
                }
            }
        }
        Ok(())
    }));
    match run {
        Ok(result) => result,
        Err(panic) => {
            let what = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Err(format!("PANIC: {what}"))
        }
    }
}

fn names_a_place(message: &str, place: &str) -> Result<(), String> {
    if message.contains(place) {
        Ok(())
    } else {
        Err(format!("error does not name {place}: {message}"))
    }
}
