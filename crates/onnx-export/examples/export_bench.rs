//! Measures exporting a CaffeNet-sized model (61M weights, 244 MB): time and
//! peak memory of building the ModelProto and writing it, against writing the
//! same bytes to disk. Run one mode per process so peak RSS is per mode:
//!
//!     cargo run --release -p onnx-export --example export_bench -- <mode> [dir]
//!
//! modes: `baseline` (write the raw weights), `copy` (initializers copied from
//! views), `borrowed` (header-only initializers + `Payloads` borrowing the
//! weights, spliced in at write time), `owned` (weights moved into the model),
//! `external` (copy + external data), `vec` (copy + encode_to_vec + fs::write,
//! the naive way), `net <prototxt>` (a graph-ir net with filler weights
//! through `onnx_export::export` and `Export::write`).

use std::io::Write;
use std::time::Instant;

use ndarray::{ArrayD, IxDyn};
use onnx_export::builder::{dims, GraphBuilder, ModelOptions};
use onnx_export::{ExternalData, WriteOptions};

const SHAPES: &[(&str, &[usize])] = &[
    ("conv1", &[96, 3, 11, 11]),
    ("conv2", &[256, 48, 5, 5]),
    ("conv3", &[384, 256, 3, 3]),
    ("conv4", &[384, 192, 3, 3]),
    ("conv5", &[256, 192, 3, 3]),
    ("fc6", &[4096, 9216]),
    ("fc7", &[4096, 4096]),
    ("fc8", &[1000, 4096]),
];

fn rss_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn weights() -> Vec<(String, ArrayD<f32>)> {
    let mut out = Vec::new();
    for (name, shape) in SHAPES {
        let n: usize = shape.iter().product();
        let w: Vec<f32> = (0..n).map(|i| (i % 1013) as f32 * 1e-3).collect();
        out.push((format!("{name}/W"), ArrayD::from_shape_vec(IxDyn(shape), w).unwrap()));
        let b: Vec<f32> = (0..shape[0]).map(|i| i as f32).collect();
        out.push((
            format!("{name}/b"),
            ArrayD::from_shape_vec(IxDyn(&[shape[0]]), b).unwrap(),
        ));
    }
    out
}

fn build(weights: Vec<(String, ArrayD<f32>)>, owned: bool) -> (onnx_export::ModelProto, Vec<(String, ArrayD<f32>)>) {
    let mut g = GraphBuilder::new("bench");
    g.add_input("data", &dims(&[1, 3, 227, 227])).unwrap();
    let mut kept = Vec::new();
    let mut last = "data".to_string();
    for (name, w) in weights {
        let init = if owned {
            g.initializer_f32_owned(&name, w).unwrap()
        } else {
            let init = g.initializer_f32(&name, w.view()).unwrap();
            kept.push((name, w));
            init
        };
        // One node per weight keeps the graph valid-looking; the numbers are
        // not meant to run.
        last = g.op("Add", &format!("{init}_use"), &[&last, &init], vec![]).unwrap();
    }
    g.add_output(&last, None).unwrap();
    (g.into_model(&ModelOptions::default()).unwrap(), kept)
}

