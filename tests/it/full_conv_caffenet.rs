//! CaffeNet made fully convolutional, as the net-surgery tutorial does with
//! `bvlc_caffenet_full_conv`, checked end to end through the facade
//! (`netsurgeon::forward`: ONNX export in memory + tract) on seeded synthetic
//! weights (no trained model is shipped):
//!
//! - the classifier's fc6 against a naive matrix-vector product computed
//!   here from pool5 and the fc6 weights (an independent check of the
//!   InnerProduct mapping);
//! - at 227x227 the full-conv net's `fc8-conv` (1x1000x1x1) is the
//!   classifier's fc8;
//! - at 451x451 `prob` is 1x1000x8x8 and sums to 1 over the classes at each
//!   of the 64 positions;
//! - the full-conv net exported once with symbolic height and width
//!   (`SpatialDims::Symbolic`) gives, in one tract session, the fixed-shape
//!   exports' `prob` at 227 and at 451, and so does onnxruntime (when
//!   `NETSURGEON_PYTHON` is set; `crates/runtime/tests/ort_check.py`);
//! - the 451 input's top-left 227x227 crop: the (0,0) window is *not* the
//!   classifier on the crop, because conv2..conv5 zero-pad at the crop's
//!   border where the big input has data. What holds instead is asserted
//!   blob by blob: each blob agrees on the region its receptive field keeps
//!   inside the crop, and differs just past it.

use std::path::Path;

use ndarray::{s, ArrayD, Axis, IxDyn};
use netsurgeon::graph_ir::{passes, Net};
use netsurgeon::onnx_export::{export, ExportOptions, SpatialDims, WriteOptions};
use netsurgeon::runtime::SessionBuilder;

use crate::common::{python, seeded};

/// `max|ours - reference| <= 1e-4 * max|reference|`, the project's rule.
fn assert_close(what: &str, ours: ndarray::ArrayViewD<'_, f32>, reference: ndarray::ArrayViewD<'_, f32>) {
    assert_eq!(ours.shape(), reference.shape(), "{what}: shapes");
    let (err, max) = max_diff(ours, reference);
    assert!(err <= 1e-4 * max, "{what}: max|diff| {err:e} > 1e-4 * max|ref| {max:e}");
}

/// (max |a - b|, max |b|).
fn max_diff(a: ndarray::ArrayViewD<'_, f32>, b: ndarray::ArrayViewD<'_, f32>) -> (f64, f64) {
    let err = a
        .iter()
        .zip(b.iter())
        .map(|(x, y)| (f64::from(*x) - f64::from(*y)).abs())
        .fold(0.0, f64::max);
    let max = b.iter().map(|y| f64::from(*y).abs()).fold(0.0, f64::max);
    (err, max)
}

fn caffenet() -> Net {
    let prototxt =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/models/bvlc_reference_caffenet/deploy.prototxt");
    let mut net = Net::load(&prototxt).unwrap();
    net.synthesize_params(7);
    net.reshape_input("data", &[1, 3, 227, 227]).unwrap();
    net
}

fn forward(net: &Net, input: ArrayD<f32>) -> netsurgeon::Blobs {
    let options = netsurgeon::ForwardOptions::default().all_blobs(true);
    netsurgeon::forward(net, [("data", input)], &options).unwrap()
}

