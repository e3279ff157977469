//! Shape inference, Caffe's split listing and param loading against real
//! BVLC Caffe's blobs for every public golden case (fixtures/golden/public).

use crate::common;

use common::{case_json, golden_cases, json_shape, json_strings};
use graph_ir::Net;

#[test]
fn blob_listing_equals_pycaffe_for_every_case() {
    for case in golden_cases() {
        let json = case_json(&case);
        let net = Net::load_with_weights(case.join("net.prototxt"), case.join("net.caffemodel"))
            .unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        let ours: Vec<(String, Vec<usize>, bool)> = net
            .blobs()
            .unwrap_or_else(|e| panic!("{}: {e}", case.display()))
            .into_iter()
            .map(|b| {
                let split = b.is_auto_split();
                (b.name, b.shape, split)
            })
            .collect();
        // The fixtures flag the tops of every Split-type layer as auto_split,
        // including a Split written in the prototxt (split_implicit's sa1, sa2);
        // ours flags only Caffe's automatic copies, which alone are not in the prototxt.
        let explicit_split_tops: Vec<&str> = net
            .layers()
            .iter()
            .filter(|l| l.type_name() == "Split")
            .flat_map(|l| l.tops().iter().map(String::as_str))
            .collect();
        let caffe: Vec<(String, Vec<usize>, bool)> = json["blob_files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                let name = b["name"].as_str().unwrap();
                let auto = b["auto_split"].as_bool().unwrap() && !explicit_split_tops.contains(&name);
                (name.to_string(), json_shape(&b["shape"]), auto)
            })
            .collect();
        assert_eq!(ours, caffe, "{}", case.display());
        // The .npy dumps agree with the listing (and so with our shapes).
        for (name, shape, _) in &caffe {
            let file = case.join("blobs").join(format!("{}.npy", name.replace('/', "__")));
            let dumped = caffe_io::read_npy_f32(&file).unwrap();
            assert_eq!(dumped.shape(), &shape[..], "{}", file.display());
        }
    }
}

#[test]
fn shapes_without_weights_equal_caffe_for_every_case() {
    for case in golden_cases() {
        let json = case_json(&case);
        let net = Net::load(case.join("net.prototxt")).unwrap_or_else(|e| panic!("{}: {e}", case.display()));
        for b in json["blob_files"].as_array().unwrap() {
            let name = b["name"].as_str().unwrap();
            assert_eq!(
                net.blob_shape(name).unwrap(),
                &json_shape(&b["shape"])[..],
                "{}: {name}",
                case.display()
            );
        }
        // Param shapes inferred from the prototxt alone equal Caffe's.
        let expected = json["params"].as_object().unwrap();
        let ours = net.params();
        assert_eq!(ours.len(), expected.len(), "{}", case.display());
        for (layer, arrays) in ours {
            let files = expected[layer].as_array().unwrap();
            let shapes: Vec<Vec<usize>> = arrays.iter().map(|a| a.shape().to_vec()).collect();
            let caffe: Vec<Vec<usize>> = files.iter().map(|f| json_shape(&f["shape"])).collect();
            assert_eq!(shapes, caffe, "{}: {layer}", case.display());
        }
    }
}

#[test]
fn runtime_layers_equal_caffes_for_every_case() {
    for case in golden_cases() {
        let json = case_json(&case);
        let net = Net::load(case.join("net.prototxt")).unwrap();
        let ours: Vec<(String, String, Vec<String>, Vec<String>)> = net
            .runtime_layers()
            .unwrap()
            .into_iter()
            .map(|l| (l.name, l.type_name, l.bottoms, l.tops))
            .collect();
        let caffe: Vec<(String, String, Vec<String>, Vec<String>)> = json["layers_runtime"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| {
                (
                    l["name"].as_str().unwrap().to_string(),
                    l["type"].as_str().unwrap().to_string(),
                    json_strings(&l["bottoms"]),
                    json_strings(&l["tops"]),
                )
            })
            .collect();
        assert_eq!(ours, caffe, "{}", case.display());
        let in_place: Vec<String> = net
            .layers()
            .iter()
            .filter(|l| l.is_in_place())
            .map(|l| l.name().to_string())
            .collect();
        assert_eq!(in_place, json_strings(&json["in_place_layers"]), "{}", case.display());
    }
}

#[test]
fn every_case_loads_its_params_with_caffes_values() {
    let mut checked = 0;
    for case in golden_cases() {
        let net = Net::load_with_weights(case.join("net.prototxt"), case.join("net.caffemodel")).unwrap();
        let mut files = 0;
        if let Ok(dir) = std::fs::read_dir(case.join("params")) {
            files = dir.count();
        }
        let mut seen = 0;
        for (layer, arrays) in net.params() {
            for (i, array) in arrays.iter().enumerate() {
                let file = case
                    .join("params")
                    .join(format!("{}.{i}.npy", layer.replace('/', "__")));
                let caffe = caffe_io::read_npy_f32(&file).unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(array.shape(), caffe.shape(), "{}", file.display());
                assert!(
                    array.iter().zip(caffe.iter()).all(|(a, b)| a.to_bits() == b.to_bits()),
                    "{} differs",
                    file.display()
                );
                seen += 1;
            }
        }
        assert_eq!(seen, files, "{}: one param per params/*.npy", case.display());
        checked += seen;
    }
    assert!(checked > 40, "only {checked} params checked");
}
