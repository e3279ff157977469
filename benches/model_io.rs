//! Model I/O benchmark on a CaffeNet-sized weight file (244 MB), generated
//! from the shipped CaffeNet deploy prototxt with seeded synthetic weights.
//!
//! Measures, from a warm page cache:
//! - reading the file's bytes into memory (`std::fs::read`), the yardstick;
//! - `caffe_io::read_caffemodel` (decoding), and its ratio to the yardstick;
//! - `caffe_io::write_caffemodel`, against writing the same bytes with `std::fs::write`;
//! - `netsurgeon::stats` over every param (what `inspect --stats` adds), on all cores and on
//!   one, against `Net::load` (what `inspect --weights` does), a bare read of the same memory,
//!   and the two-pass ndarray code it replaced;
//! - peak memory (VmHWM) of a process that only decodes the file, and of one
//!   that runs load -> full_conv -> save, each as a multiple of the file size;
//! - ONNX -> Caffe (`onnx_import::import_file` then `save`, what `to-caffe
//!   --no-check` does) on the same net exported to ONNX, against copying the
//!   ONNX file (`std::fs::copy`), with its peak memory.
//!
//! Run: `cargo bench --bench model_io` (figures are printed as a table).

mod common;
use common::*;

use std::path::PathBuf;
use std::time::{Duration, Instant};

const RUNS: usize = 7;

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn time<T>(mut f: impl FnMut() -> T) -> Duration {
    f(); // warm-up: page cache, allocator
    median(
        (0..RUNS)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(f());
                t.elapsed()
            })
            .collect(),
    )
}

/// What `inspect --stats` computed before `netsurgeon::stats`: one ndarray pass for min, max
/// and a sequential f64 sum, a second for the squared deviations. Kept as the yardstick.
fn two_pass_stats(values: &ndarray::ArrayD<f32>) -> (f32, f32, f64, f64) {
    let n = values.len().max(1) as f64;
    let (mut min, mut max, mut sum) = (f32::INFINITY, f32::NEG_INFINITY, 0f64);
    for &v in values {
        min = min.min(v);
        max = max.max(v);
        sum += f64::from(v);
    }
    let mean = sum / n;
    let var = values.iter().map(|&v| (f64::from(v) - mean).powi(2)).sum::<f64>() / n;
    (min, max, mean, var.sqrt())
}

fn child(task: &str) {
    let weights = PathBuf::from(std::env::args().nth(1).expect("weights path"));
    match task {
        "baseline" => {}
        "decode" => {
            let net = caffe_io::read_caffemodel(&weights).unwrap();
            std::hint::black_box(&net);
        }
        "surgery" => {
            let prototxt = repo().join("fixtures/models/bvlc_reference_caffenet/deploy.prototxt");
            let mut net = graph_ir::Net::load_with_weights(&prototxt, &weights).unwrap();
            graph_ir::passes::full_conv(&mut net, "data", &[1, 3, 451, 451]).unwrap();
            let dir = tempfile::tempdir_in(bench_dir()).unwrap();
            net.save(dir.path().join("fc.prototxt"), dir.path().join("fc.caffemodel"))
                .unwrap();
        }
        "to_caffe" => {
            // `weights` is the ONNX file here.
            let imported = netsurgeon::onnx_import::import_file(&weights, &Default::default()).unwrap();
            let dir = tempfile::tempdir_in(bench_dir()).unwrap();
            imported
                .save(&dir.path().join("net.prototxt"), &dir.path().join("net.caffemodel"))
                .unwrap();
        }
        other => panic!("unknown child task {other}"),
    }
    println!("{}", peak_rss_bytes());
}

