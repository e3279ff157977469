//! `netsurgeon demo`: the net-surgery tutorial on the data the repository ships.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use netsurgeon::caffe_io;

fn fixtures() -> PathBuf {
    // The demo runs from a checkout (`cargo run -- demo`); fixtures ship with it.
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

pub fn run(out: &Path) -> Result<()> {
    let digits = fixtures().join("golden/digits");
    let prototxt = digits.join("deploy.prototxt");
    let weights = digits.join("lenet_digits.caffemodel");
    let net = caffe_io::read_prototxt(&prototxt)?;
    let model = caffe_io::read_caffemodel(&weights)?;
    println!("{}: {} layers", prototxt.display(), net.layer.len());
    println!("{}: params", weights.display());
    for layer in model.layer.iter().filter(|l| !l.blobs.is_empty()) {
        let shapes: Vec<String> = layer
            .blobs
            .iter()
            .map(|b| crate::common::format_shape(&caffe_io::blob::blob_shape(b).unwrap_or_default()))
            .collect();
        println!("  {} {}", layer.name(), shapes.join(" "));
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let copy_proto = out.join("lenet.prototxt");
    let copy_model = out.join("lenet.caffemodel");
    caffe_io::write_prototxt(&copy_proto, &net)?;
    caffe_io::write_caffemodel(&copy_model, &model)?;
    let again = caffe_io::read_caffemodel(&copy_model)?;
    anyhow::ensure!(again == model, "the saved model does not read back equal");
    println!(
        "saved {} and {} (round trip equal)",
        copy_proto.display(),
        copy_model.display()
    );
    Ok(())
}
