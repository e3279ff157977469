//! Generates the prost types for `proto/onnx.proto` with protox, a pure-Rust
//! .proto compiler, so that a fresh machine needs nothing but cargo (no protoc).

use std::path::PathBuf;

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let proto_dir = PathBuf::from(manifest).join("../../proto");
    let proto = proto_dir.join("onnx.proto");
    println!("cargo:rerun-if-changed={}", proto.display());

    let fds = protox::compile([&proto], [&proto_dir]).expect("proto/onnx.proto does not compile");
    prost_build::Config::new()
        // Weights are shared with the net (`Bytes::from_owner`) instead of copied,
        // and cloning a tensor (e.g. to write its header without its payload)
        // costs a reference count, not hundreds of MB.
        .bytes([".onnx.TensorProto.raw_data"])
        // A derived Debug would print every weight byte; lib.rs implements a
        // summary instead.
        .skip_debug([".onnx.TensorProto"])
        .compile_fds(fds)
        .expect("prost-build failed on onnx.proto");
}