/// Exports a real net: peak memory and time of `export` + `write` against
/// writing its params' bytes.
fn bench_net(prototxt: &str, dir: &std::path::Path) {
    let mut net = graph_ir::Net::load(prototxt).expect("the prototxt loads");
    // Filler weights of a net without a caffemodel may be untouched zero
    // pages; real values make the memory figures honest.
    let params: Vec<(String, Vec<Vec<usize>>)> = net
        .params()
        .iter()
        .map(|(l, p)| (l.to_string(), p.iter().map(|a| a.shape().to_vec()).collect()))
        .collect();
    for (layer, shapes) in params {
        for (i, shape) in shapes.into_iter().enumerate() {
            let n: usize = shape.iter().product();
            let values: Vec<f32> = (0..n).map(|j| (j % 977) as f32 * 1e-3).collect();
            net.set_param(&layer, i, ArrayD::from_shape_vec(IxDyn(&shape), values).unwrap())
                .unwrap();
        }
    }
    let weight_bytes: usize = net
        .params()
        .iter()
        .flat_map(|(_, p)| p.iter())
        .map(|a| a.len() * 4)
        .sum();
    let base_rss = rss_kb("VmRSS:");
    let path = dir.join("export_bench_net.onnx");
    let raw_path = dir.join("export_bench_raw.bin");
    let (mut raw, mut total, mut built) = (f64::MAX, f64::MAX, f64::MAX);
    let mut model_bytes = 0;
    // Alternate the two writes and keep the best of 3, so page-cache writeback
    // of one run does not land on the other.
    for _ in 0..3 {
        let t0 = Instant::now();
        let mut f = std::fs::File::create(&raw_path).unwrap();
        for (_, params) in net.params() {
            for a in params {
                f.write_all(bytemuck::cast_slice(a.as_slice().unwrap())).unwrap();
            }
        }
        f.flush().unwrap();
        drop(f);
        raw = raw.min(t0.elapsed().as_secs_f64());
        std::fs::remove_file(&raw_path).unwrap();

        let t1 = Instant::now();
        let exported = onnx_export::export(&net, &onnx_export::ExportOptions::default()).unwrap();
        built = built.min(t1.elapsed().as_secs_f64());
        model_bytes = exported.write(&path, &WriteOptions::default()).unwrap().model_bytes;
        total = total.min(t1.elapsed().as_secs_f64());
        std::fs::remove_file(&path).unwrap();
    }
    let peak = rss_kb("VmHWM:");
    println!(
        "net {prototxt}: weights {:.0} MB, model {:.0} MB, rss before export {:.0} MB, peak {:.0} MB \
         (export adds {:.2}x weights), raw write {raw:.3}s, export {built:.3}s + write = {total:.3}s ({:.2}x raw)",
        weight_bytes as f64 / (1 << 20) as f64,
        model_bytes as f64 / (1 << 20) as f64,
        base_rss as f64 / 1024.0,
        peak as f64 / 1024.0,
        (peak.saturating_sub(base_rss)) as f64 * 1024.0 / weight_bytes as f64,
        total / raw
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "copy".into());
    if mode == "net" {
        let prototxt = args.next().expect("net <prototxt> [dir]");
        let dir = std::path::PathBuf::from(
            args.next()
                .unwrap_or_else(|| std::env::temp_dir().display().to_string()),
        );
        return bench_net(&prototxt, &dir);
    }
    let dir = std::path::PathBuf::from(
        args.next()
            .unwrap_or_else(|| std::env::temp_dir().display().to_string()),
    );
    let path = dir.join(format!("export_bench_{mode}.onnx"));

    let w = weights();
    let weight_bytes: usize = w.iter().map(|(_, a)| a.len() * 4).sum();
    let base_rss = rss_kb("VmRSS:");
    let t0 = Instant::now();
    let mut build_time = 0.0;
    match mode.as_str() {
        "baseline" => {
            let mut f = std::fs::File::create(&path).unwrap();
            for (_, a) in &w {
                f.write_all(bytemuck::cast_slice(a.as_slice().unwrap())).unwrap();
            }
            f.flush().unwrap();
        }
        "copy" | "owned" | "external" | "vec" => {
            let (model, kept) = build(w, mode == "owned");
            build_time = t0.elapsed().as_secs_f64();
            match mode.as_str() {
                "vec" => std::fs::write(&path, prost::Message::encode_to_vec(&model)).unwrap(),
                "external" => {
                    let options = WriteOptions {
                        external: ExternalData::Always { threshold: 1024 },
                        location: None,
                    };
                    onnx_export::write_model(&path, &model, &options).unwrap();
                }
                _ => {
                    onnx_export::write_model(&path, &model, &WriteOptions::default()).unwrap();
                }
            }
            drop(kept);
        }
        "borrowed" => {
            let mut payloads = onnx_export::Payloads::new();
            let mut g = GraphBuilder::new("bench");
            g.add_input("data", &dims(&[1, 3, 227, 227])).unwrap();
            let mut last = "data".to_string();
            for (name, a) in &w {
                let init = g.initializer_f32_borrowed(&mut payloads, name, a.view()).unwrap();
                last = g.op("Add", &format!("{init}_use"), &[&last, &init], vec![]).unwrap();
            }
            g.add_output(&last, None).unwrap();
            let model = g.into_model(&ModelOptions::default()).unwrap();
            build_time = t0.elapsed().as_secs_f64();
            onnx_export::write_model_with(&path, &model, &payloads, &WriteOptions::default()).unwrap();
        }
        other => panic!("unknown mode {other}"),
    }
    let total = t0.elapsed().as_secs_f64();
    let peak = rss_kb("VmHWM:");
    let mb = |kb: u64| kb as f64 / 1024.0;
    println!(
        "{mode:>8}: weights {:.0} MB, rss before {:.0} MB, peak {:.0} MB ({:.2}x weights), build {:.3}s, total {:.3}s",
        weight_bytes as f64 / (1 << 20) as f64,
        mb(base_rss),
        mb(peak),
        peak as f64 * 1024.0 / weight_bytes as f64,
        build_time,
        total
    );
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(dir.join(format!("export_bench_{mode}.onnx.data")));
}
