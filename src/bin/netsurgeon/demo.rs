//! `netsurgeon demo`: pycaffe's net-surgery tutorial, start to end, on data
//! the binary carries (see [`crate::embedded`]), so it runs anywhere:
//!
//! 1. designer filters: a one-layer net's params edited by hand (bias, a
//!    Gaussian blur, Sobel operators), checked against real Caffe's numbers;
//! 2. CaffeNet cast to a fully convolutional net, saved, exported to ONNX and
//!    run on a 451x451 cat for an 8x8 map of classifications (seeded random
//!    weights: the trained ones are not shipped);
//! 3. a really trained LeNet cast the same way, reading a canvas of four
//!    digits as an 8x8 map, checked against real Caffe's map.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use ndarray::{Array2, Array4, ArrayD, Axis, Ix3, Ix4};
use netsurgeon::caffe_io;
use netsurgeon::caffe_preprocess::{channel_mean, Transformer};
use netsurgeon::graph_ir::{passes, Net};
use netsurgeon::onnx_export::{self, ExportOptions, WriteOptions};
use netsurgeon::render::{class_map_png, heatmap_overlay_png, save_gray_png};
use netsurgeon::{Forward, ForwardOptions};

use crate::common::format_shape;
use crate::embedded;
use crate::heatmap::{argmax_map, format_grid, rank_classes};

/// Seed of the designer net's random filler and of CaffeNet's weights.
const SEED: u64 = 1;
/// The digit whose probability map step 3 draws (the canvas's first digit).
const DIGIT: usize = 3;

/// Runs the demo, writing its files to `out` (created if needed; files of an
/// earlier demo run there are replaced). `skip_caffenet` leaves out step 2,
/// the slow one that writes about 470 MB.
pub fn run(out: &Path, skip_caffenet: bool) -> Result<()> {
    let start = Instant::now();
    if out.exists() && !out.is_dir() {
        anyhow::bail!("{}: exists and is not a directory; choose another --out", out.display());
    }
    std::fs::create_dir_all(out).with_context(|| format!("{}: cannot create the directory", out.display()))?;
    println!(
        "netsurgeon {}: the net-surgery tutorial on built-in data",
        netsurgeon::VERSION
    );
    println!("output directory: {}", out.display());
    let mut files = Files::default();

    designer(out, &mut files)?;
    if skip_caffenet {
        heading("2. CaffeNet as a fully convolutional net");
        println!("skipped (--skip-caffenet)");
    } else {
        caffenet(out, &mut files)?;
    }
    digits(out, &mut files)?;

    heading("Files written");
    for (path, what) in &files.0 {
        println!("  {}  {what}", path.display());
    }
    println!("\nTry the heatmap command on the digit canvas:");
    println!(
        "  netsurgeon heatmap {} --weights {} --image {} --size 56 --raw-scale 1 --class 7 -o digit7.png",
        out.join("lenet_full_conv.prototxt").display(),
        out.join("lenet_full_conv.caffemodel").display(),
        out.join("digits_canvas.png").display()
    );
    println!("\ndemo finished in {:.1} s", start.elapsed().as_secs_f64());
    Ok(())
}

/// The files written, in order, with what each holds.
#[derive(Default)]
struct Files(Vec<(PathBuf, String)>);

impl Files {
    fn add(&mut self, path: PathBuf, what: impl Into<String>) {
        let what = what.into();
        println!("  wrote {} ({what})", path.display());
        self.0.push((path, what));
    }
}

fn heading(title: &str) {
    println!("\n{title}\n{}", "=".repeat(title.len()));
}

fn print_blobs_and_params(net: &Net) -> Result<()> {
    println!("net.blobs:");
    for b in net.blobs()? {
        println!("  {} {}", b.name, format_shape(&b.shape));
    }
    println!("net.params:");
    for (layer, params) in net.params() {
        let shapes: Vec<String> = params.iter().map(|p| format_shape(p.shape())).collect();
        println!("  {layer} {}", shapes.join(" "));
    }
    Ok(())
}

