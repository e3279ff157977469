//! The layer registry: everything graph-ir knows about a layer type, keyed by
//! the type string Caffe writes in a prototxt.
//!
//! A [`LayerType`] gives a type's names, how many bottoms and tops it takes
//! (Caffe's `ExactNumBottomBlobs` and friends) and its setup: the function
//! that reads the layer's parameters with Caffe's defaults and, given the
//! bottom shapes, computes its tops and params, as Caffe's `LayerSetUp` +
//! `Reshape`. The setup yields an [`Op`]: a value of the layer's own Rust
//! type implementing [`LayerOp`], which says how many params the layer has,
//! whether it may compute in place and how its tops' axes follow symbolic
//! input sizes. Built-in layers and layers a program registers go through the
//! same path, so a registered layer loads, infers shapes, saves and exports
//! exactly as a built-in one.
//!
//! The list of modelled types, the blob-count checks and the param counts
//! are all derived from here; nothing else in the crate names a layer type.
//!
//! ```
//! use graph_ir::registry::{Arity, LayerOp, LayerRegistry, LayerType, Setup, SetupCx};
//! use graph_ir::Shape;
//! use graph_ir::caffe_io::proto::LayerParameter;
//!
//! /// `HardSwish`: x * relu6(x + 3) / 6, element-wise.
//! #[derive(Debug, Clone, PartialEq)]
//! struct HardSwish;
//!
//! impl LayerOp for HardSwish {
//!     fn computes_in_place(&self) -> bool {
//!         true
//!     }
//!     fn symbolic_axes(&self, flow: &graph_ir::registry::AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
//!         Some(flow.same_as_bottom(0))
//!     }
//! }
//!
//! fn setup(cx: &SetupCx<'_>, _layer: &LayerParameter, bottoms: Option<&[Shape]>) -> graph_ir::Result<Setup> {
//!     match bottoms {
//!         Some(inputs) => Ok(Setup::known(HardSwish, vec![inputs[0].clone()], Vec::new())),
//!         None => Ok(Setup::unknown(HardSwish, cx.num_tops)),
//!     }
//! }
//!
//! let mut layers = LayerRegistry::with_builtins();
//! layers.register(LayerType::new(&["HardSwish"], setup))?;
//! assert!(layers.get("HardSwish").is_some());
//! # Ok::<(), graph_ir::registry::RegistryError>(())
//! ```

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

use caffe_io::proto::{LayerParameter, Phase};

use crate::error::{Error, Result};
use crate::shape::Shape;

pub use crate::ops::{LayerCtx as SetupCx, ParamInit, Setup};

/// What a layer computes, with its parameters resolved (Caffe's defaults
/// applied): one Rust type per layer family, built by its [`LayerType`]'s
/// setup. Implementations are plain data (`Debug + PartialEq`); the methods
/// say what the net and the exporters need to know without knowing the type.
pub trait LayerOp: fmt::Debug + Send + Sync + Any + AnyOp {
    /// How many learnable param blobs the layer has (known without shapes).
    /// The net refuses weights with another count, and names layers with
    /// params that a weight file leaves out.
    fn param_count(&self) -> usize {
        0
    }

    /// True when each top may be its bottom (Caffe's in-place computation,
    /// `top: "x"` on `bottom: "x"`): the layer reads each value once before it
    /// writes it, and its top has its bottom's shape. Written in place, any
    /// other layer is refused, naming it: Caffe would overwrite an input it
    /// still reads.
    fn computes_in_place(&self) -> bool {
        false
    }

    /// Which axes of each top follow a symbolic size of the net's inputs
    /// (an export with `--dynamic-spatial` or a symbolic batch), given the
    /// bottoms'. `None` (the default) says the layer does not know: an export
    /// whose bottom axes are symbolic is then refused, naming the layer,
    /// rather than written with the export-time sizes baked in.
    fn symbolic_axes(&self, flow: &AxisFlow<'_>) -> Option<Vec<Vec<bool>>> {
        let _ = flow;
        None
    }

    /// True for the layers whose tops are the net's inputs (Input and the
    /// data layers): they are fed, not computed.
    fn is_net_input(&self) -> bool {
        false
    }
}

/// What a [`LayerOp`] trait object needs of its concrete type: equality and
/// its name. Implemented for every `PartialEq` type; nothing to write by hand.
pub trait AnyOp {
    /// True when `other` is of the same type and equal.
    fn dyn_eq(&self, other: &dyn Any) -> bool;
    /// The concrete Rust type's name, for messages about a mismatched op.
    fn rust_type_name(&self) -> &'static str;
}

