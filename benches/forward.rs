//! Forward-pass benchmark: CaffeNet (seeded synthetic weights, the same
//! 244 MB file as `benches/model_io.rs`) exported to ONNX as the classifier
//! at 1x3x227x227 and as the fully convolutional net at 1x3x451x451 (files in
//! `target/bench-data`), then timed:
//!
//! - tract (through `netsurgeon::runtime::Session`) on 1 and 2 threads: median, min
//!   and max of `NETSURGEON_BENCH_RUNS` (default 10) runs after `WARMUP`
//!   runs, on those files and on the same nets with
//!   `passes::split_large_conv` applied (what `netsurgeon::Forward` runs;
//!   `*_split.onnx`), so the pass's gain is measured in the same run;
//! - onnxruntime on the same (unsplit) files and thread counts when
//!   `NETSURGEON_PYTHON` names a Python with onnxruntime and numpy: a Python
//!   process kept for the whole benchmark times the same number of runs with
//!   `time.perf_counter` (`intra_op_num_threads` set), interleaved run by run
//!   with tract's runs of the same model and thread count, so all see about
//!   the same load from other processes on the machine. Ratios are given of
//!   the medians and of the minimums (the least disturbed runs);
//! - the export itself: `onnx_export::export` + `Export::write` against
//!   `std::fs::write` of the same bytes, and the peak RSS (VmHWM) of a fresh
//!   process running load -> full_conv -> export, as a multiple of the
//!   weight file's size.
//!
//! Run: `cargo bench --bench forward` (`NETSURGEON_BENCH_RUNS=n` to change
//! the number of timed runs, `NETSURGEON_BENCH_SPLIT_MAX_K=k` to try another
//! threshold than `split_conv::DEFAULT_MAX_K`). Targets from the ONNX-export
//! issue: tract within 1.5x of onnxruntime at 451 on the same threads, export
//! at most 2x the raw write, peak RSS under 2.5x the weight file.

mod common;
use common::*;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ndarray::{ArrayD, IxDyn};
use netsurgeon::graph_ir::{passes, Net};
use netsurgeon::onnx_export::{export, ExportOptions, WriteOptions};
use netsurgeon::runtime::{Session, SessionBuilder};

const WARMUP: usize = 2;
const CLASSIFIER: [usize; 4] = [1, 3, 227, 227];
const FULL_CONV: [usize; 4] = [1, 3, 451, 451];

fn runs() -> usize {
    std::env::var("NETSURGEON_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(10)
}

/// Median, min and max in milliseconds.
#[derive(Debug, Clone, Copy)]
struct Stats {
    median: f64,
    min: f64,
    max: f64,
}

impl Stats {
    fn of(mut ms: Vec<f64>) -> Stats {
        ms.sort_by(f64::total_cmp);
        Stats {
            median: ms[ms.len() / 2],
            min: ms[0],
            max: ms[ms.len() - 1],
        }
    }
}

fn time_ms(runs: usize, mut f: impl FnMut()) -> Stats {
    Stats::of(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect(),
    )
}

/// Values in [-100, 100), like a mean-subtracted image.
fn input(shape: &[usize]) -> ArrayD<f32> {
    let mut s = 0x9E3779B97F4A7C15u64;
    let n = shape.iter().product();
    let v = (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 200.0 - 100.0
        })
        .collect();
    ArrayD::from_shape_vec(IxDyn(shape), v).unwrap()
}

/// A tract session on `model` at `shape` with `threads`, and its load +
/// optimize time.
fn tract_session(model: &Path, shape: &[usize], threads: usize) -> (Session, Duration) {
    let t = Instant::now();
    let session = SessionBuilder::from_path(model)
        .unwrap()
        .input_shape("data", shape)
        .unwrap()
        .threads(threads)
        .build()
        .unwrap();
    (session, t.elapsed())
}

/// `runs` timed runs (ms). The input copy is part of a run, as it is for
/// onnxruntime's feed.
fn tract_runs(session: &Session, x: &ArrayD<f32>, runs: usize) -> Vec<f64> {
    (0..runs)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(session.run(vec![x.clone()]).unwrap());
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect()
}

