//! Every file of `fixtures/bad/` goes through every subcommand, in every slot
//! that reads a file (the net, its weights, an input or golden .npy, an image, a
//! mean, an ONNX model): each run must fail with exit code 1, name the file,
//! not panic, leave no output behind, and stay under 2 s and 1 GB.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// One way to hand a file to a subcommand: its arguments, with `{}` where the
/// bad file goes and `{out}` for the output directory.
struct Slot {
    name: &'static str,
    args: Vec<String>,
    /// The bad file is copied under this extension first (e.g. to reach the
    /// ONNX loader, which `run` picks by extension).
    as_extension: Option<&'static str>,
}

fn slots(golden_input: &Path, golden_blob: &Path) -> Vec<Slot> {
    let digits = fixtures().join("golden/digits");
    let p = digits.join("deploy.prototxt").display().to_string();
    let w = digits.join("lenet_digits.caffemodel").display().to_string();
    let x = digits.join("samples/input.npy").display().to_string();
    let pfc = digits.join("lenet_full_conv.prototxt").display().to_string();
    let wfc = digits.join("lenet_full_conv.caffemodel").display().to_string();
    let image = fixtures().join("images/cat_gray.jpg").display().to_string();
    let golden = digits.join("samples").display().to_string();
    let slot = |name: &'static str, args: &[&str]| Slot {
        name,
        args: args.iter().map(|a| a.to_string()).collect(),
        as_extension: None,
    };
    let mut slots = vec![
        slot("inspect net", &["inspect", "{}"]),
        slot("inspect weights", &["inspect", &p, "--weights", "{}"]),
        slot(
            "fc-to-conv net",
            &[
                "fc-to-conv",
                "{}",
                "--weights",
                &w,
                "--out-prototxt",
                "{out}/n.prototxt",
                "--out-weights",
                "{out}/n.caffemodel",
            ],
        ),
        slot(
            "fc-to-conv weights",
            &[
                "fc-to-conv",
                &p,
                "--weights",
                "{}",
                "--out-prototxt",
                "{out}/n.prototxt",
                "--out-weights",
                "{out}/n.caffemodel",
            ],
        ),
        slot("convert net", &["convert", "{}", "-o", "{out}/m.onnx"]),
        slot(
            "convert weights",
            &["convert", &p, "--weights", "{}", "-o", "{out}/m.onnx"],
        ),
        slot(
            "run net",
            &[
                "run",
                "{}",
                "--weights",
                &w,
                "--input",
                &format!("data={x}"),
                "--out-dir",
                "{out}/run",
            ],
        ),
        slot(
            "run weights",
            &[
                "run",
                &p,
                "--weights",
                "{}",
                "--input",
                &format!("data={x}"),
                "--out-dir",
                "{out}/run",
            ],
        ),
        slot(
            "run input",
            &[
                "run",
                &p,
                "--weights",
                &w,
                "--input",
                "data={}",
                "--out-dir",
                "{out}/run",
            ],
        ),
        slot("check net", &["check", "{}", "--weights", &w, "--golden", &golden]),
        slot("check weights", &["check", &p, "--weights", "{}", "--golden", &golden]),
        slot(
            "check golden input",
            &[
                "check",
                &p,
                "--weights",
                &w,
                "--golden",
                &golden_input.display().to_string(),
            ],
        ),
        slot(
            "check golden blob",
            &[
                "check",
                &p,
                "--weights",
                &w,
                "--golden",
                &golden_blob.display().to_string(),
            ],
        ),
        slot("bench net", &["bench", "{}", "--runs", "1"]),
        slot("bench weights", &["bench", &p, "--weights", "{}", "--runs", "1"]),
        slot(
            "heatmap net",
            &[
                "heatmap",
                "{}",
                "--weights",
                &wfc,
                "--image",
                &image,
                "--size",
                "56",
                "-o",
                "{out}/h.png",
            ],
        ),
        slot(
            "heatmap weights",
            &[
                "heatmap",
                &pfc,
                "--weights",
                "{}",
                "--image",
                &image,
                "--size",
                "56",
                "-o",
                "{out}/h.png",
            ],
        ),
        slot(
            "heatmap image",
            &[
                "heatmap",
                &pfc,
                "--weights",
                &wfc,
                "--image",
                "{}",
                "--size",
                "56",
                "-o",
                "{out}/h.png",
            ],
        ),
        slot(
            "heatmap mean",
            &[
                "heatmap",
                &pfc,
                "--weights",
                &wfc,
                "--image",
                &image,
                "--size",
                "56",
                "--mean",
                "{}",
                "-o",
                "{out}/h.png",
            ],
        ),
        slot(
            "synth-weights net",
            &["synth-weights", "{}", "-o", "{out}/s.caffemodel"],
        ),
    ];
    let mut onnx = |name, args: &[&str]| {
        let mut s = slot(name, args);
        s.as_extension = Some("onnx");
        slots.push(s);
    };
    onnx(
        "run onnx",
        &["run", "{}", "--input", &format!("data={x}"), "--out-dir", "{out}/run"],
    );
    onnx(
        "bench onnx",
        &["bench", "{}", "--input", "data=1,1,28,28", "--runs", "1"],
    );
    slots
}