/// Seeded standard normal samples: splitmix64 and Box-Muller, so the demo's
/// random filler needs no RNG crate and gives the same numbers everywhere.
struct Gaussian {
    state: u64,
    spare: Option<f64>,
}

impl Gaussian {
    fn new(seed: u64) -> Self {
        Gaussian {
            state: seed,
            spare: None,
        }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1): never 0, so the logarithm below is finite.
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    fn sample(&mut self) -> f64 {
        if let Some(v) = self.spare.take() {
            return v;
        }
        let r = (-2.0 * self.uniform().ln()).sqrt();
        let theta = 2.0 * std::f64::consts::PI * self.uniform();
        self.spare = Some(r * theta.sin());
        r * theta.cos()
    }
}

/// The tutorial's designer filters for a 3 x 1 x 5 x 5 convolution: filter
/// 0 a Gaussian blur (sigma 1, computed in float64 and normalised to sum 1,
/// then rounded to float32, as numpy does), filters 1 and 2 the 3x3 Sobel
/// operator and its transpose in the centre of the kernel.
pub fn designer_weights() -> Array4<f32> {
    let mut w = Array4::<f32>::zeros((3, 1, 5, 5));
    let sigma = 1.0f64;
    let g = Array2::from_shape_fn((5, 5), |(y, x)| {
        let (y, x) = (y as f64 - 2.0, x as f64 - 2.0);
        (-(x * x + y * y) / (2.0 * sigma * sigma)).exp()
    });
    let sum = g.sum();
    w.index_axis_mut(Axis(0), 0)
        .index_axis_mut(Axis(0), 0)
        .assign(&g.mapv(|v| (v / sum) as f32));
    let sobel = ndarray::arr2(&[[-1.0f32, -2.0, -1.0], [0.0, 0.0, 0.0], [1.0, 2.0, 1.0]]);
    w.slice_mut(ndarray::s![1, 0, 1..4, 1..4]).assign(&sobel);
    w.slice_mut(ndarray::s![2, 0, 1..4, 1..4]).assign(&sobel.t());
    w
}

fn forward_blob(net: &Net, input: &ArrayD<f32>, blob: &str) -> Result<ArrayD<f32>> {
    let blobs = netsurgeon::forward(net, [("data", input.clone())], &ForwardOptions::default())?;
    blobs
        .get(blob)
        .cloned()
        .with_context(|| format!("the forward pass returned no blob '{blob}'"))
}

fn mean_of(values: impl IntoIterator<Item = f32>) -> f64 {
    let (sum, n) = values
        .into_iter()
        .fold((0f64, 0usize), |(s, n), v| (s + f64::from(v), n + 1));
    sum / n.max(1) as f64
}

fn format_kernel(k: ndarray::ArrayView2<'_, f32>, decimals: usize) -> String {
    let mut s = String::new();
    for row in k.rows() {
        let cells: Vec<String> = row
            .iter()
            .map(|v| format!("{v:>w$.decimals$}", w = decimals + 4))
            .collect();
        let _ = writeln!(s, "    {}", cells.join(" "));
    }
    s
}

