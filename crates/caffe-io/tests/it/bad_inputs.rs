//! Every file in fixtures/bad is rejected with a clear error that names the
//! file and the problem, never a panic; and mutated copies of a real model
//! (truncated at every length, bytes flipped) never panic either.

use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .canonicalize()
        .unwrap()
}

/// Reads a file with the reader its extension calls for.
fn read_any(path: &Path) -> Result<(), caffe_io::Error> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("caffemodel") => caffe_io::read_caffemodel(path).map(drop),
        Some("prototxt") => caffe_io::read_prototxt(path).map(drop),
        Some("binaryproto") => caffe_io::read_binaryproto(path).map(drop),
        Some("npy") => caffe_io::read_npy_f32(path).map(drop),
        other => panic!("no reader for {other:?}"),
    }
}

/// What each bad file's error must say (besides the file name).
const EXPECTED: &[(&str, &str)] = &[
    ("bad_enum.prototxt", "1:57: value 'MEDIAN' was not found for enum"),
    ("bad_magic.npy", "not a valid .npy file"),
    ("count_mismatch.binaryproto", "48 elements but the blob holds 47 values"),
    (
        "count_mismatch.caffemodel",
        "layer 0 'ip': blob 0: shape [2, 3] has 6 elements but the blob holds 5 values",
    ),
    (
        "deep_nesting.prototxt",
        "2:263: 65 levels of nesting exceeds the limit of 64; if the file is genuine, raise the limit with --max-text-depth",
    ),
    ("duplicate_field.prototxt", "1:25: 'name' is already set"),
    ("empty.caffemodel", "holds no layers"),
    // Found by fuzzing: a zero dim hid 2^83 elements from the overflow check.
    ("empty_blob_huge_dims.binaryproto", "has more elements than fit in memory"),
    ("field_zero.caffemodel", "field number 0 is invalid"),
    ("garbage.caffemodel", "byte 8: field 471 uses protobuf groups"),
    ("garbage.prototxt", "1:1: expected a field name"),
    ("group_wire_type.caffemodel", "protobuf groups"),
    ("huge_shape.npy", "more elements than fit in memory"),
    ("invalid_wire_type.caffemodel", "invalid wire type 7"),
    ("mixed_layer_and_layers.prototxt", "both 'layer' and legacy 'layers'"),
    ("negative_dim.caffemodel", "dimension 1 is negative (-3)"),
    (
        "negative_unsigned.prototxt",
        "1:71: expected value to be an unsigned 32-bit integer",
    ),
    ("not_utf8.prototxt", "the file is not UTF-8 text"),
    (
        "odd_packed_floats.caffemodel",
        "7 bytes is not a whole number of floats",
    ),
    ("overflow_shape.caffemodel", "more elements than fit in memory"),
    ("oversized_blob_length.caffemodel", "length prefix 4000000000 exceeds"),
    (
        "oversized_layer_length.caffemodel",
        "length prefix 1099511627776 exceeds",
    ),
    ("short_input_dim.prototxt", "input 'data' needs 4 input_dim values"),
    ("text_as_weights.caffemodel", "byte 1: field 13 has invalid wire type 6"),
    ("truncated.binaryproto", "truncated or corrupt"),
    (
        "truncated.caffemodel",
        "byte 133021: length prefix 27850 exceeds the 19698 bytes left",
    ),
    ("truncated.npy", "truncated"),
    (
        "truncated_varint.caffemodel",
        "byte 8: the file ends in the middle of a message",
    ),
    ("unknown_v1_type.caffemodel", "unknown V1 layer type number 99"),
    ("unsupported_dtype.npy", "unsupported dtype"),
    ("unterminated.prototxt", "reached end of input"),
    ("v0_unknown_type.prototxt", "unknown V0 layer type 'warp'"),
    ("wrong_value_type.prototxt", "1:71: expected an integer"),
    ("wrong_wire_type.caffemodel", "NetParameter.name: invalid wire type"),
];

#[test]
fn every_bad_file_is_rejected_with_a_clear_message() {
    let dir = fixtures().join("bad");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap())
        // fixtures/bad/graph holds files that read fine but describe a bad net.
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".md"))
        .collect();
    files.sort();
    let listed: Vec<String> = EXPECTED.iter().map(|(f, _)| f.to_string()).collect();
    assert_eq!(files, listed, "fixtures/bad and the EXPECTED table list the same files");
    for (file, expected) in EXPECTED {
        let path = dir.join(file);
        let err = read_any(&path).expect_err(file);
        let msg = err.to_string();
        assert!(msg.contains(file), "{file}: the message must name the file: {msg}");
        assert!(msg.contains(expected), "{file}: expected {expected:?} in: {msg}");
        assert_eq!(err.path(), path);
    }
}

#[test]
fn mutated_models_never_panic() {
    // A small model with several layers and blobs: every byte is mutated.
    let path = fixtures().join("golden/public/conv_group_dilation/net.caffemodel");
    let good = std::fs::read(&path).unwrap();
    let mut errors = 0;
    for cut in 0..good.len() {
        if caffe_io::decode_caffemodel(&good[..cut], &path).is_err() {
            errors += 1;
        }
    }
    // Only a cut exactly between two top-level fields can still be a valid model.
    assert!(
        errors > good.len() * 9 / 10,
        "{errors} of {} truncations rejected",
        good.len()
    );
    for i in 0..good.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut bad = good.clone();
            bad[i] ^= flip;
            let _ = caffe_io::decode_caffemodel(&bad, &path);
        }
    }
}

#[test]
fn mutated_prototxt_never_panics() {
    let path = fixtures().join("models/bvlc_reference_caffenet/deploy.prototxt");
    let good = std::fs::read_to_string(&path).unwrap();
    let bytes = good.as_bytes();
    for cut in (0..bytes.len()).step_by(7) {
        if let Ok(text) = std::str::from_utf8(&bytes[..cut]) {
            let _ = caffe_io::parse_prototxt(text, &path);
        }
    }
    for i in (0..bytes.len()).step_by(5) {
        let mut bad = bytes.to_vec();
        bad[i] = b"{}:\"# 9x"[i % 8];
        if let Ok(text) = std::str::from_utf8(&bad) {
            let _ = caffe_io::parse_prototxt(text, &path);
        }
    }
}