impl<T: PartialEq + Any> AnyOp for T {
    fn dyn_eq(&self, other: &dyn Any) -> bool {
        other.downcast_ref::<T>().is_some_and(|o| o == self)
    }

    fn rust_type_name(&self) -> &'static str {
        std::any::type_name::<T>()
    }
}

/// A layer's op: shared, immutable, of the layer type's own Rust type
/// ([`Op::downcast_ref`] gets it back, as passes do to rewrite a layer).
#[derive(Clone)]
pub struct Op(Arc<dyn LayerOp>);

impl Op {
    /// Wraps a layer type's op.
    pub fn new(op: impl LayerOp) -> Op {
        Op(Arc::new(op))
    }

    /// The op as `T`, when it is one.
    pub fn downcast_ref<T: LayerOp>(&self) -> Option<&T> {
        let any: &dyn Any = &*self.0;
        any.downcast_ref::<T>()
    }

    /// True when the op is a `T`.
    pub fn is<T: LayerOp>(&self) -> bool {
        self.downcast_ref::<T>().is_some()
    }

    /// The op as a trait object.
    pub fn as_dyn(&self) -> &dyn LayerOp {
        &*self.0
    }
}

impl std::ops::Deref for Op {
    type Target = dyn LayerOp;
    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

impl fmt::Debug for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl PartialEq for Op {
    fn eq(&self, other: &Op) -> bool {
        let other: &dyn Any = &*other.0;
        self.0.dyn_eq(other)
    }
}

impl<T: LayerOp> From<T> for Op {
    fn from(op: T) -> Op {
        Op::new(op)
    }
}

/// The shapes an [`LayerOp::symbolic_axes`] rule works from: for each bottom
/// and each top, its export-time shape, and for each bottom which axes follow
/// a symbolic input size. Helpers give the common rules.
#[derive(Debug, Clone, Copy)]
pub struct AxisFlow<'a> {
    pub in_free: &'a [Vec<bool>],
    pub in_shapes: &'a [Vec<usize>],
    pub out_shapes: &'a [Vec<usize>],
}

impl AxisFlow<'_> {
    /// No top axis follows the inputs: for layers whose tops have fixed sizes
    /// (weights or target shapes fix them; such a layer's exporter refuses a
    /// symbolic bottom axis that it would bake in).
    pub fn fixed(&self) -> Vec<Vec<bool>> {
        self.out_shapes.iter().map(|s| vec![false; s.len()]).collect()
    }

    /// Bottom `i`'s axes for every top of the same rank (element-wise layers,
    /// pooling, layers along one axis).
    pub fn same_as_bottom(&self, i: usize) -> Vec<Vec<bool>> {
        self.out_shapes.iter().map(|s| self.bottom_flags(i, s.len())).collect()
    }

    /// Top `i` follows bottom `i` (one top per bottom, as Convolution).
    pub fn per_bottom(&self) -> Vec<Vec<bool>> {
        self.out_shapes
            .iter()
            .enumerate()
            .map(|(i, s)| self.bottom_flags(i, s.len()))
            .collect()
    }

    /// An axis of the top is symbolic when that axis of any bottom is
    /// (Concat, Eltwise).
    pub fn any_bottom(&self) -> Vec<Vec<bool>> {
        self.out_shapes
            .iter()
            .map(|s| {
                (0..s.len())
                    .map(|a| self.in_free.iter().any(|f| f.get(a) == Some(&true)))
                    .collect()
            })
            .collect()
    }

    /// The leading axes of bottom `i` carry on into every top (whatever the
    /// rank: Reduction keeps them, Embed appends one).
    pub fn leading_of_bottom(&self, i: usize) -> Vec<Vec<bool>> {
        let f = self.in_free.get(i).cloned().unwrap_or_default();
        self.out_shapes
            .iter()
            .map(|s| (0..s.len()).map(|a| f.get(a) == Some(&true)).collect())
            .collect()
    }

    /// Bottom `i`'s flags when its rank is `rank`, else all fixed.
    pub fn bottom_flags(&self, i: usize, rank: usize) -> Vec<bool> {
        match self.in_free.get(i) {
            Some(f) if f.len() == rank => f.clone(),
            _ => vec![false; rank],
        }
    }
}

/// How many bottoms or tops a layer type takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Arity {
    Exactly(usize),
    AtLeast(usize),
    /// From `.0` to `.1`, both included.
    Between(usize, usize),
    /// As many tops as bottoms (Convolution); for tops only.
    SameAsBottoms,
}

impl Arity {
    /// Whether `actual` blobs fit, and the rule in words for an error.
    fn check(self, actual: usize, bottoms: usize) -> (bool, String) {
        match self {
            Arity::Exactly(n) => (actual == n, format!("exactly {n}")),
            Arity::AtLeast(n) => (actual >= n, format!("at least {n}")),
            Arity::Between(a, b) => (actual >= a && actual <= b, format!("{a} to {b}")),
            Arity::SameAsBottoms => (actual == bottoms, format!("as many as its bottoms ({bottoms})")),
        }
    }

