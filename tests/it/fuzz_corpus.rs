//! Replays the fuzz corpora (`fixtures/fuzz/<target>/`, minimized from the
//! cargo-fuzz campaigns, see `fuzz/README.md`) and every file of
//! `fixtures/bad/` through the fuzz targets' bodies in
//! `netsurgeon::fuzzing`, on the stable toolchain: none may panic, and each
//! must finish quickly.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use netsurgeon::fuzzing;

/// Generous for a debug build on a loaded 2-core machine; a release build
/// takes milliseconds.
const TIME_LIMIT: Duration = Duration::from_secs(10);

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_none_or(|e| e != "md"))
        .collect();
    files.sort();
    files
}

/// Runs `target` on each file; returns one line per panic or slow input.
fn replay(target: fn(&[u8]), name: &str, files: &[PathBuf]) -> Vec<String> {
    let mut failures = Vec::new();
    for file in files {
        let data = std::fs::read(file).unwrap();
        let start = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| target(&data)));
        let took = start.elapsed();
        if let Err(panic) = outcome {
            let what = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("?");
            failures.push(format!("{name}: {}: panicked: {what}", file.display()));
        } else if took > TIME_LIMIT {
            failures.push(format!("{name}: {}: took {took:?}", file.display()));
        }
    }
    failures
}

fn target(name: &str) -> fn(&[u8]) {
    match name {
        "prototxt" => fuzzing::prototxt,
        "caffemodel" => fuzzing::caffemodel,
        "export" => fuzzing::export,
        "onnx" => fuzzing::onnx,
        "layers" => fuzzing::layers,
        other => panic!("no fuzz target {other}"),
    }
}

fn replay_corpus(name: &str) {
    let files = files(&fixtures().join("fuzz").join(name));
    assert!(!files.is_empty(), "fixtures/fuzz/{name} holds a corpus");
    let failures = replay(target(name), name, &files);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn fuzz_corpus_prototxt() {
    replay_corpus("prototxt");
}

#[test]
fn fuzz_corpus_caffemodel() {
    replay_corpus("caffemodel");
}

#[test]
fn fuzz_corpus_export() {
    replay_corpus("export");
}

#[test]
fn fuzz_corpus_onnx() {
    replay_corpus("onnx");
}

#[test]
fn fuzz_corpus_layers() {
    replay_corpus("layers");
}

/// Every bad file through each target that reads its kind of file: prototxts
/// through the parser and the export (alone and with each bad caffemodel as
/// weights), weights and mean files through the decoder, ONNX files through
/// the loader. Each file is also fed to every other target, which must
/// reject it without panicking.
#[test]
fn bad_files_never_panic() {
    let bad = files(&fixtures().join("bad"));
    assert!(!bad.is_empty());
    let mut failures = Vec::new();
    for name in ["prototxt", "caffemodel", "export", "onnx"] {
        failures.extend(replay(target(name), name, &bad));
    }
    // Bad weights behind a good prototxt.
    let good = std::fs::read(fixtures().join("golden/public/conv_pad_stride/net.prototxt")).unwrap();
    for file in bad.iter().filter(|f| f.extension().is_some_and(|e| e == "caffemodel")) {
        let weights = std::fs::read(file).unwrap();
        let joined = fuzzing::join_export_input(&good, Some(&weights));
        let start = Instant::now();
        if catch_unwind(|| fuzzing::export(&joined)).is_err() {
            failures.push(format!("export: {} behind a good prototxt: panicked", file.display()));
        } else if start.elapsed() > TIME_LIMIT {
            failures.push(format!("export: {} behind a good prototxt: too slow", file.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn export_inputs_split_at_the_separator() {
    let joined = fuzzing::join_export_input(b"name: 'x'", Some(b"\x00\x01"));
    assert_eq!(
        fuzzing::split_export_input(&joined),
        (&b"name: 'x'"[..], Some(&b"\x00\x01"[..]))
    );
    assert_eq!(fuzzing::split_export_input(b"name: 'x'"), (&b"name: 'x'"[..], None));
}