/// Step 1: the tutorial's "designer filters" on the grey cat.
fn designer(out: &Path, files: &mut Files) -> Result<()> {
    heading("1. Designer filters: editing a convolution's params by hand");
    let mut net = Net::from_proto(embedded::prototxt(embedded::CONV_PROTOTXT, "conv.prototxt")?, None)?;
    let image = embedded::image(embedded::CAT_GRAY_JPG, "cat_gray.jpg", false)?;
    let (h, w, _) = image.dim();
    println!("conv.prototxt: one Convolution, 3 filters of 5x5; cat_gray.jpg: {w}x{h}, read as caffe.io.load_image(color=False)");
    net.reshape_input("data", &[1, 1, h, w])?;
    println!("net.blobs['data'].reshape(1, 1, {h}, {w})");
    print_blobs_and_params(&net)?;

    // The prototxt's gaussian filler (std 0.01), seeded: without a caffemodel
    // the loaded params are zero.
    let std = net
        .layer("conv")
        .and_then(|l| l.proto().convolution_param.as_ref())
        .and_then(|c| c.weight_filler.as_ref())
        .map_or(0.01, |f| f.std());
    let mut rng = Gaussian::new(SEED);
    let shape = net.param("conv", 0)?.raw_dim();
    let random = ArrayD::from_shape_simple_fn(shape, || (rng.sample() * f64::from(std)) as f32);
    net.set_param("conv", 0, random)?;
    println!(
        "weights from the prototxt's gaussian filler (std {std}), seeded (splitmix64 + Box-Muller, seed {SEED}); biases 0"
    );

    let input = image
        .into_shape_with_order(ndarray::IxDyn(&[1, 1, h, w]))
        .context("the image as a 1 x 1 x H x W blob")?;
    let filter0 = |conv: &ArrayD<f32>| mean_of(conv.index_axis(Axis(1), 0).iter().copied());
    let before = filter0(&forward_blob(&net, &input, "conv")?);
    net.param_mut("conv", 1)?[[0]] += 1.0;
    let after = filter0(&forward_blob(&net, &input, "conv")?);
    println!("net.params['conv'][1].data[0] += 1");
    println!(
        "output mean of filter 0: {before:.6} before, {after:.6} after (+{:.6})",
        after - before
    );
    ensure!(
        (after - before - 1.0).abs() < 1e-5,
        "raising the bias by 1 moved the mean by {}",
        after - before
    );

    let weights = designer_weights();
    net.set_param("conv", 0, weights.clone().into_dyn())?;
    println!("filter 0 := 5x5 Gaussian blur (sigma 1, sums to 1):");
    print!("{}", format_kernel(weights.slice(ndarray::s![0, 0, .., ..]), 4));
    println!("filter 1 := Sobel (rows -1 -2 -1 / 0 0 0 / 1 2 1) centred; filter 2 := its transpose:");
    print!("{}", format_kernel(weights.slice(ndarray::s![1, 0, .., ..]), 0));
    let conv = forward_blob(&net, &input, "conv")?;
    let (lo, hi) = conv.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
        (lo.min(v), hi.max(v))
    });
    let (caffe_lo, caffe_hi) = embedded::designer_min_max()?;
    println!("forward: conv {}, min {lo:.6}, max {hi:.6}", format_shape(conv.shape()));
    let tolerance = 1e-4 * caffe_lo.abs().max(caffe_hi.abs());
    let diff = (f64::from(lo) - caffe_lo).abs().max((f64::from(hi) - caffe_hi).abs());
    println!("real Caffe: min {caffe_lo:.6}, max {caffe_hi:.6} (|diff| {diff:.1e})");
    ensure!(
        diff <= tolerance,
        "the designer filters' output differs from Caffe's by {diff}"
    );

    let names = [
        ("designer_blur.png", "filter 0, Gaussian blur"),
        ("designer_sobel_horizontal.png", "filter 1, Sobel: horizontal edges"),
        (
            "designer_sobel_vertical.png",
            "filter 2, Sobel transposed: vertical edges",
        ),
    ];
    for (i, (name, what)) in names.iter().enumerate() {
        let path = out.join(name);
        let response = conv.slice(ndarray::s![0, i, .., ..]);
        save_gray_png(&path, response)?;
        let (rh, rw) = response.dim();
        files.add(path, format!("{what}, {rw}x{rh} grey"));
    }
    let path = out.join("designer_conv.npy");
    caffe_io::write_npy_f32(&path, conv.view())?;
    files.add(path, format!("the conv blob {}, float32", format_shape(conv.shape())));
    let path = out.join("designer_conv_weights.npy");
    caffe_io::write_npy_f32(&path, net.param("conv", 0)?.view())?;
    files.add(path, "the designed weights (3, 1, 5, 5)");
    Ok(())
}

