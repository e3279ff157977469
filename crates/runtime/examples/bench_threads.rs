//! Times tract on a CaffeNet-shaped model (random weights): load + optimize,
//! then runs at batch 1 and 10, on 1 thread and on a pool, with only the
//! output or with every tensor exposed.
//!
//!     cargo run --release -p netsurgeon-runtime --features multithread --example bench_threads

use std::time::Instant;

use ndarray::{ArrayD, IxDyn};
use netsurgeon_runtime::SessionBuilder;
use onnx_export::attr;
use onnx_export::builder::{Dim, GraphBuilder, ModelOptions};

fn values(n: usize, seed: u64, scale: f32) -> Vec<f32> {
    let mut s = seed.wrapping_add(0x9E3779B97F4A7C15);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0) * scale
        })
        .collect()
}

fn param(g: &mut GraphBuilder, name: &str, shape: &[usize], seed: u64) -> String {
    let n: usize = shape.iter().product();
    let fan_in = if shape.len() > 1 { n / shape[0] } else { 1 };
    let a = ArrayD::from_shape_vec(IxDyn(shape), values(n, seed, (2.0 / fan_in as f32).sqrt())).unwrap();
    g.initializer_f32_owned(name, a).unwrap()
}

#[allow(clippy::too_many_arguments)]
fn conv(
    g: &mut GraphBuilder,
    x: &str,
    name: &str,
    c_in: usize,
    c_out: usize,
    k: usize,
    s: usize,
    p: usize,
    group: usize,
) -> String {
    let w = param(g, &format!("{name}/W"), &[c_out, c_in / group, k, k], c_out as u64);
    let b = param(g, &format!("{name}/b"), &[c_out], 7);
    let y = g
        .op(
            "Conv",
            name,
            &[x, &w, &b],
            vec![
                attr::ints("kernel_shape", &[k as i64, k as i64]),
                attr::ints("strides", &[s as i64, s as i64]),
                attr::ints("pads", &[p as i64; 4]),
                attr::int("group", group as i64),
            ],
        )
        .unwrap();
    g.op("Relu", &format!("relu_{name}"), &[&y], vec![]).unwrap()
}

fn pool(g: &mut GraphBuilder, x: &str, name: &str) -> String {
    g.op(
        "MaxPool",
        name,
        &[x],
        vec![attr::ints("kernel_shape", &[3, 3]), attr::ints("strides", &[2, 2])],
    )
    .unwrap()
}

fn lrn(g: &mut GraphBuilder, x: &str, name: &str) -> String {
    g.op(
        "LRN",
        name,
        &[x],
        vec![
            attr::int("size", 5),
            attr::float("alpha", 1e-4),
            attr::float("beta", 0.75),
            attr::float("bias", 1.0),
        ],
    )
    .unwrap()
}

fn fc(g: &mut GraphBuilder, x: &str, name: &str, k: usize, n: usize, relu: bool) -> String {
    let w = param(g, &format!("{name}/W"), &[n, k], n as u64);
    let b = param(g, &format!("{name}/b"), &[n], 3);
    let y = g.op("Gemm", name, &[x, &w, &b], vec![attr::int("transB", 1)]).unwrap();
    if relu {
        g.op("Relu", &format!("relu_{name}"), &[&y], vec![]).unwrap()
    } else {
        y
    }
}

fn caffenet() -> onnx_export::ModelProto {
    let mut g = GraphBuilder::new("caffenet");
    g.add_input("data", &[Dim::from("N"), 3.into(), 227.into(), 227.into()])
        .unwrap();
    let x = conv(&mut g, "data", "conv1", 3, 96, 11, 4, 0, 1);
    let x = pool(&mut g, &x, "pool1");
    let x = lrn(&mut g, &x, "norm1");
    let x = conv(&mut g, &x, "conv2", 96, 256, 5, 1, 2, 2);
    let x = pool(&mut g, &x, "pool2");
    let x = lrn(&mut g, &x, "norm2");
    let x = conv(&mut g, &x, "conv3", 256, 384, 3, 1, 1, 1);
    let x = conv(&mut g, &x, "conv4", 384, 384, 3, 1, 1, 2);
    let x = conv(&mut g, &x, "conv5", 384, 256, 3, 1, 1, 2);
    let x = pool(&mut g, &x, "pool5");
    let x = g.op("Flatten", "flatten", &[&x], vec![attr::int("axis", 1)]).unwrap();
    let x = fc(&mut g, &x, "fc6", 9216, 4096, true);
    let x = fc(&mut g, &x, "fc7", 4096, 4096, true);
    let x = fc(&mut g, &x, "fc8", 4096, 1000, false);
    let prob = g.op("Softmax", "prob", &[&x], vec![attr::int("axis", 1)]).unwrap();
    g.add_output(&prob, None).unwrap();
    g.into_model(&ModelOptions::default()).unwrap()
}

fn main() {
    let model = caffenet();
    let bytes = prost::Message::encode_to_vec(&model);
    let threads: Vec<usize> = if cfg!(feature = "multithread") {
        vec![1, 2]
    } else {
        vec![1]
    };
    for batch in [1usize, 10] {
        for expose_all in [false, true] {
            for &t in &threads {
                let t0 = Instant::now();
                let mut builder = SessionBuilder::from_bytes(&bytes)
                    .unwrap()
                    .input_shape("data", &[batch, 3, 227, 227])
                    .unwrap()
                    .threads(t);
                if expose_all {
                    let names: Vec<String> = builder
                        .tensor_names()
                        .into_iter()
                        .filter(|n| !n.contains('/'))
                        .collect();
                    builder = builder.outputs(names).unwrap();
                }
                let session = builder.build().unwrap();
                let prepare = t0.elapsed().as_secs_f64();
                let x = ArrayD::from_shape_vec(IxDyn(&[batch, 3, 227, 227]), values(batch * 3 * 227 * 227, 1, 100.0))
                    .unwrap();
                session.run(vec![x.clone()]).unwrap(); // warm-up
                let mut times = Vec::new();
                for _ in 0..5 {
                    let t1 = Instant::now();
                    let out = session.run(vec![x.clone()]).unwrap();
                    times.push(t1.elapsed().as_secs_f64());
                    std::hint::black_box(out);
                }
                times.sort_by(f64::total_cmp);
                println!(
                    "batch {batch:>2}, {:<12} threads {t}: prepare {:.2}s, run median {:.1} ms (min {:.1})",
                    if expose_all { "all blobs" } else { "output only" },
                    prepare,
                    times[2] * 1e3,
                    times[0] * 1e3
                );
            }
        }
    }
}