/// onnxruntime in a Python process kept for the whole benchmark, so that its
/// runs can be interleaved with tract's (the two then see the same machine
/// load). One JSON command per line on stdin, one JSON answer per line.
const ORT_WORKER: &str = r#"
import json, sys, time
import numpy as np
import onnxruntime as ort
sessions = {}
for line in sys.stdin:
    cmd = json.loads(line)
    if cmd["cmd"] == "load":
        options = ort.SessionOptions()
        options.intra_op_num_threads = cmd["threads"]
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        session = ort.InferenceSession(cmd["path"], options, providers=["CPUExecutionProvider"])
        x = (np.random.default_rng(0).random(cmd["shape"], dtype=np.float32) * 200 - 100).astype(np.float32)
        sessions[cmd["key"]] = (session, {session.get_inputs()[0].name: x})
        answer = {"version": ort.__version__}
    elif cmd["cmd"] == "run":
        session, feed = sessions[cmd["key"]]
        times = []
        for _ in range(cmd["runs"]):
            t = time.perf_counter()
            session.run(None, feed)
            times.append((time.perf_counter() - t) * 1e3)
        answer = {"times": times}
    elif cmd["cmd"] == "drop":
        sessions.clear()
        answer = {}
    print(json.dumps(answer), flush=True)
"#;

struct OrtWorker {
    child: std::process::Child,
    stdout: std::io::BufReader<std::process::ChildStdout>,
}

impl OrtWorker {
    fn start(python: &Path) -> Option<OrtWorker> {
        let mut child = Command::new(python)
            .arg("-c")
            .arg(ORT_WORKER)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .ok()?;
        let stdout = std::io::BufReader::new(child.stdout.take()?);
        Some(OrtWorker { child, stdout })
    }

    fn ask(&mut self, command: serde_json::Value) -> Option<serde_json::Value> {
        use std::io::{BufRead, Write};
        let stdin = self.child.stdin.as_mut()?;
        writeln!(stdin, "{command}").ok()?;
        stdin.flush().ok()?;
        let mut line = String::new();
        self.stdout.read_line(&mut line).ok()?;
        serde_json::from_str(&line).ok()
    }

    /// Loads `model` as `key`; returns onnxruntime's version.
    fn load(&mut self, key: &str, model: &Path, shape: &[usize], threads: usize) -> Option<String> {
        let answer = self.ask(serde_json::json!({
            "cmd": "load", "key": key, "path": model.display().to_string(), "shape": shape, "threads": threads,
        }))?;
        answer["version"].as_str().map(str::to_string)
    }

    fn runs(&mut self, key: &str, runs: usize) -> Option<Vec<f64>> {
        let answer = self.ask(serde_json::json!({"cmd": "run", "key": key, "runs": runs}))?;
        answer["times"].as_array()?.iter().map(|t| t.as_f64()).collect()
    }

    fn drop_sessions(&mut self) {
        self.ask(serde_json::json!({"cmd": "drop"}));
    }
}

impl Drop for OrtWorker {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

fn child(task: &str) {
    let weights = PathBuf::from(std::env::args().nth(1).expect("weights path"));
    match task {
        "baseline" => {}
        "export" => {
            let mut net = Net::load_with_weights(caffenet_prototxt(), &weights).unwrap();
            passes::full_conv(&mut net, "data", &FULL_CONV).unwrap();
            let exported = export(&net, &ExportOptions::default()).unwrap();
            let dir = tempfile::tempdir_in(bench_dir()).unwrap();
            exported
                .write(dir.path().join("full_conv.onnx"), &WriteOptions::default())
                .unwrap();
        }
        other => panic!("unknown child task {other}"),
    }
    println!("{}", peak_rss_bytes());
}

/// Exports `net` to `path` (timed over `runs`, after one warm-up) and
/// writes the same bytes with `std::fs::write` (timed likewise).
fn export_vs_write(net: &Net, path: &Path, runs: usize) -> (Stats, Stats, u64) {
    let write = || {
        let exported = export(net, &ExportOptions::default()).unwrap();
        exported.write(path, &WriteOptions::default()).unwrap();
    };
    write();
    let export_time = time_ms(runs, write);
    let bytes = std::fs::read(path).unwrap();
    let raw = bench_dir().join("raw_write_test.bin");
    std::fs::write(&raw, &bytes).unwrap();
    let raw_time = time_ms(runs, || std::fs::write(&raw, &bytes).unwrap());
    let _ = std::fs::remove_file(&raw);
    (export_time, raw_time, bytes.len() as u64)
}

/// Writes `net` with its large convolutions split (a copy: `net` is kept for
/// the other exports), as `netsurgeon::Forward` runs it.
fn write_split(net: &Net, path: &Path) {
    let mut split = net.clone();
    let mut options = passes::SplitConvOptions::default();
    if let Some(max_k) = std::env::var("NETSURGEON_BENCH_SPLIT_MAX_K")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        options.max_k = max_k;
    }
    let done = passes::split_large_conv(&mut split, &options).unwrap();
    for s in &done {
        println!(
            "{}: split {} (K {}) into {} parts",
            path.display(),
            s.name,
            s.k,
            s.channels.len()
        );
    }
    export(&split, &ExportOptions::default())
        .unwrap()
        .write(path, &WriteOptions::default())
        .unwrap();
}