/// The ImageNet mean's per-channel mean (`mean.mean(1).mean(1)`), BGR.
fn imagenet_channel_mean() -> Result<ndarray::Array1<f64>> {
    let mean = embedded::npy_f64(embedded::ILSVRC_MEAN_NPY, "ilsvrc_2012_mean.npy")?;
    let mean = mean
        .into_dimensionality::<Ix3>()
        .context("ilsvrc_2012_mean.npy is not C x H x W")?;
    Ok(channel_mean(mean.view()))
}

/// The cat as the tutorial feeds CaffeNet: resized to `size` x `size`,
/// C x H x W, BGR, x255, per-channel mean subtracted; with a batch axis.
fn preprocess_cat(image: &ndarray::Array3<f32>, mean: &ndarray::Array1<f64>, size: usize) -> Result<ArrayD<f32>> {
    let mut t = Transformer::new(&[1, 3, size, size])?;
    t.set_transpose([2, 0, 1])?;
    t.set_channel_swap(&[2, 1, 0])?;
    t.set_raw_scale(255.0);
    t.set_mean(mean.view().into_dyn())?;
    Ok(t.preprocess(image.view())?.insert_axis(Axis(0)).into_dyn())
}

/// Times one forward pass (the session is prepared beforehand, untimed):
/// the best of three runs, so a first run's allocations and a busy machine
/// count less.
fn timed_forward(net: &Net, input: ArrayD<f32>) -> Result<(ArrayD<f32>, Duration)> {
    let forward = Forward::new(net, &ForwardOptions::default())?;
    let mut best = Duration::MAX;
    let mut prob = None;
    for _ in 0..3 {
        let inputs = [("data", input.clone())];
        let start = Instant::now();
        let blobs = forward.run(inputs)?;
        best = best.min(start.elapsed());
        prob = blobs.get("prob").cloned();
    }
    Ok((prob.context("the forward pass returned no 'prob'")?, best))
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1e3)
}

