//! The README's library example, on the shipped LeNet: load, list, edit a
//! param, full_conv, save, forward, export; each step checked.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use netsurgeon::graph_ir::{passes, Net};

fn digits() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/golden/digits")
}

#[test]
fn readme_example_on_lenet() {
    let dir = tempfile::tempdir().unwrap();
    let mut net = Net::load(
        digits().join("deploy.prototxt"),
        Some(&digits().join("lenet_digits.caffemodel")),
    )
    .unwrap();
    let names: Vec<String> = net.blobs().unwrap().into_iter().map(|b| b.name).collect();
    assert_eq!(
        names,
        ["data", "conv1", "pool1", "conv2", "pool2", "ip1", "ip2", "prob"]
    );

    // Raising a bias by 1 raises that channel of the conv output by exactly 1.
    let input = netsurgeon::caffe_io::read_npy_f32(&digits().join("full_conv/input_56.npy")).unwrap();
    let mut small = net.clone();
    let corner = input.slice(ndarray::s![.., .., ..28, ..28]).to_owned().into_dyn();
    let feed_corner = || HashMap::from([("data".to_string(), corner.clone())]);
    let before = netsurgeon::forward(&small, feed_corner(), true).unwrap();
    small.param_mut("conv1", 1).unwrap()[[0]] += 1.0;
    let after = netsurgeon::forward(&small, feed_corner(), true).unwrap();
    let (b, a) = (before.get("conv1").unwrap(), after.get("conv1").unwrap());
    let shift = a - b;
    let channel0 = shift.index_axis(ndarray::Axis(1), 0);
    assert!(channel0.iter().all(|d| (d - 1.0).abs() < 1e-5));
    assert!(shift.index_axis(ndarray::Axis(1), 1).iter().all(|d| d.abs() < 1e-6));

    // The tutorial's cast, saved, and its 8x8 map on the 56x56 canvas.
    let feed = || HashMap::from([("data".to_string(), input.clone())]);
    passes::full_conv(&mut net, "data", &[1, 1, 56, 56]).unwrap();
    net.save(dir.path().join("fc.prototxt"), dir.path().join("fc.caffemodel"))
        .unwrap();
    let blobs = netsurgeon::forward(&net, feed(), true).unwrap();
    let prob = blobs.get("prob").unwrap();
    assert_eq!(prob.shape(), &[1, 10, 8, 8]);
    let caffe = netsurgeon::caffe_io::read_npy_f32(&digits().join("full_conv/blobs/prob.npy")).unwrap();
    let err = prob
        .iter()
        .zip(caffe.iter())
        .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
    assert!(err <= 1e-4, "max error {err}");

    let exported = netsurgeon::onnx_export::export(&net, &Default::default()).unwrap();
    let out = dir.path().join("fc.onnx");
    exported.write(&out, &Default::default()).unwrap();
    assert!(std::fs::metadata(&out).unwrap().len() > 1_000_000);
}