    /// The smallest and largest counts allowed (`usize::MAX`: no bound), for
    /// tools that enumerate a type's valid wirings.
    pub fn range(self, bottoms: usize) -> (usize, usize) {
        match self {
            Arity::Exactly(n) => (n, n),
            Arity::AtLeast(n) => (n, usize::MAX),
            Arity::Between(a, b) => (a, b),
            Arity::SameAsBottoms => (bottoms, bottoms),
        }
    }
}

/// A layer type's setup: parses the layer's parameters (from `cx.layer`) with
/// Caffe's defaults and, when the bottom shapes are known, computes the top
/// and param shapes. Errors name the layer ([`SetupCx::invalid`],
/// [`SetupCx::shape_error`]).
pub type SetupFn = fn(&SetupCx<'_>, &LayerParameter, Option<&[Shape]>) -> Result<Setup>;

/// Everything graph-ir knows about one layer type (or one family of types
/// that share a setup, such as the element-wise neuron layers).
#[derive(Debug, Clone)]
pub struct LayerType {
    /// The type strings, as Caffe writes them (`"Convolution"`); a family
    /// lists each member, aliases too.
    pub names: &'static [&'static str],
    pub bottoms: Arity,
    pub tops: Arity,
    pub setup: SetupFn,
    /// Fields that BVLC's schema lacks and that this type reads itself from
    /// the layer's kept fields (`"bn_param"`, `"pooling_param.ceil_mode"`).
    /// Any other kept field in a layer of this type is refused: it could
    /// change what the layer computes.
    pub fork_fields: &'static [&'static str],
}

impl LayerType {
    /// A type with one bottom and one top; see [`LayerType::bottoms`] and
    /// [`LayerType::tops`] for others.
    pub const fn new(names: &'static [&'static str], setup: SetupFn) -> Self {
        LayerType {
            names,
            bottoms: Arity::Exactly(1),
            tops: Arity::Exactly(1),
            setup,
            fork_fields: &[],
        }
    }

    /// The fields outside BVLC's schema that the type's setup reads (see
    /// [`LayerType::fork_fields`]); each is a path from the layer, e.g.
    /// `"interp_param"` or `"pooling_param.ceil_mode"`.
    pub const fn fork_fields(mut self, fields: &'static [&'static str]) -> Self {
        self.fork_fields = fields;
        self
    }

    /// How many bottoms the type takes.
    pub const fn bottoms(mut self, arity: Arity) -> Self {
        self.bottoms = arity;
        self
    }

    /// How many tops the type gives.
    pub const fn tops(mut self, arity: Arity) -> Self {
        self.tops = arity;
        self
    }
}

/// Why a type could not be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The name is registered already (use [`LayerRegistry::replace`] to
    /// override a built-in on purpose).
    #[error("layer type '{0}' is registered already; use LayerRegistry::replace to override it")]
    Duplicate(String),
    /// A type needs at least one name, and no name may be empty.
    #[error("a layer type needs a non-empty name")]
    EmptyName,
}

/// The layer types a net can use, by type string. [`LayerRegistry::builtin`]
/// is what every load uses unless told otherwise; a program extends a copy of
/// it ([`LayerRegistry::with_builtins`]) and passes it in
/// [`crate::LoadOptions::layers`].
#[derive(Clone, Default)]
pub struct LayerRegistry {
    types: BTreeMap<&'static str, Arc<LayerType>>,
}

impl fmt::Debug for LayerRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.types.keys()).finish()
    }
}

impl LayerRegistry {
    /// A registry with no type at all.
    pub fn empty() -> Self {
        LayerRegistry::default()
    }

    /// A new registry holding every built-in type, to extend.
    pub fn with_builtins() -> Self {
        let mut registry = LayerRegistry::empty();
        crate::ops::register_builtins(&mut registry);
        registry
    }

    /// The shared registry of built-in types (what a load uses by default).
    pub fn builtin() -> Arc<LayerRegistry> {
        static BUILTIN: OnceLock<Arc<LayerRegistry>> = OnceLock::new();
        BUILTIN.get_or_init(|| Arc::new(LayerRegistry::with_builtins())).clone()
    }