/// Step 2: CaffeNet made fully convolutional, saved, exported and run at 451.
fn caffenet(out: &Path, files: &mut Files) -> Result<()> {
    heading("2. CaffeNet as a fully convolutional net");
    let mut net = Net::from_proto(
        embedded::prototxt(embedded::CAFFENET_PROTOTXT, "bvlc_reference_caffenet/deploy.prototxt")?,
        None,
    )?;
    net.reshape_input("data", &[1, 3, 227, 227])?;
    net.synthesize_params(SEED);
    println!("bvlc_reference_caffenet/deploy.prototxt, input reshaped to (1, 3, 227, 227)");
    println!("The trained weights (233 MB) are not shipped: params are seeded random (He-normal weights,");
    println!("N(0, 0.05) biases, seed {SEED}), so the class ids below show the mechanics, not the cat.");
    for layer in ["fc6", "fc7", "fc8"] {
        println!(
            "  {layer} weights are {} dimensional and biases are {} dimensional",
            format_shape(net.param(layer, 0)?.shape()),
            format_shape(net.param(layer, 1)?.shape())
        );
    }

    let cat = embedded::image(embedded::CAT_JPG, "cat.jpg", true)?;
    let mean = imagenet_channel_mean()?;
    println!(
        "cat.jpg {}x{}, Caffe-style preprocessing: transpose (2,0,1), channel swap (2,1,0), raw scale 255,",
        cat.dim().1,
        cat.dim().0
    );
    println!(
        "  mean = the ImageNet mean per channel (B {:.2}, G {:.2}, R {:.2})",
        mean[0], mean[1], mean[2]
    );
    let (prob227, t227) = timed_forward(&net, preprocess_cat(&cat, &mean, 227)?)?;
    let top = prob227.iter().enumerate().fold(
        (0, f32::NEG_INFINITY),
        |best, (i, &p)| if p > best.1 { (i, p) } else { best },
    );
    println!(
        "classifier at 227: prob {}, top class {} (p = {:.4})",
        format_shape(prob227.shape()),
        top.0,
        top.1
    );

    let converted = passes::full_conv(&mut net, "data", &[1, 3, 451, 451])?;
    println!("full_conv(net, 'data', (1, 3, 451, 451)): InnerProduct -> Convolution");
    for c in &converted {
        println!(
            "  {} -> {} weights are {} dimensional (kernel {}x{})",
            c.old_name,
            c.new_name,
            format_shape(net.param(&c.new_name, 0)?.shape()),
            c.kernel[0],
            c.kernel[1]
        );
    }
    for o in net.outputs()? {
        println!("  output {o} {}", format_shape(net.blob_shape(&o)?));
    }

    let start = Instant::now();
    let prototxt = out.join("caffenet_full_conv.prototxt");
    let caffemodel = out.join("caffenet_full_conv.caffemodel");
    net.save(&prototxt, &caffemodel)?;
    let saved = start.elapsed();
    let start = Instant::now();
    let onnx = out.join("caffenet_full_conv.onnx");
    onnx_export::export(&net, &ExportOptions::default())?.write(&onnx, &WriteOptions::default())?;
    let exported = start.elapsed();
    files.add(prototxt, "the full-conv CaffeNet definition");
    files.add(caffemodel, format!("its weights, saved in {}", ms(saved)));
    files.add(onnx, format!("the same net as ONNX, exported in {}", ms(exported)));

    let (prob451, t451) = timed_forward(&net, preprocess_cat(&cat, &mean, 451)?)?;
    let prob451 = prob451.into_dimensionality::<Ix4>().context("prob is not 4-D")?;
    let map = argmax_map(prob451.view());
    println!(
        "full conv at 451: prob {}, argmax per window (out['prob'][0].argmax(axis=0)):",
        format_shape(prob451.shape())
    );
    print!("{}", format_grid(map.view()));
    let path = out.join("caffenet_class_map.png");
    class_map_png(&path, map.view(), 40)?;
    files.add(path, "that 8x8 class map");

    let windows = map.len();
    println!(
        "forward time ({} threads, best of 3): classifier at 227 {}, full conv at 451 {} = {:.1}x, for {windows} classifications",
        ForwardOptions::default().threads,
        ms(t227),
        ms(t451),
        t451.as_secs_f64() / t227.as_secs_f64().max(1e-9)
    );
    Ok(())
}

