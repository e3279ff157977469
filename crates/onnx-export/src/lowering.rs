//! The lowering registry: for each graph-ir op type, the function that writes
//! its ONNX nodes. Keyed by the op's Rust type (what a layer type's setup
//! builds), so a family registered once in graph-ir (the neuron layers, the
//! data layers) needs one lowering, and a lowering always receives the op
//! type it was written for.
//!
//! [`Lowerings::builtin`] covers every built-in layer; a program that
//! registers a layer type of its own in graph-ir
//! ([`graph_ir::LayerRegistry::register`]) registers its lowering here and
//! passes the registry in [`crate::ExportOptions::lowerings`]:
//!
//! ```
//! use onnx_export::{LayerCx, Lowerings};
//!
//! #[derive(Debug, Clone, PartialEq)]
//! struct HardSwish;
//! impl graph_ir::LayerOp for HardSwish {}
//!
//! /// x * relu6(x + 3) / 6 is ONNX's HardSwish (opset 14).
//! fn lower(cx: &mut LayerCx<'_, '_>, _op: &HardSwish) -> onnx_export::Result<()> {
//!     let (x, y) = (cx.input(0).to_string(), cx.out(0));
//!     cx.node("HardSwish", &[&x], &[&y], vec![])
//! }
//!
//! let mut lowerings = Lowerings::with_builtins();
//! lowerings.register(lower)?;
//! # Ok::<(), onnx_export::LoweringError>(())
//! ```

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

use graph_ir::{LayerOp, Op};

use crate::error::Result;
use crate::ops::LayerCx;

/// A lowering: writes the nodes of one layer whose op is a `T`, each top to
/// [`LayerCx::out`].
pub type LowerFn<T> = fn(&mut LayerCx<'_, '_>, &T) -> Result<()>;

/// The type-erased form every lowering is stored as.
type ErasedLower = Arc<dyn Fn(&mut LayerCx<'_, '_>, &Op) -> Result<()> + Send + Sync>;

#[derive(Clone)]
struct Entry {
    /// The op type's Rust name, for messages.
    op_type: &'static str,
    lower: ErasedLower,
}

/// Why a lowering could not be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LoweringError {
    /// The op type has a lowering already (use [`Lowerings::replace`] to
    /// override a built-in on purpose).
    #[error("op type {0} has an ONNX lowering already; use Lowerings::replace to override it")]
    Duplicate(&'static str),
}

/// The ONNX lowering of each op type.
#[derive(Clone, Default)]
pub struct Lowerings {
    by_type: HashMap<TypeId, Entry>,
}

impl fmt::Debug for Lowerings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.by_type.values().map(|e| e.op_type).collect();
        names.sort_unstable();
        f.debug_set().entries(names).finish()
    }
}

impl Lowerings {
    /// No lowering at all.
    pub fn empty() -> Self {
        Lowerings::default()
    }

    /// A new registry holding every built-in lowering, to extend.
    pub fn with_builtins() -> Self {
        let mut lowerings = Lowerings::empty();
        crate::ops::register_builtins(&mut lowerings);
        lowerings
    }

    /// The shared registry of built-in lowerings (what an export uses by default).
    pub fn builtin() -> Arc<Lowerings> {
        static BUILTIN: OnceLock<Arc<Lowerings>> = OnceLock::new();
        BUILTIN.get_or_init(|| Arc::new(Lowerings::with_builtins())).clone()
    }

    /// Adds the lowering of op type `T`; refuses a type that has one.
    pub fn register<T: LayerOp>(&mut self, lower: LowerFn<T>) -> Result<(), LoweringError> {
        if self.by_type.contains_key(&TypeId::of::<T>()) {
            return Err(LoweringError::Duplicate(std::any::type_name::<T>()));
        }
        self.replace(lower);
        Ok(())
    }

    /// Adds the lowering of op type `T`, replacing any it had.
    pub fn replace<T: LayerOp>(&mut self, lower: LowerFn<T>) {
        let erased: ErasedLower = Arc::new(move |cx, op| match op.downcast_ref::<T>() {
            Some(op) => lower(cx, op),
            // Unreachable by construction (entries are keyed by T's TypeId),
            // but an error costs nothing and never takes the process down.
            None => Err(cx.unsupported(format!(
                "internal: the lowering for {} was given a {}",
                std::any::type_name::<T>(),
                op.rust_type_name()
            ))),
        });
        self.by_type.insert(
            TypeId::of::<T>(),
            Entry {
                op_type: std::any::type_name::<T>(),
                lower: erased,
            },
        );
    }

    /// Registers a built-in lowering; a clash is a bug that debug builds catch.
    pub(crate) fn insert<T: LayerOp>(&mut self, lower: LowerFn<T>) {
        let registered = self.register(lower);
        debug_assert!(registered.is_ok(), "built-in lowerings clash: {registered:?}");
    }

    /// True when op type `T` has a lowering.
    pub fn contains<T: LayerOp>(&self) -> bool {
        self.by_type.contains_key(&TypeId::of::<T>())
    }

    /// Lowers `cx`'s layer with the lowering of its op's type.
    pub(crate) fn lower(&self, cx: &mut LayerCx<'_, '_>) -> Result<()> {
        let op = cx.layer.op().clone();
        let any: &dyn Any = op.as_dyn();
        match self.by_type.get(&Any::type_id(any)) {
            Some(entry) => (entry.lower)(cx, &op),
            None if op.is::<graph_ir::registry::Unmodelled>() => Err(cx.unsupported(
                "netsurgeon does not model this layer type (a Python layer, or a layer from a fork of Caffe?); \
                 remove or replace the layer to export the net",
            )),
            None => Err(cx.unsupported(format!(
                "no ONNX lowering is registered for its op type {}; a program that registers a layer type \
                 registers its lowering too (onnx_export::Lowerings::register) and exports with \
                 ExportOptions::lowerings",
                op.rust_type_name()
            ))),
        }
    }
}
