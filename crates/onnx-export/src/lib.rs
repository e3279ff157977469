//! Export to ONNX: [`export`] turns a graph-ir net into an ONNX model with
//! Caffe's exact semantics (one module per layer family in `ops/`), on top of
//! the prost types of `proto/onnx.proto` ([`onnx`]), a [`GraphBuilder`] that
//! assembles graphs with unique names and a correct model header, and a
//! writer that streams weights to disk, inline or as ONNX external data for
//! models past protobuf's 2 GB limit.
//!
//! ```no_run
//! let net = graph_ir::Net::load_with_weights("deploy.prototxt", "weights.caffemodel")?;
//! let exported = onnx_export::export(&net, &onnx_export::ExportOptions::default())?;
//! // Weights go from the net to the file without a copy in between.
//! exported.write("net.onnx", &onnx_export::WriteOptions::default())?;
//! println!("blob conv1 is tensor {:?}", exported.tensor_of("conv1"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A fully convolutional net exported once for every image size (height and
//! width become the symbolic dims "H" and "W"; layers that would fix a size,
//! such as an InnerProduct, make the export fail with the layer named):
//!
//! ```no_run
//! use onnx_export::{export, ExportOptions, SpatialDims, WriteOptions};
//! let net = graph_ir::Net::load_with_weights("full_conv.prototxt", "full_conv.caffemodel")?;
//! let options = ExportOptions { spatial: SpatialDims::Symbolic, ..Default::default() };
//! export(&net, &options)?.write("full_conv.onnx", &WriteOptions::default())?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Building a graph by hand:
//!
//! ```no_run
//! use onnx_export::{attr, builder::dims, GraphBuilder, ModelOptions, WriteOptions};
//! let mut g = GraphBuilder::new("net");
//! g.add_input("data", &dims(&[1, 3, 8, 8]))?;
//! let w = g.initializer_f32_owned("conv/W", ndarray::ArrayD::zeros(vec![4, 3, 3, 3]))?;
//! g.add_node("Conv", "conv", &["data", &w], &["conv"], vec![attr::ints("pads", &[1, 1, 1, 1])])?;
//! g.add_output("conv", None)?;
//! let model = g.into_model(&ModelOptions::default())?;
//! onnx_export::write_model("net.onnx", &model, &WriteOptions::default())?;
//! # Ok::<(), onnx_export::Error>(())
//! ```

pub mod attr;
pub mod builder;
mod error;
mod export;
pub mod external;
mod lowering;
mod ops;
pub mod payloads;
mod sink;
pub mod tensor;

pub mod onnx {
    //! Plain prost types generated from `proto/onnx.proto` (package `onnx`).
    #![allow(clippy::all, missing_docs)]
    include!(concat!(env!("OUT_DIR"), "/onnx.rs"));

    impl std::fmt::Debug for TensorProto {
        // Generated Debug would print every weight; show sizes instead.
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            let mut s = f.debug_struct("TensorProto");
            s.field("name", &self.name())
                .field("data_type", &self.data_type())
                .field("dims", &self.dims);
            if let Some(raw) = &self.raw_data {
                s.field("raw_data", &format_args!("<{} bytes>", raw.len()));
            }
            for (field, len) in [
                ("float_data", self.float_data.len()),
                ("int32_data", self.int32_data.len()),
                ("int64_data", self.int64_data.len()),
                ("double_data", self.double_data.len()),
                ("uint64_data", self.uint64_data.len()),
                ("string_data", self.string_data.len()),
            ] {
                if len > 0 {
                    s.field(field, &format_args!("<{len} values>"));
                }
            }
            if self.data_location.is_some() {
                s.field("data_location", &self.data_location());
            }
            if !self.external_data.is_empty() {
                s.field("external_data", &self.external_data);
            }
            s.finish_non_exhaustive()
        }
    }

    // `skip_debug` on TensorProto also covers its nested types; these are small.
    impl std::fmt::Debug for tensor_proto::DataType {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.as_str_name())
        }
    }

    impl std::fmt::Debug for tensor_proto::DataLocation {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.as_str_name())
        }
    }

    impl std::fmt::Debug for tensor_proto::Segment {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("Segment")
                .field("begin", &self.begin)
                .field("end", &self.end)
                .finish()
        }
    }
}

pub use builder::{ir_version_for_opset, Dim, GraphBuilder, ModelOptions, DEFAULT_OPSET, PRODUCER_NAME};
pub use error::{Error, Result};
pub use export::{export, BatchDim, Export, ExportOptions, ExportedBlob, SpatialDims, SymbolicInput};
pub use external::{
    encode_model, encode_model_with, read_model, write_model, write_model_with, ExternalData, WriteOptions,
    WriteSummary,
};
pub use lowering::{LowerFn, LoweringError, Lowerings};
pub use onnx::ModelProto;
pub use ops::LayerCx;
pub use payloads::Payloads;
