//! `netsurgeon heatmap`, run as a user would: the fully convolutional LeNet
//! reads a PNG of the digit canvas (its map must be real Caffe's), a tiny
//! colour net takes a grey JPEG, and bad input fails with exit 1 (model or
//! data) or 2 (usage) without touching existing files.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use netsurgeon::caffe_io::{read_npy_f32, read_npy_i64};
use netsurgeon::caffe_preprocess::{load_image, ImageOptions};
use netsurgeon::render::save_gray_png;
use predicates::prelude::*;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

fn digits() -> PathBuf {
    fixtures().join("golden/digits")
}

fn netsurgeon() -> Command {
    Command::cargo_bin("netsurgeon").unwrap()
}

/// The 56x56 digit canvas as a grey PNG.
fn canvas_png(dir: &Path) -> PathBuf {
    let canvas = read_npy_f32(digits().join("full_conv/input_56.npy")).unwrap();
    let path = dir.join("canvas.png");
    let plane = canvas.slice(ndarray::s![0, 0, .., ..]);
    save_gray_png(&path, plane).unwrap();
    path
}

/// `heatmap` on the full-conv LeNet, with the canvas image and `extra` args.
fn lenet_heatmap(image: &Path, output: &Path) -> Command {
    let mut cmd = netsurgeon();
    cmd.arg("heatmap")
        .arg(digits().join("lenet_full_conv.prototxt"))
        .arg("--weights")
        .arg(digits().join("lenet_full_conv.caffemodel"))
        .arg("--image")
        .arg(image)
        .args(["--size", "56", "--raw-scale", "1"])
        .arg("-o")
        .arg(output);
    cmd
}

fn printed_map(stdout: &str) -> Vec<i64> {
    stdout
        .lines()
        .skip_while(|l| !l.starts_with("argmax class map"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .flat_map(|l| l.split_whitespace().map(|c| c.parse::<i64>().unwrap()))
        .collect()
}

/// Decodes a PNG; returns (width, height) after checking it is not flat.
fn picture(path: &Path) -> (usize, usize) {
    let img = load_image(path, &ImageOptions::default()).unwrap();
    let (h, w, _) = img.dim();
    let first = img[[0, 0, 0]];
    assert!(
        img.iter().filter(|&&v| v != first).count() > img.len() / 20,
        "{} is blank",
        path.display()
    );
    (w, h)
}

#[test]
fn lenet_reads_the_digit_canvas_as_caffe_does() {
    let dir = tempfile::tempdir().unwrap();
    let image = canvas_png(dir.path());
    let output = dir.path().join("seven.png");
    let out = lenet_heatmap(&image, &output)
        .args(["--class", "7", "--top", "3"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("prob (1, 10, 8, 8): 8x8 windows, 10 classes"),
        "{stdout}"
    );
    // The PNG's 8-bit levels do not change a single window's answer.
    let golden = read_npy_i64(digits().join("full_conv/argmax_map.npy")).unwrap();
    assert_eq!(printed_map(&stdout), golden.iter().copied().collect::<Vec<_>>());
    assert!(stdout.contains("   1. class 7 "), "{stdout}");
    assert_eq!(stdout.matches("  argmax at ").count(), 3, "--top 3: {stdout}");
    assert!(stdout.contains("probability of class 7"));
    // A 56-pixel canvas is enlarged 4x (224 px) and a legend panel added.
    let (w, h) = picture(&output);
    assert_eq!(h, 224);
    assert!(w > 224, "no legend panel: {w}x{h}");
}

#[test]
fn a_classifier_is_made_fully_convolutional_first() {
    let dir = tempfile::tempdir().unwrap();
    let image = canvas_png(dir.path());
    let output = dir.path().join("top.png");
    let labels = dir.path().join("labels.txt");
    let names: Vec<String> = (0..10).map(|d| format!("digit {d}")).collect();
    std::fs::write(&labels, names.join("\n")).unwrap();
    let mut cmd = netsurgeon();
    cmd.arg("heatmap")
        .arg(digits().join("deploy.prototxt"))
        .arg("--weights")
        .arg(digits().join("lenet_digits.caffemodel"))
        .arg("--image")
        .arg(&image)
        .args(["--size", "56", "--raw-scale", "1", "--labels"])
        .arg(&labels)
        .arg("--output")
        .arg(&output);
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("cast to convolutions: ip1 -> ip1-conv, ip2 -> ip2-conv"),
        "{stdout}"
    );
    let golden = read_npy_i64(digits().join("full_conv/argmax_map.npy")).unwrap();
    assert_eq!(printed_map(&stdout), golden.iter().copied().collect::<Vec<_>>());
    // Default class: the top one by mean probability, named from the labels.
    assert!(stdout.contains("   1. class 7    mean"), "{stdout}");
    assert!(stdout.contains("digit 7"), "{stdout}");
    assert!(stdout.contains("probability of class 7, digit 7"), "{stdout}");
    picture(&output);
}

/// A tiny 3-channel net: a grey JPEG is tiled to RGB, resized, swapped to
/// BGR, scaled and mean-subtracted as for Caffe's reference models.
#[test]
fn grey_image_on_a_colour_net() {
    let dir = tempfile::tempdir().unwrap();
    let prototxt = dir.path().join("tiny.prototxt");
    std::fs::write(
        &prototxt,
        r#"name: "tiny"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 32 dim: 32 } } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
  convolution_param { num_output: 4 kernel_size: 8 stride: 8 } }
layer { name: "prob" type: "Softmax" bottom: "conv" top: "prob" }
"#,
    )
    .unwrap();
    let weights = dir.path().join("tiny.caffemodel");
    let mut net = netsurgeon::graph_ir::Net::load(&prototxt).unwrap();
    net.synthesize_params(5);
    net.save_weights(&weights).unwrap();

    let output = dir.path().join("cat.png");
    let out = netsurgeon()
        .arg("heatmap")
        .arg(&prototxt)
        .arg("--weights")
        .arg(&weights)
        .arg("--image")
        .arg(fixtures().join("images/cat_gray.jpg"))
        .arg("--mean")
        .arg(fixtures().join("models/ilsvrc_2012_mean.npy"))
        .args(["--size", "64", "-o"])
        .arg(&output)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("prob (1, 4, 8, 8): 8x8 windows, 4 classes"), "{stdout}");
    let map = printed_map(&stdout);
    assert_eq!(map.len(), 64);
    assert!(map.iter().all(|c| (0..4).contains(c)));
    // The overlay keeps the photo's own size (480x360) plus the legend.
    let (w, h) = picture(&output);
    assert_eq!(h, 360);
    assert!(w > 480);
}

