//! `netsurgeon demo`, run as a user would: its sections, its pictures, and its
//! numbers against real Caffe's (fixtures/golden): the designer-filter output
//! and weights, and the fully convolutional LeNet's digit map.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use netsurgeon::caffe_io::{read_npy_f32, read_npy_i64};
use netsurgeon::caffe_preprocess::{load_image, ImageOptions};

fn golden() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/golden")
}

fn run_demo(out: &Path, extra: &[&str]) -> String {
    let output = Command::cargo_bin("netsurgeon")
        .unwrap()
        .arg("demo")
        .arg("--out")
        .arg(out)
        .args(extra)
        // The demo must not need the repository: run it from elsewhere.
        .current_dir(out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "demo failed\nstdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// Decodes a PNG and checks its size and that it is not one flat colour.
fn assert_picture(path: &Path, width: Option<usize>, height: Option<usize>) -> (usize, usize) {
    let img = load_image(path, &ImageOptions::default()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (h, w, _) = img.dim();
    if let Some(expected) = width {
        assert_eq!(w, expected, "{} width", path.display());
    }
    if let Some(expected) = height {
        assert_eq!(h, expected, "{} height", path.display());
    }
    let first = img[[0, 0, 0]];
    let differ = img.iter().filter(|&&v| v != first).count();
    assert!(differ > img.len() / 20, "{} is (almost) blank", path.display());
    (w, h)
}

/// The rows of a printed class map that follows the line containing `after`.
fn printed_map(stdout: &str, after: &str, rows: usize) -> Vec<Vec<i64>> {
    let mut lines = stdout.lines().skip_while(|l| !l.contains(after));
    assert!(lines.next().is_some(), "no '{after}' in:\n{stdout}");
    lines
        .take(rows)
        .map(|l| l.split_whitespace().map(|c| c.parse().unwrap()).collect())
        .collect()
}

fn max_abs(values: impl IntoIterator<Item = f32>) -> f32 {
    values.into_iter().fold(0.0, |m, v| m.max(v.abs()))
}

fn check_designer_and_digits(out: &Path, stdout: &str) {
    for heading in [
        "1. Designer filters",
        "2. CaffeNet as a fully convolutional net",
        "3. A trained LeNet reads a canvas of digits",
        "Files written",
    ] {
        assert!(stdout.contains(heading), "no section '{heading}' in:\n{stdout}");
    }
    // Step 1: the blob and param listing, the bias surgery, Caffe's min/max.
    assert!(stdout.contains("  data (1, 1, 360, 480)\n  conv (1, 3, 356, 476)\n"));
    assert!(stdout.contains("  conv (3, 1, 5, 5) (3,)\n"));
    assert!(stdout.contains("(+1.000000)"), "{stdout}");
    assert!(stdout.contains("min -3.678431, max 3.776471"), "{stdout}");

    let weights = read_npy_f32(out.join("designer_conv_weights.npy")).unwrap();
    let caffe_weights = read_npy_f32(golden().join("designer/conv_weights.npy")).unwrap();
    assert_eq!(weights.shape(), caffe_weights.shape());
    let diff = max_abs(weights.iter().zip(&caffe_weights).map(|(a, b)| a - b));
    assert!(diff <= 1e-7, "designed weights differ from Caffe's by {diff}");

    let conv = read_npy_f32(out.join("designer_conv.npy")).unwrap();
    let caffe = read_npy_f32(golden().join("designer/conv.npy")).unwrap();
    assert_eq!(conv.shape(), caffe.shape());
    let diff = max_abs(conv.iter().zip(&caffe).map(|(a, b)| a - b));
    let tolerance = 1e-4 * max_abs(caffe.iter().copied());
    assert!(
        diff <= tolerance,
        "conv output differs from Caffe's by {diff} (> {tolerance})"
    );

    for name in [
        "designer_blur.png",
        "designer_sobel_horizontal.png",
        "designer_sobel_vertical.png",
    ] {
        assert_picture(&out.join(name), Some(476), Some(356));
    }

    // Step 3: the digit map equals real Caffe's, printed and drawn.
    let golden_map = read_npy_i64(golden().join("digits/full_conv/argmax_map.npy")).unwrap();
    let map = printed_map(stdout, "the digit read at each of the 8x8 windows", 8);
    let printed: Vec<i64> = map.into_iter().flatten().collect();
    assert_eq!(printed, golden_map.iter().copied().collect::<Vec<_>>());
    assert!(stdout.contains("64 of 64 windows agree (identical)"));
    assert!(stdout.contains("the four digits: 3, 7, 0, 5"));
    assert_picture(&out.join("digits_canvas.png"), Some(56), Some(56));
    assert_picture(&out.join("digits_class_map.png"), Some(256), Some(256));
    let (w, h) = assert_picture(&out.join("digits_prob_3.png"), None, None);
    assert!(h >= 200 && w > h, "heatmap with legend is {w}x{h}");
    assert!(out.join("lenet_full_conv.prototxt").is_file());
    assert!(out.join("lenet_full_conv.caffemodel").is_file());

    // Every file is announced where it went.
    for line in stdout.lines().filter(|l| l.trim_start().starts_with("wrote ")) {
        let path = line.trim_start()["wrote ".len()..].split(" (").next().unwrap();
        assert!(Path::new(path).is_file(), "announced but missing: {path}");
    }
}

/// Steps 1 and 3 alone (`--skip-caffenet`, for a quick run without the
/// ~470 MB CaffeNet writes).
#[test]
fn demo_matches_caffe_without_caffenet() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    std::fs::create_dir(&out).unwrap();
    let stdout = run_demo(&out, &["--skip-caffenet"]);
    check_designer_and_digits(&out, &stdout);
    assert!(stdout.contains("skipped (--skip-caffenet)"));
    assert!(!out.join("caffenet_full_conv.onnx").exists());
}

/// The whole demo as `netsurgeon demo` runs it, CaffeNet included (about 6 s
/// in a debug build too: dependencies are optimised; ~470 MB in a temp dir).
#[test]
fn whole_demo_with_caffenet() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("demo");
    std::fs::create_dir(&out).unwrap();
    let start = std::time::Instant::now();
    let stdout = run_demo(&out, &[]);
    let seconds = start.elapsed().as_secs_f64();
    check_designer_and_digits(&out, &stdout);
    // The budget is for release builds; debug timings vary with the machine.
    if !cfg!(debug_assertions) {
        assert!(seconds < 60.0, "the demo took {seconds:.1} s");
    }

    assert!(stdout.contains("  fc6 -> fc6-conv weights are (4096, 256, 6, 6) dimensional (kernel 6x6)"));
    assert!(stdout.contains("  output prob (1, 1000, 8, 8)"));
    let map = printed_map(&stdout, "full conv at 451: prob (1, 1000, 8, 8)", 8);
    assert_eq!(map.len(), 8);
    assert!(map
        .iter()
        .all(|row| row.len() == 8 && row.iter().all(|c| (0..1000).contains(c))));
    // Every core, as the library's forward pass uses by default.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert!(stdout.contains(&format!("forward time ({cores} threads")));
    assert_picture(&out.join("caffenet_class_map.png"), None, None);

    // The saved net reloads as the full-conv CaffeNet, and the ONNX file exists.
    let net = netsurgeon::graph_ir::Net::load_with_weights(
        out.join("caffenet_full_conv.prototxt"),
        out.join("caffenet_full_conv.caffemodel"),
    )
    .unwrap();
    assert_eq!(net.blob_shape("prob").unwrap(), &[1, 1000, 8, 8]);
    assert_eq!(net.param("fc6-conv", 0).unwrap().shape(), &[4096, 256, 6, 6]);
    let onnx = std::fs::metadata(out.join("caffenet_full_conv.onnx")).unwrap();
    assert!(onnx.len() > 200_000_000, "ONNX file of {} bytes", onnx.len());
}

#[test]
fn demo_refuses_a_file_as_its_directory() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("taken");
    std::fs::write(&file, "x").unwrap();
    Command::cargo_bin("netsurgeon")
        .unwrap()
        .args(["demo", "--skip-caffenet", "--out"])
        .arg(&file)
        .assert()
        .code(1)
        .stderr(predicates::str::contains("is not a directory"));
}