    /// Adds a type under each of its names; refuses a name already taken.
    pub fn register(&mut self, layer_type: LayerType) -> Result<(), RegistryError> {
        if layer_type.names.is_empty() || layer_type.names.iter().any(|n| n.is_empty()) {
            return Err(RegistryError::EmptyName);
        }
        if let Some(taken) = layer_type.names.iter().find(|n| self.types.contains_key(*n)) {
            return Err(RegistryError::Duplicate(taken.to_string()));
        }
        self.replace(layer_type);
        Ok(())
    }

    /// Adds a type under each of its names, replacing what was there.
    pub fn replace(&mut self, layer_type: LayerType) {
        let shared = Arc::new(layer_type);
        for name in shared.names {
            self.types.insert(name, shared.clone());
        }
    }

    /// Registers a built-in type. Built-in names are distinct; a clash is a
    /// bug, which debug builds (and so the unit tests) catch here.
    pub(crate) fn insert(&mut self, layer_type: LayerType) {
        let registered = self.register(layer_type);
        debug_assert!(registered.is_ok(), "built-in layer types clash: {registered:?}");
    }

    /// The type registered under `type_name`.
    pub fn get(&self, type_name: &str) -> Option<&LayerType> {
        self.types.get(type_name).map(|t| &**t)
    }

    /// Every registered type string, sorted.
    pub fn type_names(&self) -> Vec<&'static str> {
        self.types.keys().copied().collect()
    }

    /// Sets a layer up as its type says: checks its bottom and top counts,
    /// then runs the type's setup. A type that is not registered gives an
    /// [`Unmodelled`] op with unknown tops (the layer still loads, inspects
    /// and saves).
    pub(crate) fn setup(&self, layer: &LayerParameter, phase: Phase, bottoms: Option<&[Shape]>) -> Result<Setup> {
        self.setup_for(layer, phase, caffe_io::dialect::DialectSet::new(), bottoms)
    }

    /// As [`LayerRegistry::setup`], in a net loaded for `dialects`.
    pub(crate) fn setup_for(
        &self,
        layer: &LayerParameter,
        phase: Phase,
        dialects: caffe_io::dialect::DialectSet,
        bottoms: Option<&[Shape]>,
    ) -> Result<Setup> {
        let cx = SetupCx {
            dialects,
            ..SetupCx::new(layer, phase)
        };
        let Some(layer_type) = self.get(cx.type_name) else {
            return Ok(Setup::unknown(
                Unmodelled {
                    type_name: cx.type_name.to_string(),
                },
                cx.num_tops,
            ));
        };
        check_arity(&cx, layer_type.bottoms, cx.num_bottoms, "bottoms")?;
        check_arity(&cx, layer_type.tops, cx.num_tops, "tops")?;
        check_kept_fields(&cx, layer_type, layer)?;
        let setup = (layer_type.setup)(&cx, layer, bottoms)?;
        if setup.tops.len() != cx.num_tops {
            // A setup's own bug (a registered one, most likely): say so
            // rather than index past the tops later.
            return Err(cx.invalid(format!(
                "the layer type's setup gave {} top shapes for {} tops",
                setup.tops.len(),
                cx.num_tops
            )));
        }
        if let Some(params) = &setup.params {
            if params.len() != setup.op.param_count() {
                return Err(cx.invalid(format!(
                    "the layer type's setup gave {} param shapes, but its op declares {} params",
                    params.len(),
                    setup.op.param_count()
                )));
            }
        }
        Ok(setup)
    }
}

/// A kept field (one BVLC's schema lacks) is refused in a layer whose type
/// does not read it, naming it: netsurgeon would otherwise compute the layer
/// without it, silently.
fn check_kept_fields(cx: &SetupCx<'_>, layer_type: &LayerType, layer: &LayerParameter) -> Result<()> {
    for kept in &layer.kept_field {
        let path = kept.path();
        if !layer_type.fork_fields.contains(&path.as_str()) {
            return Err(Error::UnknownField {
                layer: cx.name.to_string(),
                type_name: cx.type_name.to_string(),
                field: path,
                line: kept.line,
            });
        }
    }
    Ok(())
}

fn check_arity(cx: &SetupCx<'_>, arity: Arity, actual: usize, what: &'static str) -> Result<()> {
    let (ok, expected) = arity.check(actual, cx.num_bottoms);
    if ok {
        return Ok(());
    }
    Err(Error::BlobCount {
        layer: cx.name.to_string(),
        type_name: cx.type_name.to_string(),
        what,
        expected,
        actual,
    })
}

/// A layer whose type no registry entry models (a `Python` layer, a layer
/// from a fork of Caffe): kept with its parameter and params so the rest of
/// the net can be inspected, edited and saved; its tops have no known shape,
/// and exporting or running the net is refused, naming it.
#[derive(Debug, Clone, PartialEq)]
pub struct Unmodelled {
    pub type_name: String,
}

impl LayerOp for Unmodelled {}