#[test]
fn caffenet_full_conv_matches_the_classifier() {
    let big = seeded(&[1, 3, 451, 451], 451, -100.0, 100.0);
    let crop = crop_input(&big);

    // The classifier at 227.
    let classifier = caffenet();
    let blobs = forward(&classifier, crop.clone());
    let fc8 = blobs.get("fc8").unwrap().clone();
    assert_eq!(fc8.shape(), [1, 1000]);
    let prob = blobs.get("prob").unwrap();
    assert!((prob.sum() - 1.0).abs() < 1e-5, "{}", prob.sum());

    // fc6 = W6 . flatten(pool5) + b6, computed here in f64.
    let pool5 = blobs.get("pool5").unwrap();
    assert_eq!(pool5.shape(), [1, 256, 6, 6]);
    let x: Vec<f64> = pool5.iter().map(|&v| f64::from(v)).collect();
    let w6 = classifier.param("fc6", 0).unwrap();
    let b6 = classifier.param("fc6", 1).unwrap();
    let w6 = w6.view().into_shape_with_order((4096, 9216)).unwrap();
    let naive: Vec<f32> = (0..4096)
        .map(|o| {
            let dot: f64 = w6.row(o).iter().zip(&x).map(|(&w, &v)| f64::from(w) * v).sum();
            (dot + f64::from(b6[[o]])) as f32
        })
        .collect();
    let naive = ndarray::Array::from_shape_vec(IxDyn(&[1, 4096]), naive).unwrap();
    // The blob "fc6" is after relu6 (in place): compare the ReLU of ours.
    let naive_relu = naive.mapv(|v| v.max(0.0));
    assert_close(
        "fc6 vs naive product",
        blobs.get("fc6").unwrap().view(),
        naive_relu.view(),
    );
    assert!(
        naive.iter().filter(|&&v| v > 0.0).count() > 100,
        "fc6 is not degenerate"
    );

    // The same net made fully convolutional, at 227: one window, the classifier's scores.
    let mut full = classifier.clone();
    drop(classifier);
    passes::full_conv(&mut full, "data", &[1, 3, 227, 227]).unwrap();
    let small = forward(&full, crop);
    let fc8_conv = small.get("fc8-conv").unwrap();
    assert_eq!(fc8_conv.shape(), [1, 1000, 1, 1]);
    assert_close(
        "fc8-conv at 227 vs the classifier's fc8",
        fc8_conv.view().into_shape_with_order(IxDyn(&[1, 1000])).unwrap(),
        fc8.view(),
    );
    assert!(fc8.iter().any(|&v| v != 0.0));

    // At 451: an 8x8 map of class distributions.
    full.reshape_input("data", &[1, 3, 451, 451]).unwrap();
    let large = forward(&full, big.clone());
    let prob = large.get("prob").unwrap();
    assert_eq!(prob.shape(), [1, 1000, 8, 8]);
    let sums = prob.sum_axis(Axis(1));
    assert_eq!(sums.len(), 64);
    for (pos, &sum) in sums.indexed_iter() {
        assert!((sum - 1.0).abs() < 1e-5, "softmax at {pos:?} sums to {sum}");
    }

    // One export for both sizes.
    let symbolic = export(
        &full,
        &ExportOptions {
            spatial: SpatialDims::Symbolic,
            ..Default::default()
        },
    )
    .unwrap();
    // Compared on the scores: with synthetic weights the logits are large,
    // so the softmax is nearly one-hot and amplifies their last-bit
    // differences between runtimes.
    let scores = symbolic.tensor_of("fc8-conv").unwrap().to_string();
    let session = SessionBuilder::from_bytes(&symbolic.encode())
        .unwrap()
        .outputs([scores.as_str(), "prob"])
        .unwrap()
        .build()
        .unwrap();
    let cases = [
        (crop_input(&big), small.get("fc8-conv").unwrap()),
        (big.clone(), large.get("fc8-conv").unwrap()),
    ];
    for (input, expected) in &cases {
        let out = session.run(vec![input.clone()]).unwrap();
        let size = input.shape()[2];
        assert_close(
            &format!("symbolic export's fc8-conv at {size}"),
            out[0].1.view(),
            expected.view(),
        );
        assert_eq!(out[1].1.shape()[2], (size - 227) / 32 + 1);
    }
    if let Some(python) = python("the onnxruntime check") {
        onnxruntime_check(&python, &symbolic, &scores, &cases);
    }
    drop((symbolic, session));

    // The (0,0) window of the 451 input against the classifier on its crop:
    // conv1 and pool1 have no padding, so they agree wherever their windows
    // lie in the crop (LRN works across channels only); conv2 (pad 2), conv3..5 (pad 1) see zeros past the
    // crop's right and bottom edges where the big input has data, so each
    // blob agrees only on the top-left region below and differs on the row
    // and column just past it. (blob, rows/cols that agree, size at 227)
    let regions = [
        ("conv1", 55, 55),
        ("pool1", 27, 27),
        ("norm1", 27, 27),
        ("conv2", 25, 27),
        ("pool2", 12, 13),
        ("norm2", 12, 13),
        ("conv3", 11, 13),
        ("conv4", 10, 13),
        ("conv5", 9, 13),
        ("pool5", 4, 6),
    ];
    for (blob, agree, size) in regions {
        let ours = large.get(blob).unwrap();
        let reference = small.get(blob).unwrap();
        assert_eq!(reference.shape()[2..], [size, size], "{blob}");
        let window = |a: &ArrayD<f32>, r: std::ops::Range<usize>, c: std::ops::Range<usize>| {
            a.slice(s![.., .., r, c]).to_owned().into_dyn()
        };
        assert_close(
            &format!("{blob} on its {agree}x{agree} region inside the crop"),
            window(ours, 0..agree, 0..agree).view(),
            window(reference, 0..agree, 0..agree).view(),
        );
        if agree < size {
            // Row `agree` (any column) reads past the crop's bottom edge.
            let (err, max) = max_diff(
                window(ours, agree..agree + 1, 0..agree).view(),
                window(reference, agree..agree + 1, 0..agree).view(),
            );
            assert!(
                err > 1e-3 * max,
                "{blob}: row {agree} should see the zero padding ({err:e} vs {max:e})"
            );
        }
    }
    // So the full-conv fc6 at (0,0), which reads pool5's 6x6 window, is not
    // the classifier's.
    let fc6_00 = large
        .get("fc6-conv")
        .unwrap()
        .slice(s![.., .., 0, 0])
        .to_owned()
        .into_dyn();
    let (err, max) = max_diff(
        fc6_00.view(),
        small.get("fc6-conv").unwrap().slice(s![.., .., 0, 0]).into_dyn(),
    );
    assert!(err > 1e-3 * max, "fc6-conv at (0,0): {err:e} vs {max:e}");
}

