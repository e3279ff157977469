//! caffe-io against files written by real BVLC Caffe (fixtures/golden): every
//! weight equals Caffe's own dump of it, and every file round-trips.

use std::path::{Path, PathBuf};

use caffe_io::blob::{blob_shape, blob_view};
use caffe_io::{binary, print, read_caffemodel, read_npy_f32, read_prototxt, NetParameter};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .canonicalize()
        .unwrap()
}

fn golden_cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(fixtures().join("golden/public"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("net.prototxt").exists())
        .collect();
    cases.sort();
    assert_eq!(cases.len(), 34, "the 34 public golden cases are in fixtures/");
    cases
}

fn all_prototxts() -> Vec<PathBuf> {
    let mut files = Vec::new();
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                if !p.ends_with("bad") {
                    walk(&p, out);
                }
            } else if p.extension().is_some_and(|e| e == "prototxt") {
                out.push(p);
            }
        }
    }
    walk(&fixtures(), &mut files);
    files.sort();
    files
}

#[test]
fn every_caffemodel_param_equals_caffes_dump() {
    let mut checked = 0;
    for case in golden_cases() {
        let weights = read_caffemodel(case.join("net.caffemodel")).unwrap();
        let params_dir = case.join("params");
        let mut expected_files: Vec<_> = match std::fs::read_dir(&params_dir) {
            Ok(d) => d.map(|e| e.unwrap().path()).collect(),
            Err(_) => Vec::new(),
        };
        expected_files.sort();
        let mut seen = 0;
        for layer in &weights.layer {
            for (i, blob) in layer.blobs.iter().enumerate() {
                let file = params_dir.join(format!("{}.{i}.npy", layer.name().replace('/', "__")));
                let expected = read_npy_f32(&file).unwrap_or_else(|e| panic!("{}: {e}", case.display()));
                let ours = blob_view(blob).unwrap();
                assert_eq!(blob_shape(blob).unwrap(), expected.shape(), "{}", file.display());
                // Bit-for-bit: the same f32 values, NaN-safe.
                let same = ours
                    .iter()
                    .zip(expected.iter())
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "{} differs", file.display());
                seen += 1;
                checked += 1;
            }
        }
        assert_eq!(
            seen,
            expected_files.len(),
            "{}: every params/*.npy has a blob",
            case.display()
        );
    }
    assert!(checked > 40, "only {checked} param blobs checked");
}

#[test]
fn caffemodels_reencode_byte_for_byte() {
    let mut files: Vec<PathBuf> = golden_cases().iter().map(|c| c.join("net.caffemodel")).collect();
    files.push(fixtures().join("golden/digits/lenet_digits.caffemodel"));
    files.push(fixtures().join("golden/digits/lenet_full_conv.caffemodel"));
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        let raw = binary::decode_net(&bytes, &file, &caffe_io::Limits::default()).unwrap();
        let mut out = Vec::new();
        binary::write_net(&raw, &mut out).unwrap();
        assert_eq!(out.len() as u64, binary::encoded_net_len(&raw), "{}", file.display());
        assert!(
            out == bytes,
            "{}: re-encoding differs from Caffe's bytes",
            file.display()
        );
        // prost's own decoder agrees with the streaming one.
        let via_prost = <NetParameter as prost::Message>::decode(bytes.as_slice()).unwrap();
        assert_eq!(via_prost, raw, "{}", file.display());
    }
}

#[test]
fn streaming_and_in_memory_decoding_agree() {
    let file = fixtures().join("golden/digits/lenet_digits.caffemodel");
    let from_file = read_caffemodel(&file).unwrap();
    let from_memory = caffe_io::decode_caffemodel(&std::fs::read(&file).unwrap(), &file).unwrap();
    assert_eq!(from_file, from_memory);
}

#[test]
fn caffemodel_write_then_read_is_equal() {
    let dir = tempfile::tempdir().unwrap();
    for case in golden_cases() {
        let weights = read_caffemodel(case.join("net.caffemodel")).unwrap();
        let out = dir.path().join("w.caffemodel");
        caffe_io::write_caffemodel(&out, &weights).unwrap();
        assert_eq!(read_caffemodel(&out).unwrap(), weights, "{}", case.display());
    }
}

