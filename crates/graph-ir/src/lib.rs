//! Caffe nets as a typed graph: Caffe's layer semantics and shape rules, the
//! pycaffe-style surgery API, and rewrite passes.
//!
//! A [`Net`] holds its layers in order; each [`Layer`] keeps its Caffe
//! `LayerParameter` (the source of truth, written back on save), a typed
//! [`Op`] derived from it with Caffe's defaults and rules, and its params as
//! `ArrayD<f32>`. Choices worth knowing:
//!
//! - Caffe's automatic Split layers are a listing matter: the graph keeps the
//!   prototxt's blob names, and [`Net::blobs`] / [`Net::runtime_layers`] list
//!   the `<blob>_<layer>_<i>_split_<j>` copies exactly as pycaffe does
//!   ([`BlobInfo::split_of`] names the blob each copies).
//! - Nets are filtered for a [`NetState`] (TEST by default). Data layers that
//!   read their shape from a database load fine; asking for a shape that
//!   depends on one is [`Error::UnknownShape`], naming the layer, until
//!   [`Net::reshape_input`] declares it.
//! - Without weights, params take their constant fillers' values (random
//!   fillers give 0, or seeded draws with [`LoadOptions::filler_seed`], see
//!   [`fillers`]). Params shared by `param { name }` are not tied: each
//!   layer holds its own copy.
//!
//! ```no_run
//! use graph_ir::Net;
//! let mut net = Net::load_with_weights("deploy.prototxt", "weights.caffemodel")?;
//! for blob in net.blobs()? {
//!     println!("{} {:?}", blob.name, blob.shape);
//! }
//! graph_ir::passes::full_conv(&mut net, "data", &[1, 3, 451, 451])?;
//! net.save("full_conv.prototxt", "full_conv.caffemodel")?;
//! # Ok::<(), graph_ir::Error>(())
//! ```

mod error;
pub mod fillers;
pub mod names;
pub mod net;
pub mod ops;
pub mod passes;
pub mod registry;
mod save;
pub mod shape;
mod splits;
pub mod surgery;
mod synth;
pub use synth::Unfilled;
mod weights;

pub use caffe_io;
pub use caffe_io::{Limit, Limits};
pub use error::{Error, Result};
pub use net::{Layer, LoadOptions, MissingWeights, Net, NetState};
pub use registry::{LayerOp, LayerRegistry, LayerType, Op};
pub use shape::Shape;
pub use surgery::{BlobInfo, CopyReport, ListedBlob, RuntimeLayer};