fn crop_input(big: &ArrayD<f32>) -> ArrayD<f32> {
    big.slice(s![.., .., ..227, ..227]).to_owned().into_dyn()
}

/// Runs `exported` in onnxruntime (`crates/runtime/tests/ort_check.py`, with
/// onnx's full checker) on each (input, expected value of tensor `scores`).
fn onnxruntime_check(
    python: &Path,
    exported: &netsurgeon::onnx_export::Export<'_>,
    scores: &str,
    cases: &[(ArrayD<f32>, &ArrayD<f32>)],
) {
    let root = tempfile::tempdir().unwrap();
    let model = root.path().join("full_conv.onnx");
    exported.write(&model, &WriteOptions::default()).unwrap();
    let dirs = root.path().join("cases");
    for (i, (input, expected)) in cases.iter().enumerate() {
        let dir = dirs.join(format!("size{}", input.shape()[2]));
        std::fs::create_dir_all(&dir).unwrap();
        write_npy(&dir.join("data.npy"), input);
        write_npy(&dir.join("scores.npy"), expected);
        let manifest = serde_json::json!({
            "model": model.display().to_string(),
            "inputs": [{"name": "data", "file": "data.npy"}],
            "blobs": [{"name": scores, "file": "scores.npy"}],
        });
        std::fs::write(dir.join("case.json"), manifest.to_string()).unwrap();
        assert!(i < 2);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/runtime/tests/ort_check.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .arg(&dirs)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{text}");
    assert!(out.status.success() && text.contains("2 cases, 0 failed"), "{text}");
}

/// A little-endian f32 `.npy` (format 1.0), enough for ort_check.py.
fn write_npy(path: &Path, a: &ArrayD<f32>) {
    let shape: Vec<String> = a.shape().iter().map(|d| d.to_string()).collect();
    let shape = if shape.len() == 1 {
        format!("{},", shape[0])
    } else {
        shape.join(", ")
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({shape}), }}");
    // Magic (6) + version (2) + length (2) + header + newline: a multiple of 64.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    for v in a.as_standard_layout().iter() {
        bytes.extend(v.to_le_bytes());
    }
    std::fs::write(path, bytes).unwrap();
}
