//! Fields of Caffe's other dialects: a prototxt from a fork is read whole,
//! the fields BVLC's schema lacks are kept verbatim, and every save (text or
//! binary) writes them back.

use std::path::{Path, PathBuf};

use caffe_io::proto::{KeptField, LayerParameter, NetParameter};
use prost::Message as _;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/dialects")
        .join(name)
}

fn kept(net: &NetParameter) -> Vec<(String, String, String)> {
    let mut all: Vec<_> = net.kept_field.iter().map(|k| (String::new(), k)).collect();
    for l in &net.layer {
        all.extend(l.kept_field.iter().map(|k| (l.name().to_string(), k)));
    }
    all.into_iter()
        .map(|(layer, k)| (layer, k.parent().to_string(), k.text().to_string()))
        .collect()
}

#[test]
fn a_fork_prototxt_is_read_whole_and_printed_back_with_every_fork_field() {
    let net = caffe_io::read_prototxt(fixture("fork_fields.prototxt")).unwrap();
    let found = kept(&net);
    let expected = [
        ("", "", "fork_net_note: \"kept at the net level\""),
        (
            "conv1_bn",
            "",
            "bn_param {\n  scale_filler {\n    type: \"constant\"\n    value: 1\n  }\n  shift_filler { type: \"constant\" value: 0.001 }\n  bn_mode: INFERENCE\n}",
        ),
        ("interp", "", "interp_param { zoom_factor: 2 pad_beg: 0 pad_end: 0 }"),
        ("detection_out", "include[0]", "fork_rule_note: 'inside a repeated message'"),
        (
            "detection_out",
            "",
            "detection_output_param {\n  num_classes: 21\n  share_location: true\n  nms_param { nms_threshold: 0.45 top_k: 400 }\n  code_type: CENTER_SIZE\n}",
        ),
    ];
    let expected: Vec<_> = expected
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(found, expected);
    // The known fields around them are read as usual.
    assert_eq!(net.layer[1].param[0].lr_mult(), 1.0);
    assert_eq!(net.layer[3].include[0].phase(), caffe_io::proto::Phase::Test);

    // Printed, read again: the same fields, the same known fields; a second
    // print is the same text.
    let printed = caffe_io::print::net_to_prototxt(&net);
    assert!(
        printed.contains("  bn_param {\n    scale_filler {\n      type: \"constant\"\n"),
        "{printed}"
    );
    assert!(
        printed.contains("  include {\n    phase: TEST\n    fork_rule_note: 'inside a repeated message'\n  }"),
        "{printed}"
    );
    let again = caffe_io::parse_prototxt(&printed, "printed.prototxt").unwrap();
    assert_eq!(kept(&again), expected);
    let strip = |mut n: NetParameter| {
        n.kept_field.clear();
        for l in &mut n.layer {
            l.kept_field.clear();
        }
        n
    };
    assert_eq!(strip(again.clone()), strip(net.clone()));
    assert_eq!(caffe_io::print::net_to_prototxt(&again), printed);
}

#[test]
fn a_kept_field_whose_message_was_removed_is_written_inside_a_fresh_block() {
    let mut net = caffe_io::read_prototxt(fixture("fork_fields.prototxt")).unwrap();
    net.layer[3].include.clear();
    let printed = caffe_io::print::net_to_prototxt(&net);
    assert!(
        printed.contains("  include {\n    fork_rule_note: 'inside a repeated message'\n  }"),
        "{printed}"
    );
}

/// A weight file in OpenCV's numbering: LayerParameter field 147 is its
/// `detection_output_param` (BVLC's `swish_param`), with an integer field 1
/// where BVLC's SwishParameter has a float.
fn opencv_numbered_weights() -> Vec<u8> {
    let layer = LayerParameter {
        name: Some("detection_out".into()),
        r#type: Some("DetectionOutput".into()),
        bottom: vec!["loc".into(), "conf".into()],
        ..Default::default()
    };
    let mut body = layer.encode_to_vec();
    // key (147 << 3 | 2), length 4, then { num_classes: 2, share_location: true }
    body.extend_from_slice(&[0x9a, 0x09, 0x04, 0x08, 0x02, 0x10, 0x01]);
    // and a field no dialect of this schema has, a varint.
    body.extend_from_slice(&[0xc0, 0xc2, 0x02, 0x07]);
    let mut file = vec![0xa2, 0x06]; // NetParameter.layer (100), length-delimited
    prost::encoding::encode_varint(body.len() as u64, &mut file);
    file.extend_from_slice(&body);
    file
}

#[test]
fn a_weight_file_in_another_numbering_loads_and_is_written_back_byte_for_byte() {
    let bytes = opencv_numbered_weights();
    let net = caffe_io::decode_caffemodel(&bytes, "opencv.caffemodel").unwrap();
    let layer = &net.layer[0];
    assert_eq!(layer.name(), "detection_out");
    assert_eq!(layer.bottom, ["loc", "conf"]);
    assert!(
        layer.swish_param.is_none(),
        "field 147 is not read as BVLC's swish_param"
    );
    let numbers: Vec<u32> = layer.kept_field.iter().map(KeptField::number).collect();
    assert_eq!(numbers, [147, 5160]);
    let mut written = Vec::new();
    caffe_io::binary::write_net(&net, &mut written).unwrap();
    assert_eq!(written, bytes);
    assert_eq!(caffe_io::binary::encoded_net_len(&net), bytes.len() as u64);
}

#[test]
fn a_corrupt_core_field_is_still_an_error() {
    // LayerParameter.name (field 1) as a varint: corruption, not a dialect.
    let body = [0x08, 0x05];
    let mut file = vec![0xa2, 0x06, body.len() as u8];
    file.extend_from_slice(&body);
    let err = caffe_io::decode_caffemodel(&file, "bad.caffemodel")
        .unwrap_err()
        .to_string();
    assert!(err.contains("bad.caffemodel") && err.contains("invalid"), "{err}");
}
