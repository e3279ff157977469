//! Execution with tract: load an exported ONNX model, fix its input shapes,
//! expose any tensor as an output, run it on `ndarray` arrays ([`session`]),
//! and compare every blob against a reference ([`compare`](mod@compare)).
//!
//! tract re-exports the ndarray it is built with as `tract_ndarray`; this
//! crate's API takes the workspace's `ndarray::ArrayD`, which is the same crate
//! (0.17), so arrays pass between the two without conversion.
//!
//! ```no_run
//! use netsurgeon_runtime::SessionBuilder;
//! let session = SessionBuilder::from_path("net.onnx")?
//!     .input_shape("data", &[1, 3, 227, 227])?
//!     .outputs(["conv1", "prob"])?
//!     .build()?;
//! let outputs = session.run(vec![ndarray::ArrayD::zeros(vec![1, 3, 227, 227])])?;
//! for (name, blob) in &outputs {
//!     println!("{name}: {:?}", blob.shape());
//! }
//! # Ok::<(), netsurgeon_runtime::Error>(())
//! ```

pub mod compare;
mod error;
mod guard;
pub mod session;
mod validate;

pub use compare::{compare, BlobReport, BlobStatus, GoldenDir, Report, DEFAULT_TOLERANCE};
pub use error::{Error, Result};
pub use session::{LenientRun, Session, SessionBuilder};

// Fails to compile if tract's ndarray and the workspace's diverge.
const _: fn(ndarray::ArrayD<f32>) -> tract_onnx::prelude::tract_ndarray::ArrayD<f32> = |a| a;
