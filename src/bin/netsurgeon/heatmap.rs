//! `netsurgeon heatmap`: the end of the net-surgery tutorial as one command.
//! An image is preprocessed as pycaffe's `Transformer` does for Caffe's
//! reference models, a fully convolutional net (InnerProduct layers are cast
//! to convolutions first if there are any) classifies every window of it in
//! one forward pass, and the result is printed as a class map and drawn as
//! a probability heatmap over the image.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use ndarray::{Array1, Array2, ArrayD, ArrayView2, ArrayView4, Axis, Ix3, Ix4};
use netsurgeon::caffe_preprocess::{channel_mean, load_image, load_mean, ImageOptions, Transformer};
use netsurgeon::graph_ir::{passes, Net};
use netsurgeon::render::heatmap_overlay_png;
use netsurgeon::{Forward, ForwardOptions};

use crate::common::{check_output, format_shape};

#[derive(Args)]
#[command(after_help = "Examples:
  # The tutorial's cat and the fully convolutional CaffeNet (see `fc-to-conv`):
  netsurgeon heatmap bvlc_caffenet_full_conv.prototxt --weights bvlc_caffenet_full_conv.caffemodel \\
      --image cat.jpg --mean ilsvrc_2012_mean.npy --labels synset_words.txt -o cat_heatmap.png
  # A 1-channel net trained on [0, 1] inputs (no x255), at the image's own size:
  netsurgeon heatmap lenet_full_conv.prototxt --weights lenet_full_conv.caffemodel \\
      --image digits.png --size 56 --raw-scale 1 --class 7 -o digit7.png

