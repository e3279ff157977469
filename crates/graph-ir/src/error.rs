//! The one error type of graph-ir: every variant names the layer (or blob) it
//! is about and, where shapes are involved, the shapes, because a user facing
//! a 60-layer net cannot guess which of them Caffe would have rejected.

use caffe_io::blob::BlobError;

use crate::shape::{fmt_shape, fmt_shapes, Shape};

/// Errors of graph-ir.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a model file failed (the file is named inside).
    #[error(transparent)]
    Io(#[from] caffe_io::Error),

    /// The layer's type is not one this crate models, and something needed
    /// what it computes (a shape, an export, a forward pass).
    #[error(
        "layer '{layer}' has type '{type_name}', which netsurgeon does not model (a Python layer, or a layer \
         from a fork of Caffe?){}; the rest of the net can still be inspected (`netsurgeon inspect` lists \
         every blob before it) and edited, but to export or run the net, remove or replace the layer, or cut \
         the net before it (convert --outputs BLOB,...).{} \
         Modelled types: {}",
        blob.as_ref().map(|b| format!(", so blob '{b}' has no known shape")).unwrap_or_default(),
        type_hint(type_name),
        supported.join(", ")
    )]
    UnsupportedLayer {
        layer: String,
        type_name: String,
        /// The blob whose shape was asked for, if that is what failed.
        blob: Option<String>,
        supported: Vec<&'static str>,
    },

    /// A bottom names a blob that no earlier layer produces (after phase filtering).
    #[error(
        "layer '{layer}' ({type_name}): bottom {index} '{blob}' is not produced by any earlier layer \
         (layers excluded by the phase/stage rules do not count)"
    )]
    UnknownBottom {
        layer: String,
        type_name: String,
        blob: String,
        index: usize,
    },

    /// A top reuses a blob name without being in place (Caffe: "produced by multiple sources").
    #[error(
        "layer '{layer}' ({type_name}): top '{blob}' is already produced by layer '{producer}'; a layer may \
         reuse a blob name only to compute in place (top i == bottom i), and only when no other layer also \
         reads that blob (Caffe then inserts a Split and the in-place top becomes a second producer)"
    )]
    DuplicateTop {
        layer: String,
        type_name: String,
        blob: String,
        producer: String,
    },

    /// A layer of a type netsurgeon models carries a field that BVLC Caffe's
    /// schema lacks (a fork's field, or a misspelling) and that the type does
    /// not read.
    #[error(
        "layer '{layer}' ({type_name}){}: field '{field}' is not in BVLC Caffe's schema and netsurgeon's \
         {type_name} does not read it (a field of a fork of Caffe, or a misspelling?); computing the layer \
         without it could give other numbers than the model's own Caffe, so it is refused. Remove the field, \
         or register a {type_name} that reads it (Layers::register, see examples/custom_layer.rs)",
        line.map(|l| format!(", line {l}")).unwrap_or_default()
    )]
    UnknownField {
        layer: String,
        type_name: String,
        field: String,
        /// The prototxt line the field is on, when it came from text.
        line: Option<u32>,
    },

    /// Wrong number of bottoms or tops for the layer type.
    #[error("layer '{layer}' ({type_name}): has {actual} {what}, needs {expected}")]
    BlobCount {
        layer: String,
        type_name: String,
        /// "bottoms" or "tops".
        what: &'static str,
        /// e.g. "exactly 1", "at least 2", "1 or 2".
        expected: String,
        actual: usize,
    },

    /// A layer parameter is invalid on its own (Caffe would abort in LayerSetUp).
    #[error("layer '{layer}' ({type_name}): {message}")]
    InvalidParam {
        layer: String,
        type_name: String,
        message: String,
    },

    /// The layer cannot take inputs of these shapes (Caffe would abort in Reshape).
    #[error("layer '{layer}' ({type_name}): {message}; input shapes: {}", fmt_shapes(inputs))]
    Shape {
        layer: String,
        type_name: String,
        inputs: Vec<Shape>,
        message: String,
    },

    /// A learnable param (weights, bias, ...) has the wrong shape.
    #[error(
        "layer '{layer}' ({type_name}): param {index} has shape {}, but the layer needs {}{hint}",
        fmt_shape(actual),
        fmt_shape(expected)
    )]
    ParamShape {
        layer: String,
        // Boxed strings keep the error small (it is returned everywhere).
        type_name: Box<str>,
        index: usize,
        expected: Shape,
        actual: Shape,
        /// Extra advice, e.g. how to learn the layer from scratch instead.
        hint: &'static str,
    },

    /// A weight source has a different number of param blobs than the layer.
    #[error("layer '{layer}' ({type_name}): the source gives {actual} param blobs, the layer has {expected}")]
    ParamCount {
        layer: String,
        type_name: String,
        expected: usize,
        actual: usize,
    },

    /// A weight blob from a file is malformed.
    #[error("layer '{layer}', param {index}: {source}")]
    Blob {
        layer: String,
        index: usize,
        #[source]
        source: BlobError,
    },

    /// The shape of a blob is not known: an upstream data layer gets it from a
    /// database (or an Input layer declares none).
    #[error(
        "blob '{blob}' has no known shape: layer '{layer}' ({type_name}) {reason}. Use the deploy prototxt, \
         declare an Input layer with a shape, or give the shape with reshape_input(\"{input}\", dims)"
    )]
    UnknownShape {
        blob: String,
        layer: String,
        type_name: Box<str>,
        /// The top of the data layer to give a shape to.
        input: String,
        reason: Box<str>,
    },

    /// A layer's include and exclude rules are both set (Caffe refuses this).
    #[error("layer '{layer}': specify either include rules or exclude rules, not both")]
    IncludeAndExclude { layer: String },

    /// No layer has this name.
    #[error("no layer named '{0}'")]
    NoSuchLayer(String),

    /// No blob has this name.
    #[error("no blob named '{0}'")]
    NoSuchBlob(String),

    /// The layer has fewer params than the index asked for.
    #[error("layer '{layer}' has {count} params; there is no param {index}")]
    NoSuchParam { layer: String, index: usize, count: usize },

    /// `reshape_input` was given a blob that no Input or data layer produces.
    #[error("blob '{blob}' is not a top of an Input or data layer, so it cannot be reshaped{hint}")]
    NotAnInput { blob: String, hint: String },

    /// A net, blob or param exceeds one of the load limits.
    #[error("{what}: {exceeded}")]
    Limit {
        /// e.g. "layer 'data' (Input): top 'data' of shape (1, 3, 99999, 99999)".
        what: String,
        exceeded: caffe_io::limits::Exceeded,
    },

    /// Weights were given, but not for every layer that needs params.
    #[error(
        "the weights give no params for {} {}; check that the layer names match the weight file's \
         (`netsurgeon inspect` on both lists them), or initialise them explicitly: --missing-weights filler \
         (the prototxt's constant fillers, as Caffe; random fillers give zeros) or --missing-weights zero \
         (library: LoadOptions::missing_weights)",
        if layers.len() == 1 { "layer" } else { "layers" },
        quoted(layers)
    )]
    MissingWeights { layers: Vec<String> },

    /// A rewrite pass cannot apply to a layer.
    #[error("{pass}: layer '{layer}': {message}")]
    Pass {
        pass: &'static str,
        layer: String,
        message: String,
    },
}

fn quoted(names: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut list: Vec<String> = names.iter().take(SHOWN).map(|n| format!("'{n}'")).collect();
    if names.len() > SHOWN {
        list.push(format!("and {} more", names.len() - SHOWN));
    }
    list.join(", ")
}

/// Result with graph-ir's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What to do about a well-known layer type netsurgeon does not model.
fn type_hint(type_name: &str) -> &'static str {
    match type_name {
        "Python" | "Proposal" => {
            " A Python layer runs code that the prototxt does not hold. py-faster-rcnn's region proposal layer \
             (python_param { module: 'rpn.proposal_layer' }, and OpenCV's Proposal that stands for it: anchors, \
             box regression, clipping, a minimum size, NMS and top-N cuts) has no exact export here: cut the \
             net before it (convert --outputs with its bottoms, e.g. rpn_cls_prob_reshape,rpn_bbox_pred, and \
             the feature map) and compute the proposals after the model."
        }
        _ => "",
    }
}
