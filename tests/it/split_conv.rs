//! `netsurgeon::Forward` with large convolutions split along their input
//! channels: the caller's net is untouched, the same blobs come back under
//! the same names and in the same order, with the values of the net run as it
//! is up to float reassociation.

use std::path::Path;

use ndarray::{ArrayD, IxDyn};
use netsurgeon::graph_ir::passes::{split_conv, SplitConvOptions};
use netsurgeon::graph_ir::Net;
use netsurgeon::{Forward, ForwardOptions};

/// Values in [-1, 1) from a fixed-seed LCG.
fn random(shape: &[usize], mut seed: u64) -> ArrayD<f32> {
    let n = shape.iter().product();
    let values = (0..n)
        .map(|_| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect();
    ArrayD::from_shape_vec(IxDyn(shape), values).unwrap()
}

#[test]
fn forward_with_convolutions_split_equals_the_net_as_it_is() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/golden/public/mini_caffenet");
    let mut net = Net::load_with_weights(dir.join("net.prototxt"), dir.join("net.caffemodel")).unwrap();
    // Random weights too, so that every part of every split has its own values.
    net.synthesize_params(3);
    let layers = net.layers().len();
    // Low enough to split the ungrouped convolutions of this small net.
    let split = SplitConvOptions {
        max_k: 64,
        min_positions: 1,
    };
    assert!(!split_conv::would_split(&net, &split).unwrap().is_empty());
    let input = random(net.blob_shape("data").unwrap(), 11);
    let run = |split: Option<SplitConvOptions>| {
        let options = ForwardOptions::default().all_blobs(true).split(split);
        let forward = Forward::new(&net, &options).unwrap();
        forward.run([("data", input.clone())]).unwrap().into_vec()
    };
    let plain = run(None);
    let split = run(Some(split));
    assert_eq!(net.layers().len(), layers, "the caller's net must not change");
    let names = |b: &[(String, ArrayD<f32>)]| b.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&split), names(&plain));
    for ((name, a), (_, b)) in plain.iter().zip(&split) {
        assert_eq!(a.shape(), b.shape(), "{name}");
        let scale = a.iter().fold(0f32, |m, v| m.max(v.abs())).max(f32::MIN_POSITIVE);
        let diff = a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs()));
        // Reassociating sums of a few hundred terms: far below the golden
        // suite's 1e-4 relative tolerance.
        assert!(diff <= 1e-5 * scale, "{name}: max|diff| {diff:e}, max|value| {scale:e}");
    }
}