/// Peak resident memory of the largest child waited for so far, in bytes.
fn children_peak_rss() -> u64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given; RUSAGE_CHILDREN is valid.
    let usage = unsafe {
        assert_eq!(libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr()), 0);
        usage.assume_init()
    };
    usage.ru_maxrss as u64 * 1024
}

#[test]
fn every_bad_file_fails_cleanly_in_every_subcommand() {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_netsurgeon"));
    let mut bad: Vec<PathBuf> = walk(&fixtures().join("bad"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e != "md"))
        .collect();
    bad.sort();
    assert!(bad.len() >= 40, "fixtures/bad holds {} files", bad.len());

    let work = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let mut runs = 0;
    let mut slowest = (Duration::ZERO, String::new());
    for file in &bad {
        let file_name = file.file_name().unwrap().to_string_lossy().into_owned();
        // Golden folders whose input, or whose blob, is the bad file.
        let golden_input = work.path().join("golden_input");
        let golden_blob = work.path().join("golden_blob");
        for dir in [&golden_input, &golden_blob] {
            let _ = std::fs::remove_dir_all(dir);
            std::fs::create_dir_all(dir.join("blobs")).unwrap();
        }
        let samples = fixtures().join("golden/digits/samples");
        std::fs::copy(file, golden_input.join("input.npy")).unwrap();
        std::fs::copy(samples.join("blobs/prob.npy"), golden_input.join("blobs/prob.npy")).unwrap();
        std::fs::copy(samples.join("input.npy"), golden_blob.join("input.npy")).unwrap();
        std::fs::copy(file, golden_blob.join("blobs/prob.npy")).unwrap();

        for slot in slots(&golden_input, &golden_blob) {
            // A net definition saved under a weight file's name: bad as weights, valid as a net.
            if file_name == "text_as_weights.caffemodel" && slot.name.ends_with(" net") {
                continue;
            }
            let out = work.path().join("out");
            let _ = std::fs::remove_dir_all(&out);
            std::fs::create_dir_all(&out).unwrap();
            let (path, named) = match slot.as_extension {
                Some(ext) => {
                    let copy = work.path().join(format!("{file_name}.{ext}"));
                    std::fs::copy(file, &copy).unwrap();
                    let named = copy.file_name().unwrap().to_string_lossy().into_owned();
                    (copy, named)
                }
                None => (file.clone(), file_name.clone()),
            };
            // Golden-folder slots name the copy inside the folder.
            let named = match slot.name {
                "check golden input" => "input.npy".to_string(),
                "check golden blob" => "prob.npy".to_string(),
                _ => named,
            };
            let args: Vec<String> = slot
                .args
                .iter()
                .map(|a| {
                    a.replace("{}", &path.display().to_string())
                        .replace("{out}", &out.display().to_string())
                })
                .collect();
            let start = Instant::now();
            let output = Command::new(&bin).args(&args).output().unwrap();
            let elapsed = start.elapsed();
            runs += 1;
            if elapsed > slowest.0 {
                slowest = (elapsed, format!("{} with {file_name}", slot.name));
            }
            let stderr = String::from_utf8_lossy(&output.stderr);
            let what = format!("{} with {file_name}", slot.name);
            let left: Vec<_> = walk(&out);
            if output.status.code() != Some(1) {
                failures.push(format!("{what}: exit {:?}; stderr: {stderr}", output.status.code()));
            } else if stderr.contains("panicked") {
                failures.push(format!("{what}: panicked: {stderr}"));
            } else if !stderr.contains(&named) {
                failures.push(format!("{what}: the message does not name {named}: {stderr}"));
            } else if !left.is_empty() {
                failures.push(format!("{what}: left output behind: {left:?}"));
            } else if elapsed > Duration::from_secs(2) {
                failures.push(format!("{what}: took {elapsed:?}"));
            }
        }
    }
    let peak = children_peak_rss();
    eprintln!(
        "{runs} runs; slowest {:?} ({}); largest peak memory {} MB",
        slowest.0,
        slowest.1,
        peak >> 20
    );
    assert!(
        failures.is_empty(),
        "{} of {runs} runs failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(peak < 1 << 30, "a run peaked at {} MB", peak >> 20);
}

/// Files that read as protobuf but describe a bad net, and what their error says.
const GRAPH_EXPECTED: &[(&str, &str)] = &[
    (
        "bottom_from_later_layer.prototxt",
        "layer 'conv' (Convolution): bottom 0 'relu' is not produced by any earlier layer",
    ),
    (
        "duplicate_top.prototxt",
        "layer 'b' (Sigmoid): top 'x' is already produced by layer 'a'",
    ),
    (
        "huge_input.prototxt",
        "layer 'data' (Input): top 'data' of shape (1, 3, 100000000, 100000000): 30000000000000000 elements in one \
         blob exceeds the limit of 1073741824; if the file is genuine, raise the limit with --max-blob-elements",
    ),
    (
        "huge_num_output.prototxt",
        "layer 'fc' (InnerProduct): top 'fc' of shape (1, 4000000000): 4000000000 elements in one blob exceeds",
    ),
    (
        "kernel_larger_than_input.prototxt",
        "layer 'conv' (Convolution): spatial axis 0: kernel extent 5 with pad 0 and stride 1 gives a negative output",
    ),
    (
        "lenet_without_ip1.caffemodel",
        "the weights give no params for layer 'ip1'; check that the layer names match",
    ),
    (
        "pool_kernel_larger_than_input.prototxt",
        "layer 'pool1' (Pooling): kernel [33, 33], stride [2, 2], pad [0, 0] give no valid output on spatial axis 0",
    ),
    (
        "zero_stride.prototxt",
        "layer 'conv' (Convolution): stride dimensions must be nonzero",
    ),
];

#[test]
fn bad_nets_say_what_and_where() {
    let lenet = fixtures().join("golden/digits/deploy.prototxt");
    expect_messages("bad/graph", GRAPH_EXPECTED, |file, path| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_netsurgeon"));
        if file.ends_with(".caffemodel") {
            cmd.arg("inspect").arg(&lenet).arg("--weights").arg(path);
        } else {
            cmd.arg("inspect").arg(path);
        }
        cmd
    });
}