fn main() {
    if let Ok(task) = std::env::var(CHILD) {
        return child(&task);
    }
    let weights = caffenet_weights();
    let size = std::fs::metadata(&weights).unwrap().len();
    let mb = |b: u64| b as f64 / 1e6;
    println!("CaffeNet weights: {} ({:.1} MB)", weights.display(), mb(size));

    let read = time(|| std::fs::read(&weights).unwrap());
    let decode = time(|| caffe_io::read_caffemodel(&weights).unwrap());
    let model = caffe_io::read_caffemodel(&weights).unwrap();
    let bytes = std::fs::read(&weights).unwrap();
    let out = bench_dir().join("write_test.caffemodel");
    let raw_write = time(|| std::fs::write(&out, &bytes).unwrap());
    let encode = time(|| caffe_io::write_caffemodel(&out, &model).unwrap());
    drop((model, bytes));
    let _ = std::fs::remove_file(&out);

    // The stats pass of `inspect --stats`, over the params as `inspect` holds them.
    let net = graph_ir::Net::load_with_weights(caffenet_prototxt(), &weights).unwrap();
    let params: Vec<&ndarray::ArrayD<f32>> = net.params().into_iter().flat_map(|(_, p)| p).collect();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let load = time(|| graph_ir::Net::load_with_weights(caffenet_prototxt(), &weights).unwrap());
    let stats_all = time(|| {
        params
            .iter()
            .map(|p| netsurgeon::stats::array_stats(p))
            .collect::<Vec<_>>()
    });
    let stats_one = time(|| {
        params
            .iter()
            .map(|p| netsurgeon::stats::stats_with_threads(p.as_slice_memory_order().unwrap(), 1))
            .collect::<Vec<_>>()
    });
    let stats_old = time(|| params.iter().map(|p| two_pass_stats(p)).collect::<Vec<_>>());
    // Memory speed: the cheapest pass that reads every weight (an xor of the bits, which the
    // compiler vectorizes fully).
    let touch = time(|| {
        params
            .iter()
            .map(|p| {
                p.as_slice_memory_order()
                    .unwrap()
                    .iter()
                    .fold(0u32, |a, &x| a ^ x.to_bits())
            })
            .fold(0, |a, b| a ^ b)
    });
    // The two agree to far below the printed precision (6 decimals).
    for p in &params {
        let (new, old) = (netsurgeon::stats::array_stats(p), two_pass_stats(p));
        assert!((new.mean - old.2).abs() < 1e-12 && (new.std - old.3).abs() < 1e-12);
        assert_eq!((new.min, new.max), (old.0, old.1));
    }
    drop(net);

    // ONNX -> Caffe on the same net exported to ONNX.
    let onnx = bench_dir().join("caffenet.onnx");
    if !onnx.exists() {
        let net = graph_ir::Net::load_with_weights(caffenet_prototxt(), &weights).unwrap();
        let export = netsurgeon::onnx_export::export(&net, &Default::default()).unwrap();
        export.write(&onnx, &Default::default()).unwrap();
    }
    let onnx_size = std::fs::metadata(&onnx).unwrap().len();
    let copy_out = bench_dir().join("copy_test.onnx");
    let onnx_copy = time(|| std::fs::copy(&onnx, &copy_out).unwrap());
    let _ = std::fs::remove_file(&copy_out);
    let to_caffe_dir = tempfile::tempdir_in(bench_dir()).unwrap();
    let to_caffe = time(|| {
        let imported = netsurgeon::onnx_import::import_file(&onnx, &Default::default()).unwrap();
        imported
            .save(
                &to_caffe_dir.path().join("net.prototxt"),
                &to_caffe_dir.path().join("net.caffemodel"),
            )
            .unwrap();
    });
    let to_caffe_peak = child_peak("to_caffe", &onnx);

    let baseline = child_peak("baseline", &weights);
    let decode_peak = child_peak("decode", &weights);
    let surgery_peak = child_peak("surgery", &weights);

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!();
    println!("| measure (median of {RUNS}, warm cache)        | value       | target            |");
    println!("|--------------------------------------------|-------------|-------------------|");
    println!(
        "| std::fs::read (bytes into memory)          | {:8.1} ms | yardstick         |",
        ms(read)
    );
    println!(
        "| caffe_io::read_caffemodel                  | {:8.1} ms | <= 2x read        |",
        ms(decode)
    );
    println!(
        "| decode / read                              | {:8.2} x  | <= 2.00 x         |",
        decode.as_secs_f64() / read.as_secs_f64()
    );
    println!(
        "| std::fs::write (same bytes)                | {:8.1} ms | yardstick         |",
        ms(raw_write)
    );
    println!(
        "| caffe_io::write_caffemodel (atomic)        | {:8.1} ms |                   |",
        ms(encode)
    );
    println!(
        "| encode / write                             | {:8.2} x  |                   |",
        encode.as_secs_f64() / raw_write.as_secs_f64()
    );
    let threads_label = format!("stats of all params, {cores} threads");
    println!(
        "| Net::load (prototxt + decode, as inspect)  | {:8.1} ms | yardstick         |",
        ms(load)
    );
    println!("| {threads_label:<42} | {:8.1} ms | <= 0.5x Net::load |", ms(stats_all));
    println!(
        "| stats / Net::load                          | {:8.2} x  | <= 0.50 x         |",
        stats_all.as_secs_f64() / load.as_secs_f64()
    );
    println!(
        "| stats of all params, 1 thread              | {:8.1} ms |                   |",
        ms(stats_one)
    );
    println!(
        "| read every param once, 1 thread (memory)   | {:8.1} ms | yardstick         |",
        ms(touch)
    );
    println!(
        "| two-pass ndarray stats (before), 1 thread  | {:8.1} ms |                   |",
        ms(stats_old)
    );
    println!(
        "| peak RSS, decode process / file size       | {:8.2} x  | < 1.5 x           |",
        decode_peak as f64 / size as f64
    );
    println!(
        "| peak RSS, load+full_conv+save / file size  | {:8.2} x  |                   |",
        surgery_peak as f64 / size as f64
    );
    println!(
        "| ONNX file ({:6.1} MB): std::fs::copy       | {:8.1} ms | yardstick         |",
        mb(onnx_size),
        ms(onnx_copy)
    );
    println!(
        "| ONNX -> Caffe (import_file + save)         | {:8.1} ms |                   |",
        ms(to_caffe)
    );
    println!(
        "| ONNX -> Caffe / copy                       | {:8.2} x  |                   |",
        to_caffe.as_secs_f64() / onnx_copy.as_secs_f64()
    );
    println!(
        "| peak RSS, ONNX -> Caffe / ONNX file size   | {:8.2} x  |                   |",
        to_caffe_peak as f64 / onnx_size as f64
    );
    println!(
        "| (process baseline RSS)                     | {:8.1} MB |                   |",
        mb(baseline)
    );
}
