//! Runs the Python package's pytest suite (python/tests/*.py) from
//! `cargo test`, so that the README's one test command covers it.
//!
//! Cargo has just built this package's extension module (`lib_native.so`,
//! beside this test's binary); it is staged with the package's Python
//! sources into a temporary folder that `NETSURGEON_PYTHON` (a Python with
//! numpy, protobuf and pytest; `.ci/run` makes one) imports `netsurgeon`
//! from. Without `NETSURGEON_PYTHON` the suite is skipped with a note, except
//! under CI, where that is an error. pytest's own exit code is the verdict;
//! 5 (no tests collected) is a failure too.

use std::path::{Path, PathBuf};
use std::process::Command;

fn python() -> Option<PathBuf> {
    match std::env::var_os("NETSURGEON_PYTHON") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must set NETSURGEON_PYTHON (see .ci/run): the Python package's tests may not be skipped there"
            );
            eprintln!("NETSURGEON_PYTHON is not set: skipping the Python package's tests (pytest)");
            None
        }
    }
}

/// The extension module cargo built for this test run: the package's lib is
/// a cdylib and an rlib, and the rlib this test depends on is built with it,
/// beside this test's binary (target/<profile>/deps).
fn built_module() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let deps = exe.parent().expect("target/<profile>/deps");
    let name = if cfg!(target_os = "macos") {
        "lib_native.dylib"
    } else {
        "lib_native.so"
    };
    let module = deps.join(name);
    assert!(
        module.exists(),
        "{}: the extension module is missing (cargo builds it with this test: python/Cargo.toml's crate-type)",
        module.display()
    );
    module
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "__pycache__" {
                copy_tree(&entry.path(), &target);
            }
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[test]
fn pytest_suite() {
    let Some(python) = python() else {
        return;
    };
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let stage = tempfile::tempdir().unwrap();
    let package = stage.path().join("netsurgeon");
    copy_tree(&manifest.join("pysrc/netsurgeon"), &package);
    std::fs::copy(built_module(), package.join("_native.so")).unwrap();

    let status = Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(manifest.join("tests"))
        .env("PYTHONPATH", stage.path())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("NETSURGEON_FIXTURES", manifest.join("../fixtures"))
        .current_dir(stage.path())
        .status()
        .unwrap_or_else(|e| panic!("{}: cannot run pytest: {e}", python.display()));
    match status.code() {
        Some(0) => {}
        Some(5) => panic!("pytest collected no tests from python/tests"),
        _ => panic!("the Python package's tests failed (pytest: {status}); see the output above"),
    }
}
