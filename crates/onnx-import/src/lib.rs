//! ONNX to Caffe: [`import`] reads an ONNX model (opsets 7 to 21, static or
//! user-fixed input shapes) into a graph-ir [`Net`](graph_ir::Net) that
//! computes what the model computes, and [`Imported::save`] writes it as a
//! prototxt and a caffemodel through graph-ir's save path.
//!
//! Every node becomes Caffe layers by an exact mapping, an exact
//! composition (Caffe's ceil-rounded pooling cropped to ONNX's floor,
//! asymmetric pads as a symmetric pad and a crop, Clip as max/negation,
//! nearest Resize as a Deconvolution of ones...), is folded at import
//! (shape arithmetic, constants: no onnxsim needed), or is refused with its
//! name, op type and the reason; a refused model writes nothing. Which
//! layers may be written is the [`Dialect`]'s choice. One module per ONNX op
//! family under `ops/`, registered by name in the [`OnnxOpRegister`].
//!
//! ```no_run
//! use onnx_import::{import_file, Dialect, ImportOptions};
//! let options = ImportOptions { dialect: Dialect::Caffe1, ..Default::default() };
//! let imported = import_file("model.onnx", &options)?;
//! for entry in &imported.report.nodes {
//!     println!("{} ({}): {} -> {:?}", entry.node, entry.op_type, entry.how, entry.layers);
//! }
//! imported.save("model.prototxt".as_ref(), "model.caffemodel".as_ref())?;
//! # Ok::<(), onnx_import::Error>(())
//! ```

pub mod adapt;
mod constant;
mod cx;
mod dialect;
mod error;
mod fold;
mod fuse;
mod import;
mod node;
pub mod ops;
mod registry;
mod report;
#[cfg(test)]
mod tests;

pub use constant::Const;
pub use cx::{sanitize, Blob, Cx, Value};
pub use dialect::Dialect;
pub use error::{Error, OpError, OpResult, Refusal, Refusals, Result};
pub use import::{import, import_file, ImportOptions, Imported, OPSETS};
pub use node::{normalize_axis, Node};
pub use registry::{MapFn, Mapped, OnnxOpRegister};
pub use report::{How, NodeReport, Report};
