//! What the benchmarks share: the CaffeNet-sized weight file (generated once
//! from the shipped deploy prototxt with seed 0, then reused), and peak-memory
//! measurement of a task run in a fresh child process.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// Set in a child process to the task it must run.
pub const CHILD: &str = "NETSURGEON_BENCH_CHILD";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn bench_dir() -> PathBuf {
    let dir = repo().join("target/bench-data");
    std::fs::create_dir_all(&dir).expect("create target/bench-data");
    dir
}

/// The official CaffeNet deploy definition.
pub fn caffenet_prototxt() -> PathBuf {
    repo().join("fixtures/models/bvlc_reference_caffenet/deploy.prototxt")
}

/// The 244 MB CaffeNet weight file (seed 0), generated on first use.
pub fn caffenet_weights() -> PathBuf {
    let path = bench_dir().join("caffenet_seed0.caffemodel");
    if !path.exists() {
        let mut net = graph_ir::Net::load(caffenet_prototxt()).expect("CaffeNet deploy loads");
        net.synthesize_params(0);
        net.save(bench_dir().join("caffenet.prototxt"), &path)
            .expect("save CaffeNet");
    }
    path
}

/// This process's peak resident memory (VmHWM), in bytes.
pub fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Runs `task` in a fresh copy of this benchmark and returns its peak RSS
/// (the child prints it last).
pub fn child_peak(task: &str, weights: &Path) -> u64 {
    let out = Command::new(std::env::current_exe().unwrap())
        .env(CHILD, task)
        .arg(weights)
        .output()
        .expect("run child");
    assert!(out.status.success(), "{task}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .expect("child prints its peak")
}
