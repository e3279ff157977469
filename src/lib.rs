//! netsurgeon: Caffe net surgery in Rust.
//!
//! Read Caffe models (`.prototxt` + `.caffemodel`), operate on them as pycaffe's
//! net-surgery tutorial does, and export them to ONNX checked with tract. This
//! facade re-exports the stage crates and ties them together:
//!
//! - [`caffe_io`]: Caffe's file formats, read and written exactly.
//! - [`graph_ir`]: the net as a typed graph: shapes, surgery API, passes.
//! - [`onnx_export`]: the net as ONNX with Caffe's exact semantics.
//! - [`tract_runtime`]: running ONNX with tract, comparing blobs.
//! - [`caffe_preprocess`]: pycaffe's image loading and `Transformer`.
//! - [`forward`]: pycaffe's `net.forward()` (export + tract), every blob by name.
//!
//! ```no_run
//! use std::collections::HashMap;
//! use netsurgeon::graph_ir::{passes, Net};
//!
//! let mut net = Net::load("deploy.prototxt", Some("weights.caffemodel".as_ref()))?;
//! passes::full_conv(&mut net, "data", &[1, 3, 451, 451])?;
//! let image = ndarray::ArrayD::<f32>::zeros(vec![1, 3, 451, 451]);
//! let blobs = netsurgeon::forward(&net, HashMap::from([("data".to_string(), image)]), true)?;
//! println!("{:?}", blobs.get("prob").unwrap().shape()); // [1, 1000, 8, 8]
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod forward;
#[doc(hidden)]
pub mod fuzzing;

pub use caffe_io;
pub use caffe_preprocess;
pub use forward::{forward, Blobs, Forward, ForwardError, ForwardOptions};
pub use graph_ir;
pub use onnx_export;
pub use tract_runtime;

/// The converter's version, as recorded in exported models.
pub const VERSION: &str = env!("NETSURGEON_VERSION");