#[test]
fn missing_image_is_a_data_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out.png");
    lenet_heatmap(&dir.path().join("no_such.png"), &output)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no_such.png"));
    assert!(!output.exists());
}

#[test]
fn existing_output_needs_force() {
    let dir = tempfile::tempdir().unwrap();
    let image = canvas_png(dir.path());
    let output = dir.path().join("taken.png");
    std::fs::write(&output, "keep me").unwrap();
    lenet_heatmap(&image, &output)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--force"));
    assert_eq!(std::fs::read_to_string(&output).unwrap(), "keep me");
    lenet_heatmap(&image, &output).arg("--force").assert().success();
    picture(&output);
    // The image itself is never a valid output, --force or not.
    lenet_heatmap(&image, &image)
        .arg("--force")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("overwrite an input"));
}

#[test]
fn bad_values_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let image = canvas_png(dir.path());
    // A class the net does not have: a data error, before any output.
    lenet_heatmap(&image, &dir.path().join("a.png"))
        .args(["--class", "10"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("10 classes"));
    // Not a PNG name.
    lenet_heatmap(&image, &dir.path().join("a.jpg"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("PNG"));
    assert!(!dir.path().join("a.png").exists() && !dir.path().join("a.jpg").exists());
}

#[test]
fn usage_errors_exit_2() {
    // No output given.
    netsurgeon()
        .arg("heatmap")
        .arg(digits().join("lenet_full_conv.prototxt"))
        .args(["--weights", "w.caffemodel", "--image", "x.png"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--output"));
    // A size of 0.
    netsurgeon()
        .args([
            "heatmap",
            "n.prototxt",
            "--weights",
            "w",
            "--image",
            "x.png",
            "-o",
            "o.png",
            "--size",
            "0",
        ])
        .assert()
        .code(2);
}

#[test]
fn help_has_an_example() {
    netsurgeon()
        .args(["heatmap", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("Examples:"))
        .stdout(predicate::str::contains("netsurgeon heatmap"))
        .stdout(predicate::str::contains("--raw-scale"));
}