fn main() {
    if let Ok(task) = std::env::var(CHILD) {
        return child(&task);
    }
    let runs = runs();
    let weights = caffenet_weights();
    let size = std::fs::metadata(&weights).unwrap().len();
    let mb = |b: u64| b as f64 / 1e6;
    println!("CaffeNet weights: {} ({:.1} MB)", weights.display(), mb(size));

    // The two ONNX files, and the export's cost against a raw write.
    let mut net = Net::load_with_weights(caffenet_prototxt(), &weights).unwrap();
    net.reshape_input("data", &CLASSIFIER).unwrap();
    let classifier = bench_dir().join("caffenet_227.onnx");
    let (export_227, raw_227, bytes_227) = export_vs_write(&net, &classifier, 5);
    let classifier_split = bench_dir().join("caffenet_227_split.onnx");
    write_split(&net, &classifier_split);
    passes::full_conv(&mut net, "data", &FULL_CONV).unwrap();
    let full_conv = bench_dir().join("caffenet_full_conv_451.onnx");
    let (export_451, raw_451, bytes_451) = export_vs_write(&net, &full_conv, 5);
    let full_conv_split = bench_dir().join("caffenet_full_conv_451_split.onnx");
    write_split(&net, &full_conv_split);
    drop(net);
    println!("wrote {} ({:.1} MB)", classifier.display(), mb(bytes_227));
    println!("wrote {} ({:.1} MB)", full_conv.display(), mb(bytes_451));

    let baseline = child_peak("baseline", &weights);
    let export_peak = child_peak("export", &weights);

    let python = std::env::var_os("NETSURGEON_PYTHON")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from);
    if python.is_none() {
        println!("NETSURGEON_PYTHON is not set: onnxruntime is not timed");
    }

    let mut ort = python.as_deref().and_then(|py| {
        let worker = OrtWorker::start(py);
        if worker.is_none() {
            println!("could not start {}: onnxruntime is not timed", py.display());
        }
        worker
    });
    struct Row {
        threads: usize,
        tract: [Stats; 2],
        prepare: [Duration; 2],
        split: [Stats; 2],
        split_prepare: [Duration; 2],
        ort: Option<[Stats; 2]>,
    }
    let mut rows = Vec::new();
    let mut ort_version = None;
    let models = [
        (&classifier, &CLASSIFIER[..], "227"),
        (&full_conv, &FULL_CONV[..], "451"),
    ];
    let split_models = [&classifier_split, &full_conv_split];
    let inputs = [input(&CLASSIFIER), input(&FULL_CONV)];
    for threads in [1, 2] {
        let sessions: Vec<(Session, Duration)> = models
            .iter()
            .map(|(model, shape, _)| tract_session(model, shape, threads))
            .collect();
        let split_sessions: Vec<(Session, Duration)> = split_models
            .iter()
            .zip(&models)
            .map(|(model, (_, shape, _))| tract_session(model, shape, threads))
            .collect();
        let mut with_ort = ort.is_some();
        if let Some(worker) = ort.as_mut() {
            for (model, shape, key) in &models {
                match worker.load(key, model, shape, threads) {
                    Some(v) => ort_version = Some(v),
                    None => with_ort = false,
                }
            }
        }
        // Per model: the three runtimes' warm-ups, then their runs
        // interleaved one by one (tract, tract split, onnxruntime, tract,
        // ...), so that the load other processes put on the machine falls on
        // all three alike. Models are not alternated: each model's weights are
        // most of its traffic, and switching models every run would measure
        // the 227 net with the 451 net's weights in the caches.
        let mut tract_times = [Vec::new(), Vec::new()];
        let mut split_times = [Vec::new(), Vec::new()];
        let mut ort_times = [Vec::new(), Vec::new()];
        for (i, (_, _, key)) in models.iter().enumerate() {
            tract_runs(&sessions[i].0, &inputs[i], WARMUP);
            tract_runs(&split_sessions[i].0, &inputs[i], WARMUP);
            if let (true, Some(worker)) = (with_ort, ort.as_mut()) {
                worker.runs(key, WARMUP);
            }
            for _ in 0..runs {
                tract_times[i].extend(tract_runs(&sessions[i].0, &inputs[i], 1));
                split_times[i].extend(tract_runs(&split_sessions[i].0, &inputs[i], 1));
                if let (true, Some(worker)) = (with_ort, ort.as_mut()) {
                    ort_times[i].extend(worker.runs(key, 1).unwrap_or_default());
                }
            }
        }
        let split_sessions_prepare: Vec<Duration> = split_sessions.iter().map(|s| s.1).collect();
        drop(split_sessions);
        let stats = |times: &[Vec<f64>; 2]| [Stats::of(times[0].clone()), Stats::of(times[1].clone())];
        rows.push(Row {
            threads,
            tract: stats(&tract_times),
            prepare: [sessions[0].1, sessions[1].1],
            split: stats(&split_times),
            split_prepare: [split_sessions_prepare[0], split_sessions_prepare[1]],
            ort: (with_ort && !ort_times[0].is_empty() && !ort_times[1].is_empty()).then(|| stats(&ort_times)),
        });
        if let Some(worker) = ort.as_mut() {
            worker.drop_sessions();
        }
    }
    drop(ort);
    let fmt = |s: &Stats| format!("{:.1} ({:.1}-{:.1})", s.median, s.min, s.max);
    println!();
    println!(
        "Forward pass, ms: median (min-max) of {runs} runs after {WARMUP} warm-up{}",
        ort_version.map_or(String::new(), |v| format!("; onnxruntime {v}"))
    );
    let mut table = vec![row(&[
        "threads",
        "runtime",
        "227x227 classifier",
        "451x451 full-conv",
        "451 / 227",
        "load+optimize",
    ])];
    for r in &rows {
        table.push(vec![
            r.threads.to_string(),
            "tract".into(),
            fmt(&r.tract[0]),
            fmt(&r.tract[1]),
            format!("{:.2}x", r.tract[1].median / r.tract[0].median),
            format!(
                "{:.2} s / {:.2} s",
                r.prepare[0].as_secs_f64(),
                r.prepare[1].as_secs_f64()
            ),
        ]);
        table.push(vec![
            r.threads.to_string(),
            "tract, large convs split".into(),
            fmt(&r.split[0]),
            fmt(&r.split[1]),
            format!("{:.2}x", r.split[1].median / r.split[0].median),
            format!(
                "{:.2} s / {:.2} s",
                r.split_prepare[0].as_secs_f64(),
                r.split_prepare[1].as_secs_f64()
            ),
        ]);
        if let Some(o) = &r.ort {
            table.push(vec![
                r.threads.to_string(),
                "onnxruntime".into(),
                fmt(&o[0]),
                fmt(&o[1]),
                format!("{:.2}x", o[1].median / o[0].median),
                String::new(),
            ]);
            for (what, t) in [("tract / ORT", &r.tract), ("tract split / ORT", &r.split)] {
                table.push(vec![
                    r.threads.to_string(),
                    format!("{what} (median; min)"),
                    format!("{:.2}x; {:.2}x", t[0].median / o[0].median, t[0].min / o[0].min),
                    format!(
                        "{:.2}x; {:.2}x (target <= 1.50x)",
                        t[1].median / o[1].median,
                        t[1].min / o[1].min
                    ),
                    String::new(),
                    String::new(),
                ]);
            }
        }
    }
    print_table(&table);

    println!();
    let mut table = vec![row(&["export (median of 5, warm cache)", "value", "target"])];
    for (what, e, raw) in [
        ("227 classifier", export_227, raw_227),
        ("451 full-conv", export_451, raw_451),
    ] {
        table.push(vec![
            format!("{what}: export + write"),
            format!("{:.1} ms", e.median),
            String::new(),
        ]);
        table.push(vec![
            format!("{what}: std::fs::write of the same bytes"),
            format!("{:.1} ms", raw.median),
            "yardstick".into(),
        ]);
        table.push(vec![
            format!("{what}: export / raw write"),
            format!("{:.2}x", e.median / raw.median),
            "<= 2.00x".into(),
        ]);
    }
    table.push(vec![
        "peak RSS of load -> full_conv -> export, / weight file".into(),
        format!("{:.2}x", export_peak as f64 / size as f64),
        "< 2.50x".into(),
    ]);
    table.push(vec![
        "(that peak; a bare process's)".into(),
        format!("{:.1} MB; {:.1} MB", mb(export_peak), mb(baseline)),
        String::new(),
    ]);
    print_table(&table);
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}

/// A Markdown table, columns padded to their widest cell; the first row is
/// the header.
fn print_table(rows: &[Vec<String>]) {
    let columns = rows[0].len();
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let line = |r: &[String]| {
        let cells: Vec<String> = r.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("| {} |", cells.join(" | "));
    };
    line(&rows[0]);
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    println!("|-{}-|", rule.join("-|-"));
    for r in &rows[1..] {
        line(r);
    }
}
