//! Limits stop a well-formed file that asks for too much, before the memory is
//! reserved, with an error naming the file, the place, the limit and the
//! option that raises it; a raised limit reads the same file.

use std::path::{Path, PathBuf};

use caffe_io::{Limits, Reader};

fn lenet() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/golden/digits/lenet_digits.caffemodel")
}

#[test]
fn default_limits_read_real_models() {
    let net = caffe_io::read_caffemodel(lenet()).unwrap();
    assert!(net.layer.iter().any(|l| l.name() == "ip1"));
}

#[test]
fn a_blob_over_the_element_limit_is_refused_by_name() {
    // LeNet's ip1 weights are 500 x 800 = 400000 elements; conv2's 25000 pass.
    let reader = Reader::new(Limits {
        max_blob_elements: 399_999,
        ..Limits::default()
    });
    let err = reader.read_caffemodel(lenet()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, caffe_io::Error::Limit { .. }), "{msg}");
    assert!(msg.contains("lenet_digits.caffemodel: byte "), "{msg}");
    assert!(
        msg.contains("'ip1', blob 0: 400000 elements in one blob exceeds the limit of 399999"),
        "{msg}"
    );
    assert!(msg.contains("--max-blob-elements"), "{msg}");

    let raised = Reader::new(Limits {
        max_blob_elements: 400_000,
        ..Limits::default()
    });
    raised.read_caffemodel(lenet()).unwrap();
}

#[test]
fn total_weight_bytes_are_limited() {
    // LeNet holds 431080 floats: conv1 520, conv2 25050, ip1 400500, ip2 5010.
    let total = 4 * 431_080;
    let reader = Reader::new(Limits {
        max_weight_bytes: total - 1,
        ..Limits::default()
    });
    let msg = reader.read_caffemodel(lenet()).unwrap_err().to_string();
    assert!(
        msg.contains(&format!("{total} bytes of weights exceeds the limit of {}", total - 1)),
        "{msg}"
    );
    assert!(msg.contains("'ip2', blob 1"), "{msg}");
    assert!(msg.contains("--max-weight-bytes"), "{msg}");

    let exact = Reader::new(Limits {
        max_weight_bytes: total,
        ..Limits::default()
    });
    exact.read_caffemodel(lenet()).unwrap();
}

#[test]
fn layer_count_is_limited_while_streaming() {
    let bytes = std::fs::read(lenet()).unwrap();
    let layers = caffe_io::decode_caffemodel(&bytes, lenet()).unwrap().layer.len();
    let reader = Reader::new(Limits {
        max_layers: layers - 1,
        ..Limits::default()
    });
    let msg = reader.decode_caffemodel(&bytes, lenet()).unwrap_err().to_string();
    assert!(
        msg.contains(&format!("{layers} layers exceeds the limit of {}", layers - 1)),
        "{msg}"
    );
    assert!(msg.contains("--max-layers"), "{msg}");
}
