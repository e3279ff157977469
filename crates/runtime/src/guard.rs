//! A panic inside tract on a malformed model (or, at run time, on input
//! values the model cannot take) becomes an error. tract validates much but not all of what an ONNX file can claim, and a
//! converter inside someone's pipeline must not take the process down; the
//! checks of [`crate::validate`] stop the known cases before tract sees them,
//! this catches the rest.

use std::cell::Cell;
use std::sync::Once;

use crate::error::{Error, Result};

thread_local! {
    /// True while this thread runs a guarded step.
    static GUARDED: Cell<bool> = const { Cell::new(false) };
}

/// Wraps the process's panic hook once: a panic on a thread inside a guarded
/// step is reported as an error instead, so it must not also print a panic
/// message (or, under a fuzzer, abort); every other panic goes to the previous hook.
fn install_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !GUARDED.with(Cell::get) {
                previous(info);
            }
        }));
    });
}

/// Runs `f` (a step of tract on an untrusted model); a panic becomes
/// [`Error::Panic`] naming `origin` and the `stage`.
pub(crate) fn guard<T>(origin: &str, stage: &'static str, f: impl FnOnce() -> T) -> Result<T> {
    catch_panic(f).map_err(|message| Error::Panic {
        origin: origin.to_string(),
        stage,
        message,
    })
}

/// Runs `f`; a panic comes back as its message, kept off stderr.
pub(crate) fn catch_panic<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    install_hook();
    let was = GUARDED.with(|g| g.replace(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(was));
    result.map_err(|panic| {
        panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("(no message)")
            .to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_naming_the_model() {
        let err = guard("m.onnx", "load", || -> u32 { panic!("index out of bounds") }).unwrap_err();
        assert_eq!(
            err.to_string(),
            "m.onnx: tract cannot load the model (tract panicked: index out of bounds); the model is malformed \
             or uses a form tract does not handle"
        );
        assert_eq!(guard("m.onnx", "load", || 7).unwrap(), 7);
    }
}