/// ONNX files that fuzzing found to make tract 0.23 panic, and what we say instead.
const ONNX_EXPECTED: &[(&str, &str)] = &[
    (
        "conv_pads_too_short.onnx",
        "node 'conv_b' (Conv): pads has 3 values, but the kernel has 2 spatial axes (needs 4)",
    ),
    (
        "undefined_graph_output.onnx",
        "graph output 'fc' is not a graph input, an initializer or the output of any node",
    ),
];

#[test]
fn bad_onnx_files_are_refused_before_tract_sees_them() {
    let input = fixtures().join("golden/digits/samples/input.npy");
    let out = tempfile::tempdir().unwrap();
    expect_messages("bad/onnx", ONNX_EXPECTED, |_, path| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_netsurgeon"));
        cmd.arg("run")
            .arg(path)
            .arg("--input")
            .arg(format!("data={}", input.display()))
            .arg("--out-dir")
            .arg(out.path());
        cmd
    });
}

/// Runs `command` on each file of `fixtures/<dir>`, which must hold exactly the
/// files of `table`: each run exits 1 with a message that starts with the file,
/// says what the table says, and is no panic.
fn expect_messages(dir: &str, table: &[(&str, &str)], command: impl Fn(&str, &Path) -> Command) {
    let dir = fixtures().join(dir);
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let listed: Vec<&str> = table.iter().map(|(f, _)| *f).collect();
    assert_eq!(files, listed, "{} and its table list the same files", dir.display());
    for (file, expected) in table {
        let path = dir.join(file);
        let output = command(file, &path).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{file}: {stderr}");
        assert!(
            stderr.starts_with(&format!("error: {}: ", path.display())),
            "{file}: the message must start with the file: {stderr}"
        );
        assert!(stderr.contains(expected), "{file}: expected {expected:?} in: {stderr}");
        assert!(!stderr.contains("panicked"), "{file}: {stderr}");
    }
}

/// Every file under `dir` (the run's output directory must stay empty).
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
