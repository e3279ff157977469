//! LeNet full-conv against real Caffe's net-surgery transplant
//! (fixtures/golden/digits): the weights our `full_conv` produces equal,
//! value for value, those Caffe saved in lenet_full_conv.caffemodel.

use crate::common;

use common::fixtures;
use graph_ir::{passes, Net};

#[test]
fn full_conv_weights_equal_caffes_transplant() {
    let digits = fixtures().join("golden/digits");
    let mut ours =
        Net::load_with_weights(digits.join("deploy.prototxt"), digits.join("lenet_digits.caffemodel")).unwrap();
    passes::full_conv(&mut ours, "data", &[1, 1, 56, 56]).unwrap();
    let caffe = Net::load_with_weights(
        digits.join("lenet_full_conv.prototxt"),
        digits.join("lenet_full_conv.caffemodel"),
    )
    .unwrap();
    // Caffe's file names the converted layers ip1-conv and ip2-conv: the
    // default "-conv" suffix gives the same names, so layers pair up by name.
    let caffe_names: Vec<&str> = caffe.params().iter().map(|(n, _)| *n).collect();
    assert_eq!(caffe_names, vec!["conv1", "conv2", "ip1-conv", "ip2-conv"]);
    let our_names: Vec<&str> = ours.params().iter().map(|(n, _)| *n).collect();
    assert_eq!(our_names, caffe_names);
    for (name, theirs) in caffe.params() {
        let mine = ours.layer(name).unwrap().params();
        assert_eq!(mine.len(), theirs.len(), "{name}");
        for (i, (a, b)) in mine.iter().zip(theirs).enumerate() {
            assert_eq!(a.shape(), b.shape(), "{name} param {i}");
            assert!(
                a.iter().zip(b.iter()).all(|(x, y)| x.to_bits() == y.to_bits()),
                "{name} param {i} differs"
            );
        }
    }
    assert_eq!(ours.param("ip1-conv", 0).unwrap().shape(), &[500, 50, 4, 4]);
    assert_eq!(ours.param("ip2-conv", 0).unwrap().shape(), &[10, 500, 1, 1]);
    assert_eq!(ours.blob_shape("prob").unwrap(), &[1, 10, 8, 8]);
    let blobs =
        |n: &Net| -> Vec<(String, Vec<usize>)> { n.blobs().unwrap().into_iter().map(|b| (b.name, b.shape)).collect() };
    assert_eq!(blobs(&ours), blobs(&caffe));
}

#[test]
fn loading_lenet_into_the_full_conv_net_ignores_the_fc_layers() {
    // As the tutorial: the renamed layers never receive the fc weights by name.
    let digits = fixtures().join("golden/digits");
    let mut net = Net::load(digits.join("lenet_full_conv.prototxt")).unwrap();
    let report = net
        .copy_params_from_file(&digits.join("lenet_digits.caffemodel"))
        .unwrap();
    assert_eq!(report.copied, vec!["conv1", "conv2"]);
    assert_eq!(report.ignored, vec!["ip1", "ip2"]);
    assert!(net.param("ip1-conv", 0).unwrap().iter().all(|&v| v == 0.0));
}