Preprocessing (pycaffe's Transformer): the image is read in [0, 1], resized to SIZE x SIZE,
transposed to C x H x W, swapped RGB -> BGR (3-channel nets, unless --rgb), multiplied by
--raw-scale and the per-channel mean of --mean subtracted. A classifier with InnerProduct
layers is made fully convolutional first, as `fc-to-conv` does.")]
pub struct HeatmapArgs {
    /// The net definition (.prototxt), fully convolutional or not.
    pub prototxt: PathBuf,
    /// Its weights (.caffemodel).
    #[arg(long)]
    pub weights: PathBuf,
    /// The image (JPEG or PNG); grey images are tiled for 3-channel nets.
    #[arg(long)]
    pub image: PathBuf,
    /// Mean to subtract (.npy or .binaryproto); its per-channel mean is used, as the tutorials do.
    #[arg(long)]
    pub mean: Option<PathBuf>,
    /// The net's input size: the image is resized to SIZE x SIZE.
    #[arg(long, default_value_t = 451, value_parser = clap::value_parser!(u32).range(1..=16384))]
    pub size: u32,
    /// The class to draw (default: the top class).
    #[arg(long, value_name = "K")]
    pub class: Option<usize>,
    /// How many classes to list, by mean probability over the map.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub top: usize,
    /// The input blob (default: the net's only input).
    #[arg(long, value_name = "NAME")]
    pub input_blob: Option<String>,
    /// The blob of class probabilities, 1 x K x H x W (default: the net's only output, or `prob`).
    #[arg(long, value_name = "NAME")]
    pub output_blob: Option<String>,
    /// Factor applied to the [0, 1] image before the mean (255 for Caffe's reference models).
    #[arg(long, default_value_t = 255.0)]
    pub raw_scale: f32,
    /// Keep 3-channel input in RGB order (Caffe's models expect BGR, the default).
    #[arg(long)]
    pub rgb: bool,
    /// Class names, one per line in class order (e.g. synset_words.txt).
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Where to write the heatmap (.png).
    #[arg(short, long, value_name = "OUT.png")]
    pub output: PathBuf,
    /// Threads for tract's matrix products [default: every core; 1 pins one].
    #[arg(long, value_name = "N", value_parser = crate::common::parse_threads)]
    pub threads: Option<usize>,
    /// Overwrite an existing output file.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &HeatmapArgs, quiet: bool) -> Result<()> {
    let is_png = args.output.extension().is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if !is_png {
        bail!(
            "{}: the heatmap is written as PNG; name it *.png",
            args.output.display()
        );
    }
    let mut inputs: Vec<&Path> = vec![&args.prototxt, &args.weights, &args.image];
    inputs.extend(args.mean.as_deref());
    inputs.extend(args.labels.as_deref());
    check_output(&args.output, &inputs, args.force)?;
    // Fail before loading a large model when the image is plainly missing.
    if !args.image.exists() {
        bail!("{}: no such image file", args.image.display());
    }

    let labels = args.labels.as_deref().map(read_labels).transpose()?;
    let mut net = crate::common::load_net(&args.prototxt, Some(&args.weights), &[])?;
    let input = input_blob(&net, args.input_blob.as_deref())?;
    let channels = match net.blob_shape(&input) {
        Ok([_, c, _, _]) => *c,
        Ok(shape) => bail!(
            "input '{input}' has shape {}: expected N x C x H x W",
            format_shape(shape)
        ),
        // A data layer without a declared shape: assume an image net.
        Err(_) => 3,
    };
    if channels != 1 && channels != 3 {
        bail!("input '{input}' has {channels} channels: heatmap handles grey (1) and colour (3) nets");
    }
    let size = args.size as usize;
    let dims = [1, channels, size, size];
    let has_fc = net.layers().iter().any(|l| l.type_name() == "InnerProduct");
    if has_fc {
        let converted = passes::full_conv(&mut net, &input, &dims)
            .with_context(|| format!("making {} fully convolutional", args.prototxt.display()))?;
        if !quiet {
            let names: Vec<String> = converted
                .iter()
                .map(|c| format!("{} -> {}", c.old_name, c.new_name))
                .collect();
            println!("cast to convolutions: {}", names.join(", "));
        }
    } else {
        net.reshape_input(&input, &dims)
            .with_context(|| format!("reshaping input '{input}' to {}", format_shape(&dims)))?;
    }

    let image = load_image(&args.image, &ImageOptions::default().color(channels == 3))?;
    let data = preprocess(image.view(), &dims, args)?;
    let output = output_blob(&net, args.output_blob.as_deref())?;
    // Check --class before the (possibly long) forward pass.
    if let (Some(k), Ok([_, classes, ..])) = (args.class, net.blob_shape(&output)) {
        if k >= *classes {
            bail!("--class {k}: the net has {classes} classes (0 to {})", classes - 1);
        }
    }
    let options = ForwardOptions::default().threads(crate::common::threads(args.threads));
    let forward = Forward::new(&net, &options)?;
    let blobs = forward.run([(input.clone(), data)])?;
    let prob = blobs
        .get(&output)
        .with_context(|| format!("the forward pass did not return blob '{output}'"))?;
    let prob = as_map(prob, &output)?;
    let classes = prob.dim().1;

    let map = argmax_map(prob.view());
    let ranking = rank_classes(prob.view(), &map);
    let class = match args.class {
        Some(k) if k >= classes => bail!("--class {k}: the net has {classes} classes (0 to {})", classes - 1),
        Some(k) => k,
        None => ranking.first().map_or(0, |r| r.class),
    };
    let name = |k: usize| labels.as_ref().and_then(|l| l.get(k)).map(String::as_str);
    let class_map = prob.index_axis(Axis(0), 0).index_axis(Axis(0), class).to_owned();
    let mut legend = format!("CLASS {class}");
    if let Some(n) = name(class) {
        // The legend font is small; keep the panel narrow.
        let short: String = n.split(',').next().unwrap_or(n).chars().take(20).collect();
        legend = format!("{legend} {short}");
    }
    heatmap_overlay_png(&args.output, image.view(), class_map.view(), 0.5, Some(&legend))?;

    if !quiet {
        let (h, w) = map.dim();
        println!(
            "{output} {}: {h}x{w} windows, {classes} classes",
            format_shape(&[1, classes, h, w])
        );
        println!("argmax class map:");
        print!("{}", format_grid(map.view()));
        println!("top classes by mean probability over the map:");
        for (i, r) in ranking.iter().take(args.top).enumerate() {
            let label = name(r.class).map(|n| format!(" {n}")).unwrap_or_default();
            println!(
                "  {:>2}. class {:<4} mean {:.4}  argmax at {:>3} of {}{label}",
                i + 1,
                r.class,
                r.mean,
                r.argmax_count,
                h * w
            );
        }
        println!(
            "wrote {} (probability of class {class}{} over the image)",
            args.output.display(),
            name(class).map(|n| format!(", {n}")).unwrap_or_default()
        );
    }
    Ok(())
}

/// The input blob: the one asked for, or the net's only input.
fn input_blob(net: &Net, asked: Option<&str>) -> Result<String> {
    let inputs = net.inputs();
    match asked {
        Some(name) => Ok(name.to_string()),
        None => match inputs.as_slice() {
            [one] => Ok(one.to_string()),
            [] => bail!("the net declares no Input layer; name the input blob with --input-blob"),
            many => bail!("the net has several inputs {many:?}; choose one with --input-blob"),
        },
    }
}

/// The probability blob: the one asked for, the net's only output, or `prob`.
fn output_blob(net: &Net, asked: Option<&str>) -> Result<String> {
    if let Some(name) = asked {
        net.blob_shape(name).with_context(|| format!("--output-blob {name}"))?;
        return Ok(name.to_string());
    }
    let outputs = net.outputs()?;
    match outputs.as_slice() {
        [one] => Ok(one.clone()),
        many if many.iter().any(|o| o == "prob") => Ok("prob".into()),
        many => bail!("the net has several outputs {many:?}; choose one with --output-blob"),
    }
}

/// pycaffe's Transformer as the tutorial sets it up, then a batch axis.
fn preprocess(image: ndarray::ArrayView3<'_, f32>, dims: &[usize; 4], args: &HeatmapArgs) -> Result<ArrayD<f32>> {
    let mut t = Transformer::new(dims)?;
    t.set_transpose([2, 0, 1])?;
    if dims[1] == 3 && !args.rgb {
        t.set_channel_swap(&[2, 1, 0])?;
    }
    t.set_raw_scale(args.raw_scale);
    if let Some(path) = &args.mean {
        let mean = load_mean(path)?;
        let per_channel: Array1<f64> = match mean.ndim() {
            1 => mean.into_dimensionality()?,
            2 => Array1::from_elem(1, mean.mean().unwrap_or(0.0)),
            3 => channel_mean(mean.view().into_dimensionality::<Ix3>()?),
            n => bail!("{}: a mean has 1 to 3 dimensions, this one {n}", path.display()),
        };
        t.set_mean(per_channel.view().into_dyn())
            .with_context(|| format!("--mean {}", path.display()))?;
    }
    Ok(t.preprocess(image)?.insert_axis(Axis(0)).into_dyn())
}

/// A 1 x K x H x W blob (or 1 x K, a single window) as a 4-D array.
fn as_map(blob: &ArrayD<f32>, name: &str) -> Result<ndarray::Array4<f32>> {
    let shape = blob.shape();
    let dims = match shape {
        [1, k] => [1, *k, 1, 1],
        [1, k, h, w] => [1, *k, *h, *w],
        _ => bail!(
            "blob '{name}' has shape {}: expected 1 x K x H x W class scores",
            format_shape(shape)
        ),
    };
    if dims[1] == 0 || dims[2] == 0 || dims[3] == 0 {
        bail!("blob '{name}' is empty ({})", format_shape(shape));
    }
    Ok(blob
        .to_shape(dims)
        .context("reshaping the output")?
        .into_dimensionality::<Ix4>()?
        .into_owned())
}

/// The class with the highest probability at each position of a 1 x K x H x W
/// map (the first one on ties, as numpy's `argmax`; NaN never wins).
pub fn argmax_map(prob: ArrayView4<'_, f32>) -> Array2<i64> {
    let p = prob.index_axis(Axis(0), 0);
    let (k, h, w) = p.dim();
    Array2::from_shape_fn((h, w), |(y, x)| {
        let mut best = 0;
        for c in 1..k {
            if p[[c, y, x]] > p[[best, y, x]] || p[[best, y, x]].is_nan() {
                best = c;
            }
        }
        best as i64
    })
}

/// A class map as a right-aligned grid of class ids, one row per line.
pub fn format_grid(map: ArrayView2<'_, i64>) -> String {
    let width = map.iter().map(|c| c.to_string().len()).max().unwrap_or(1);
    let mut s = String::new();
    for row in map.rows() {
        let cells: Vec<String> = row.iter().map(|c| format!("{c:>width$}")).collect();
        s.push_str("  ");
        s.push_str(&cells.join(" "));
        s.push('\n');
    }
    s
}

/// A class's standing over the whole map.
#[derive(Debug, Clone, Copy)]
pub struct Ranked {
    pub class: usize,
    pub mean: f64,
    pub argmax_count: usize,
}

/// Classes by mean probability over the map, highest first.
pub fn rank_classes(prob: ArrayView4<'_, f32>, map: &Array2<i64>) -> Vec<Ranked> {
    let p = prob.index_axis(Axis(0), 0);
    let mut ranking: Vec<Ranked> = p
        .outer_iter()
        .enumerate()
        .map(|(class, plane)| Ranked {
            class,
            mean: plane.iter().map(|&v| f64::from(v)).sum::<f64>() / plane.len().max(1) as f64,
            argmax_count: map.iter().filter(|&&c| c == class as i64).count(),
        })
        .collect();
    ranking.sort_by(|a, b| b.mean.total_cmp(&a.mean).then(a.class.cmp(&b.class)));
    ranking
}

/// One class name per line (blank lines kept, so numbering stays aligned).
fn read_labels(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}: cannot read the labels", path.display()))?;
    Ok(text.lines().map(|l| l.trim().to_string()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array4;

    #[test]
    fn argmax_takes_the_first_maximum_and_ranks_by_mean() {
        let mut p = Array4::<f32>::zeros((1, 3, 1, 2));
        p[[0, 1, 0, 0]] = 0.5;
        p[[0, 2, 0, 0]] = 0.5;
        p[[0, 2, 0, 1]] = 0.9;
        let map = argmax_map(p.view());
        assert_eq!(map, ndarray::arr2(&[[1, 2]]));
        let ranking = rank_classes(p.view(), &map);
        assert_eq!(ranking[0].class, 2);
        assert_eq!(ranking[0].argmax_count, 1);
        assert_eq!(format_grid(map.view()), "  1 2\n");
    }
}