#[test]
fn every_prototxt_parses_and_round_trips() {
    let files = all_prototxts();
    assert!(files.len() >= 34 + 7, "found {} prototxts", files.len());
    for file in files {
        let net = read_prototxt(&file).unwrap_or_else(|e| panic!("{e}"));
        assert!(!net.layer.is_empty(), "{}", file.display());
        let text = print::net_to_prototxt(&net);
        let again = caffe_io::parse_prototxt(&text, Path::new("printed.prototxt"))
            .unwrap_or_else(|e| panic!("{}: printed text does not parse: {e}\n{text}", file.display()));
        // Fields kept from a fork's dialect remember their line, which printing moves.
        let without_lines = |mut n: NetParameter| {
            for k in n
                .kept_field
                .iter_mut()
                .chain(n.layer.iter_mut().flat_map(|l| l.kept_field.iter_mut()))
            {
                k.line = None;
            }
            n
        };
        assert_eq!(without_lines(again.clone()), without_lines(net), "{}", file.display());
        // Printing is a fixed point.
        assert_eq!(print::net_to_prototxt(&again), text);
    }
}

#[test]
fn printed_prototxt_has_caffes_layout() {
    let net = read_prototxt(fixtures().join("models/net_surgery/conv.prototxt")).unwrap();
    let text = print::net_to_prototxt(&net);
    let expected = r#"name: "convolution"
layer {
  name: "data"
  type: "Input"
  top: "data"
  input_param {
    shape {
      dim: 1
      dim: 1
      dim: 100
      dim: 100
    }
  }
}
layer {
  name: "conv"
  type: "Convolution"
  bottom: "data"
  top: "conv"
  convolution_param {
    num_output: 3
    kernel_size: 5
    stride: 1
    weight_filler {
      type: "gaussian"
      std: 0.01
    }
    bias_filler {
      type: "constant"
      value: 0
    }
  }
}
"#;
    assert_eq!(text, expected);
}

#[test]
fn caffenet_deploy_has_the_official_layers() {
    let net = read_prototxt(fixtures().join("models/bvlc_reference_caffenet/deploy.prototxt")).unwrap();
    let names: Vec<&str> = net.layer.iter().map(|l| l.name()).collect();
    assert_eq!(names.first(), Some(&"data"));
    assert_eq!(names.last(), Some(&"prob"));
    assert_eq!(net.layer.len(), 24);
    let fc6 = net.layer.iter().find(|l| l.name() == "fc6").unwrap();
    assert_eq!(fc6.inner_product_param.as_ref().unwrap().num_output, Some(4096));
}

#[test]
fn imagenet_mean_reads_as_3x256x256() {
    let mean = caffe_io::read_mean(fixtures().join("models/ilsvrc_2012_mean.npy")).unwrap();
    assert_eq!(mean.shape(), &[3, 256, 256]);
    // BGR means of ImageNet are around 104, 117, 123.
    let b = mean.index_axis(ndarray::Axis(0), 0).mean().unwrap();
    assert!((100.0..110.0).contains(&b), "blue mean {b}");
}

#[test]
fn binaryproto_and_npy_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let mean = read_npy_f32(fixtures().join("models/ilsvrc_2012_mean.npy")).unwrap();
    let four_d = mean.clone().into_shape_with_order(vec![1, 3, 256, 256]).unwrap();
    let bp = dir.path().join("mean.binaryproto");
    caffe_io::write_binaryproto(&bp, four_d.view()).unwrap();
    assert_eq!(caffe_io::read_binaryproto(&bp).unwrap(), four_d);
    assert_eq!(caffe_io::read_mean(&bp).unwrap(), mean);
    let npy = dir.path().join("mean.npy");
    caffe_io::write_npy_f32(&npy, mean.view()).unwrap();
    assert_eq!(read_npy_f32(&npy).unwrap(), mean);
    let labels = caffe_io::read_npy_i64(fixtures().join("golden/digits/test_labels_all.npy")).unwrap();
    assert_eq!(labels.shape(), &[360]);
    assert!(labels.iter().all(|&l| (0..10).contains(&l)));
}
