//! netsurgeon: Caffe net surgery in Rust.
//!
//! Read Caffe models (`.prototxt` + `.caffemodel`), operate on them as pycaffe's
//! net-surgery tutorial does, and export them to ONNX checked with tract. This
//! facade re-exports the stage crates and ties them together:
//!
//! - [`caffe_io`]: Caffe's file formats, read and written exactly.
//! - [`graph_ir`]: the net as a typed graph: shapes, surgery API, passes.
//! - [`onnx_export`]: the net as ONNX with Caffe's exact semantics.
//! - [`runtime`]: running ONNX with tract, comparing blobs.
//! - [`onnx_import`]: ONNX models to Caffe nets, exact or refused ([`to_caffe`](mod@to_caffe) adds the self-check).
//! - [`caffe_preprocess`]: pycaffe's image loading and `Transformer`.
//! - [`forward`](mod@forward): pycaffe's `net.forward()` (export + tract), every blob by name.
//! - [`layers`]: a program's own layer types, registered once for every stage.
//!
//! ```no_run
//! use netsurgeon::graph_ir::{passes, Net};
//! use netsurgeon::ForwardOptions;
//!
//! let mut net = Net::load_with_weights("deploy.prototxt", "weights.caffemodel")?;
//! passes::full_conv(&mut net, "data", &[1, 3, 451, 451])?;
//! let image = ndarray::ArrayD::<f32>::zeros(vec![1, 3, 451, 451]);
//! let blobs = netsurgeon::forward(&net, [("data", image)], &ForwardOptions::default())?;
//! println!("{:?}", blobs["prob"].shape()); // [1, 1000, 8, 8]
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Features: `cli` (default) builds the `netsurgeon` command line and its
//! dependencies; a program that only uses the library can depend on
//! `netsurgeon` with `default-features = false`. `fuzzing` exposes the
//! bodies of the cargo-fuzz targets (`fuzz/`).

pub mod forward;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod layers;
pub mod stats;
pub mod to_caffe;

pub use caffe_io;
pub use caffe_preprocess;
pub use forward::{forward, Blobs, Forward, ForwardError, ForwardOptions};
pub use graph_ir;
pub use layers::{Layers, RegisterError};
/// Result images as PNG (the `render` feature, on with `cli`).
#[cfg(feature = "render")]
pub use netsurgeon_render as render;
pub use netsurgeon_runtime as runtime;
pub use onnx_export;
pub use onnx_import;

/// The converter's version, as recorded in exported models.
pub const VERSION: &str = env!("NETSURGEON_VERSION");
