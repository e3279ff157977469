//! A layer netsurgeon does not have, added by a program: `Mish`
//! (`x * tanh(softplus(x))`, the activation of YOLOv4's Caffe ports), then
//! loaded, inspected, run, exported to ONNX, run from the ONNX file and
//! saved, exactly as a built-in layer would be.
//!
//!     cargo run --release --example custom_layer [OUT_DIR]
//!
//! Registering a layer takes two functions and one call: the Caffe side
//! (`setup`: parameters, shape rule, params) and the ONNX side (`lower`).
//! `tests/it/custom_layer.rs` checks this layer against numbers that do not come
//! from netsurgeon (the formula in f64, and onnxruntime's own Mish operator).

use std::path::PathBuf;

use netsurgeon::graph_ir::caffe_io::proto::LayerParameter;
use netsurgeon::graph_ir::registry::{AxisFlow, LayerOp, LayerType, Setup, SetupCx};
use netsurgeon::graph_ir::{Net, Shape};
use netsurgeon::onnx_export::LayerCx;
use netsurgeon::Layers;

/// The Caffe side: one bottom, one top of its shape, no params.
pub const MISH: LayerType = LayerType::new(&["Mish"], mish_setup);

/// The op a Mish layer sets up to (no parameters to resolve).
#[derive(Debug, Clone, PartialEq)]
pub struct Mish;

impl LayerOp for Mish {
    /// Element-wise: each value is read before it is written.
    fn computes_in_place(&self) -> bool {
        true
    }

    /// The top's axes are the bottom's, symbolic ones included.
    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        Some(flow.same_as_bottom(0))
    }
}

/// Caffe's `LayerSetUp` + `Reshape`: the top has the bottom's shape. (A layer
/// with parameters reads them from `layer` here and refuses bad values with
/// `cx.invalid(..)`, which names the layer.)
fn mish_setup(
    cx: &SetupCx<'_>,
    _layer: &LayerParameter,
    bottoms: Option<&[Shape]>,
) -> netsurgeon::graph_ir::Result<Setup> {
    Ok(match bottoms {
        Some(inputs) => Setup::known(Mish, vec![inputs[0].clone()], Vec::new()),
        None => Setup::unknown(Mish, cx.num_tops),
    })
}

/// The ONNX side: `x * Tanh(Softplus(x))`, which every opset has (ONNX's own
/// `Mish` operator needs opset 18, and tract does not run it).
fn mish_lower(cx: &mut LayerCx<'_, '_>, _op: &Mish) -> netsurgeon::onnx_export::Result<()> {
    let (x, y) = (cx.input(0).to_string(), cx.out(0));
    let softplus = cx.tmp("Softplus", "softplus", &[&x], vec![])?;
    let tanh = cx.tmp("Tanh", "tanh", &[&softplus], vec![])?;
    cx.node("Mul", &[&x, &tanh], &[&y], vec![])
}

/// The built-in layers plus Mish.
pub fn layers() -> Layers {
    let mut layers = Layers::builtin();
    layers.register(MISH, mish_lower).expect("Mish is not a built-in type");
    layers
}

/// A small net with Mish after a convolution, computed in place.
pub const PROTOTXT: &str = r#"name: "mish_net"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 12 dim: 12 } } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
        convolution_param { num_output: 4 kernel_size: 3 } }
layer { name: "mish" type: "Mish" bottom: "conv" top: "conv" }
layer { name: "pool" type: "Pooling" bottom: "conv" top: "pool" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "fc" type: "InnerProduct" bottom: "pool" top: "fc" inner_product_param { num_output: 5 } }
layer { name: "mish_fc" type: "Mish" bottom: "fc" top: "out" }
"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "custom-layer-demo".into()));
    std::fs::create_dir_all(&out)?;
    let layers = layers();

    // Load: the Mish layers are set up like any other (shapes known, checked).
    let prototxt = out.join("mish_net.prototxt");
    std::fs::write(&prototxt, PROTOTXT)?;
    let mut net = Net::load_with(&prototxt, None, &layers.load_options())?;
    net.synthesize_params(7);

    // Inspect.
    for blob in net.blobs()? {
        println!("blob {} {:?}", blob.name, blob.shape);
    }

    // Forward, pycaffe style: every blob by name.
    let input = ndarray::Array::from_shape_fn((1, 3, 12, 12), |(_, c, y, x)| {
        ((c * 144 + y * 12 + x) as f32 * 0.37).sin() * 3.0
    })
    .into_dyn();
    let options = layers.forward_options().all_blobs(true);
    let blobs = netsurgeon::forward(&net, [("data", input.clone())], &options)?;
    println!("forward: out = {:?}", blobs["out"].iter().collect::<Vec<_>>());

    // Convert to ONNX, then run the file.
    let onnx = out.join("mish_net.onnx");
    let exported = netsurgeon::onnx_export::export(&net, &layers.export_options())?;
    exported.write(&onnx, &Default::default())?;
    let session = netsurgeon::runtime::SessionBuilder::from_path(&onnx)?.build()?;
    let ran = session.run(vec![input])?;
    let (name, value) = &ran[0];
    let diff = value
        .iter()
        .zip(blobs["out"].iter())
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    println!(
        "run {}: {name} {:?}, max |diff| to forward {diff:e}",
        onnx.display(),
        value.shape()
    );

    // Save as a Caffe model: the Mish layers are written back as they were.
    let (saved_proto, saved_weights) = (out.join("saved.prototxt"), out.join("saved.caffemodel"));
    net.save(&saved_proto, &saved_weights)?;
    let again = Net::load_with(&saved_proto, Some(&saved_weights), &layers.load_options())?;
    println!(
        "saved {} and {}; reloaded, layer 'mish' has type {}",
        saved_proto.display(),
        saved_weights.display(),
        again.layer("mish").map_or("?", |l| l.type_name())
    );
    Ok(())
}
