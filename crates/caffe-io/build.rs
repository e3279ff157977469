//! Generates the prost types for `proto/caffe.proto` with protox, a pure-Rust
//! .proto compiler, so that a fresh machine needs nothing but cargo (no protoc).
//! The encoded descriptor set is kept too: the text-format parser and the
//! Caffe-style printer walk messages through it.

use std::fmt::Write as _;
use std::path::PathBuf;

use protox::prost::Message as _;

fn main() {
    let proto_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("../../proto");
    let proto = proto_dir.join("caffe.proto");
    let forks = proto_dir.join("caffe_forks.proto");
    println!("cargo:rerun-if-changed={}", proto.display());
    println!("cargo:rerun-if-changed={}", forks.display());

    let fds = protox::compile([&proto, &forks], [&proto_dir]).expect("proto/caffe*.proto do not compile");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    std::fs::write(out.join("caffe_descriptor.bin"), fds.encode_to_vec()).unwrap();

    prost_build::Config::new()
        .compile_fds(fds.clone())
        .expect("prost-build failed on caffe.proto");

    // Layers carry their weights inline. Encoding or printing a layer's small
    // fields must not copy hundreds of MB of weights, so each layer type gets a
    // clone that leaves its blobs behind; listing the fields from the schema keeps
    // it correct when the schema grows.
    let mut code = String::new();
    for file in &fds.file {
        for msg in &file.message_type {
            let name = msg.name();
            if name != "LayerParameter" && name != "V1LayerParameter" {
                continue;
            }
            writeln!(code, "impl {name} {{").unwrap();
            writeln!(code, "    /// A copy of every field but `blobs`, which is left empty.").unwrap();
            writeln!(code, "    pub fn clone_without_blobs(&self) -> Self {{").unwrap();
            writeln!(code, "        Self {{").unwrap();
            for field in &msg.field {
                let f = rust_field(field.name());
                if f == "blobs" {
                    writeln!(code, "            blobs: Vec::new(),").unwrap();
                } else {
                    writeln!(code, "            {f}: self.{f}.clone(),").unwrap();
                }
            }
            writeln!(code, "        }}\n    }}\n}}").unwrap();
        }
    }
    std::fs::write(out.join("caffe_extra.rs"), code).unwrap();
}

fn rust_field(proto_name: &str) -> String {
    match proto_name {
        "type" => "r#type".to_string(),
        other => other.to_string(),
    }
}