/// Step 3: the trained LeNet made fully convolutional, on four digits.
fn digits(out: &Path, files: &mut Files) -> Result<()> {
    heading("3. A trained LeNet reads a canvas of digits");
    let mut net = Net::from_proto(
        embedded::prototxt(embedded::LENET_PROTOTXT, "digits/deploy.prototxt")?,
        Some(embedded::caffemodel(
            embedded::LENET_CAFFEMODEL,
            "digits/lenet_digits.caffemodel",
        )?),
    )?;
    println!("LeNet trained by Caffe on 28x28 digits (sklearn's digits, upscaled); its classifier:");
    for layer in ["ip1", "ip2"] {
        println!("  {layer} weights {}", format_shape(net.param(layer, 0)?.shape()));
    }
    let converted = passes::full_conv(&mut net, "data", &[1, 1, 56, 56])?;
    println!("full_conv(net, 'data', (1, 1, 56, 56)):");
    for c in &converted {
        println!(
            "  {} -> {} weights {}",
            c.old_name,
            c.new_name,
            format_shape(net.param(&c.new_name, 0)?.shape())
        );
    }
    let prototxt = out.join("lenet_full_conv.prototxt");
    let caffemodel = out.join("lenet_full_conv.caffemodel");
    net.save(&prototxt, &caffemodel)?;
    files.add(prototxt, "the full-conv LeNet definition");
    files.add(caffemodel, "its weights (the trained ones, transplanted)");

    let canvas = embedded::npy_f64(embedded::DIGITS_CANVAS_NPY, "input_56.npy")?.mapv(|v| v as f32);
    ensure!(canvas.shape() == [1, 1, 56, 56], "the canvas is not 1 x 1 x 56 x 56");
    let path = out.join("digits_canvas.png");
    save_gray_png(&path, canvas.slice(ndarray::s![0, 0, .., ..]))?;
    files.add(path, "the input: digits 3, 7, 0, 5 on a 56x56 canvas");

    let blobs = netsurgeon::forward(&net, [("data", canvas.clone())], &ForwardOptions::default())?;
    let prob = blobs
        .get("prob")
        .context("the forward pass returned no 'prob'")?
        .clone()
        .into_dimensionality::<Ix4>()
        .context("prob is not 4-D")?;
    let map = argmax_map(prob.view());
    println!(
        "forward: prob {}; the digit read at each of the 8x8 windows (stride 4 pixels):",
        format_shape(prob.shape())
    );
    print!("{}", format_grid(map.view()));
    let golden = embedded::npy_i64(embedded::DIGITS_ARGMAX_NPY, "argmax_map.npy")?;
    let agree = map.iter().zip(golden.iter()).filter(|(a, b)| a == b).count();
    println!(
        "real Caffe's map: {agree} of {} windows agree{}",
        golden.len(),
        if agree == golden.len() && golden.shape() == map.shape() {
            " (identical)"
        } else {
            ""
        }
    );
    ensure!(
        golden.shape() == map.shape() && agree == golden.len(),
        "the digit map differs from Caffe's"
    );
    let (h, w) = map.dim();
    println!(
        "the corner windows sit exactly on the four digits: {}, {}, {}, {}",
        map[[0, 0]],
        map[[0, w - 1]],
        map[[h - 1, 0]],
        map[[h - 1, w - 1]]
    );
    let ranking = rank_classes(prob.view(), &map);
    let top: Vec<String> = ranking
        .iter()
        .take(4)
        .map(|r| format!("{} ({:.2})", r.class, r.mean))
        .collect();
    println!("digits by mean probability over the map: {}", top.join(", "));

    let path = out.join("digits_class_map.png");
    class_map_png(&path, map.view(), 32)?;
    files.add(path, "the 8x8 digit map, one colour per digit");
    let path = out.join(format!("digits_prob_{DIGIT}.png"));
    let photo = canvas
        .index_axis_move(Axis(0), 0)
        .permuted_axes(vec![1, 2, 0])
        .into_dimensionality::<Ix3>()?;
    let p = prob.slice(ndarray::s![0, DIGIT, .., ..]);
    heatmap_overlay_png(&path, photo.view(), p, 0.5, Some(&format!("P(DIGIT {DIGIT})")))?;
    files.add(path, format!("probability of a {DIGIT} over the canvas"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn designer_weights_are_the_tutorials() {
        let w = designer_weights();
        let blur: ndarray::ArrayView2<'_, f32> = w.slice(ndarray::s![0, 0, .., ..]);
        assert!((blur.sum() - 1.0).abs() < 1e-6);
        assert_eq!(blur[[2, 2]], blur.iter().copied().fold(f32::MIN, f32::max));
        assert_eq!(w[[1, 0, 1, 1]], -1.0);
        assert_eq!(w[[1, 0, 3, 2]], 2.0);
        assert_eq!(w[[2, 0, 2, 1]], -2.0);
        let top_rows: ndarray::ArrayView2<'_, f32> = w.slice(ndarray::s![1.., 0, 0, ..]);
        assert_eq!(top_rows.sum(), 0.0);
    }

    #[test]
    fn gaussian_is_seeded_and_standard() {
        let mut a = Gaussian::new(3);
        let xs: Vec<f64> = (0..20000).map(|_| a.sample()).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!(mean.abs() < 0.03 && (var - 1.0).abs() < 0.05, "{mean} {var}");
        let mut b = Gaussian::new(3);
        assert_eq!(b.sample(), xs[0]);
    }
}
