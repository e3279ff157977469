//! What every subcommand shares: `NAME=DIMS` input specs, output-file safety
//! (no silent overwrite, never the input as the output) and pycaffe-style shapes.

use std::path::{Path, PathBuf};

use std::sync::OnceLock;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use graph_ir::{Limits, LoadOptions, MissingWeights};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Options for reading untrusted models, shared by every subcommand.
#[derive(Args, Debug)]
#[command(next_help_heading = "Reading models")]
pub struct LoadArgs {
    /// Largest blob (weights or activations) accepted, in elements.
    #[arg(long, global = true, value_name = "N", default_value_t = Limits::default().max_blob_elements)]
    pub max_blob_elements: u64,
    /// Largest total of weights accepted, in bytes.
    #[arg(long, global = true, value_name = "N", default_value_t = Limits::default().max_weight_bytes)]
    pub max_weight_bytes: u64,
    /// Deepest { } nesting accepted in a prototxt.
    #[arg(long, global = true, value_name = "N", default_value_t = Limits::default().max_text_depth)]
    pub max_text_depth: usize,
    /// Most layers accepted in a net.
    #[arg(long, global = true, value_name = "N", default_value_t = Limits::default().max_layers)]
    pub max_layers: usize,
    /// Layers that need params but that --weights leaves out: refuse the net
    /// (error), use the prototxt's constant fillers as Caffe does (filler;
    /// random fillers give zeros), or zero them (zero).
    #[arg(long, global = true, value_enum, default_value_t = MissingWeightsArg::Error)]
    pub missing_weights: MissingWeightsArg,
    /// The Caffe build the model was written for, where its rules are not in the model
    /// itself (repeatable): yolo (the YOLOv3 ports' pooling size). Dialects: bvlc, ssd,
    /// opencv, segnet, pspnet, deeplab, faster-rcnn, mobilenet, senet, yolo. For
    /// to-caffe, the one Caffe to write for: caffe1 (default), bvlc, ssd, opencv, nnie.
    #[arg(long = "dialect", global = true, value_name = "NAME")]
    pub dialects: Vec<String>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum MissingWeightsArg {
    Error,
    Filler,
    Zero,
}

static LOAD: OnceLock<LoadOptions> = OnceLock::new();

/// Records the command line's load options; called once by `main`. The
/// dialects are Caffe's (graph-ir's) unless `reading_caffe` is false.
pub fn set_load_options(args: &LoadArgs, reading_caffe: bool) -> Result<()> {
    let mut dialects = netsurgeon::caffe_io::dialect::DialectSet::new();
    if reading_caffe {
        for name in &args.dialects {
            let dialect: netsurgeon::caffe_io::dialect::Dialect =
                name.parse().map_err(|e| anyhow::anyhow!("--dialect {name}: {e}"))?;
            dialects = dialects.with(dialect);
        }
    }
    let options = LoadOptions {
        limits: Limits {
            max_blob_elements: args.max_blob_elements,
            max_weight_bytes: args.max_weight_bytes,
            max_text_depth: args.max_text_depth,
            max_layers: args.max_layers,
        },
        missing_weights: match args.missing_weights {
            MissingWeightsArg::Error => MissingWeights::Error,
            MissingWeightsArg::Filler => MissingWeights::Filler,
            MissingWeightsArg::Zero => MissingWeights::Zero,
        },
        dialects,
        ..LoadOptions::default()
    };
    let _ = LOAD.set(options);
    Ok(())
}

/// The load options of this run (the defaults when `main` set none, as in tests).
pub fn load_options() -> &'static LoadOptions {
    LOAD.get_or_init(LoadOptions::default)
}

/// A reader under this run's limits, for every model, mean and weight file.
pub fn reader() -> netsurgeon::caffe_io::Reader {
    netsurgeon::caffe_io::Reader::new(load_options().limits)
}

/// An input blob and its shape, as given on the command line: `data=1,3,451,451`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSpec {
    pub name: String,
    pub dims: Vec<usize>,
}

impl std::str::FromStr for InputSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let (name, dims) = s
            .split_once('=')
            .ok_or_else(|| format!("'{s}' is not NAME=DIMS (e.g. data=1,3,227,227)"))?;
        let dims = dims
            .split([',', 'x'])
            .map(|d| d.trim().parse::<usize>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| format!("'{s}': dims must be whole numbers separated by commas"))?;
        if name.is_empty() || dims.is_empty() || dims.contains(&0) {
            return Err(format!("'{s}': give a blob name and non-zero dims"));
        }
        Ok(InputSpec {
            name: name.to_string(),
            dims,
        })
    }
}

/// Parses `--threads N`: a whole number of at least 1.
pub fn parse_threads(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) | Err(_) => Err(format!("'{s}': give a whole number of threads, at least 1")),
        Ok(n) => Ok(n),
    }
}

/// The threads a subcommand runs tract with: `--threads N` if given, else
/// every core of the machine (as onnxruntime and the library's forward pass).
pub fn threads(arg: Option<usize>) -> usize {
    arg.unwrap_or_else(netsurgeon::forward::all_cores)
}

/// pycaffe's tuple style: `(96, 3, 11, 11)`, `(96,)`, `()`.
pub fn format_shape(shape: &[usize]) -> String {
    match shape {
        [one] => format!("({one},)"),
        dims => format!(
            "({})",
            dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Checks that `output` may be written: it is none of `inputs`, and it does not
/// exist unless `force` is given.
pub fn check_output(output: &Path, inputs: &[&Path], force: bool) -> Result<()> {
    for input in inputs {
        if same_file(output, input) {
            bail!(
                "{}: the output would overwrite an input; choose another output path",
                output.display()
            );
        }
    }
    if output.exists() && !force {
        bail!("{}: already exists; pass --force to overwrite it", output.display());
    }
    if let Some(dir) = output.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            bail!("{}: the directory {} does not exist", output.display(), dir.display());
        }
    }
    Ok(())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Loads a net (and its weights, with a progress bar on a terminal), then gives
/// the requested inputs their shapes. Problems with the net are reported
/// against the prototxt, missing weights against the weight file; weights for
/// layers the net does not have are ignored (as Caffe does) with a warning.
pub fn load_net(prototxt: &Path, weights: Option<&PathBuf>, inputs: &[InputSpec]) -> Result<graph_ir::Net> {
    let param = reader().read_prototxt(prototxt)?;
    if param.layer.is_empty() {
        bail!(
            "{}: defines no layers (is it a Caffe net definition?)",
            prototxt.display()
        );
    }
    let weight_param = weights.map(|w| read_weights(w)).transpose()?;
    let mut net = graph_ir::Net::from_proto_with(param, weight_param, load_options()).map_err(|e| {
        let file = match (&e, weights) {
            (graph_ir::Error::MissingWeights { .. }, Some(w)) => w.as_path(),
            _ => prototxt,
        };
        anyhow::Error::new(e).context(file.display().to_string())
    })?;
    if let (Some(w), false) = (weights, net.unused_weights().is_empty()) {
        warn(&format!(
            "{}: weights of {} that the net does not have were ignored, as Caffe does (renamed layers?): {}",
            w.display(),
            plural(net.unused_weights().len(), "layer"),
            quote_list(net.unused_weights())
        ));
    }
    for spec in inputs {
        net.reshape_input(&spec.name, &spec.dims)
            .with_context(|| format!("{}: --input {}={:?}", prototxt.display(), spec.name, spec.dims))?;
    }
    Ok(net)
}

/// Prints a warning on stderr unless `--quiet`.
pub fn warn(message: &str) {
    if !QUIET.load(std::sync::atomic::Ordering::Relaxed) {
        eprintln!("warning: {message}");
    }
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// `'a', 'b', 'c'`, shortened after ten names.
pub fn quote_list(names: &[String]) -> String {
    let mut list: Vec<String> = names.iter().take(10).map(|n| format!("'{n}'")).collect();
    if names.len() > 10 {
        list.push(format!("and {} more", names.len() - 10));
    }
    list.join(", ")
}

/// Progress bars are drawn on stderr only when it is a terminal and `--quiet`
/// is not given; set once by `main`.
pub static QUIET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Below this, a file loads in well under a second: no bar.
const PROGRESS_MIN_BYTES: u64 = 64 << 20;

/// A byte progress bar for reading or writing `bytes`, or a hidden one.
pub fn progress(bytes: u64, message: String) -> ProgressBar {
    if QUIET.load(std::sync::atomic::Ordering::Relaxed) || bytes < PROGRESS_MIN_BYTES {
        return ProgressBar::hidden();
    }
    // indicatif draws nothing when stderr is not a terminal.
    let bar = ProgressBar::with_draw_target(Some(bytes), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {binary_bytes}/{binary_total_bytes} {elapsed}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(message);
    bar
}

/// Bytes of a net's params.
pub fn param_bytes(net: &graph_ir::Net) -> u64 {
    net.params()
        .iter()
        .flat_map(|(_, p)| p.iter())
        .map(|p| 4 * p.len() as u64)
        .sum()
}

/// A spinner for a step of a model of `bytes` (writing it, optimizing it),
/// shown when the model is big enough for the step to take a while.
pub fn spinner(message: String, bytes: u64) -> ProgressBar {
    if QUIET.load(std::sync::atomic::Ordering::Relaxed) || bytes < PROGRESS_MIN_BYTES {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_message(message);
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// Reads a `.caffemodel`, with a progress bar for big ones.
pub fn read_weights(path: &Path) -> Result<netsurgeon::caffe_io::NetParameter> {
    let file = std::fs::File::open(path).with_context(|| format!("{}: open", path.display()))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = progress(len, format!("loading {}", path.display()));
    let net = reader().read_caffemodel_from(bar.wrap_read(file), len, path)?;
    bar.finish_and_clear();
    Ok(net)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_specs_parse() {
        let spec: InputSpec = "data=1,3,451,451".parse().unwrap();
        assert_eq!(spec.dims, vec![1, 3, 451, 451]);
        assert!("data".parse::<InputSpec>().is_err());
        assert!("data=1,x".parse::<InputSpec>().is_err());
        assert!("data=1,0".parse::<InputSpec>().is_err());
        assert_eq!(format_shape(&[96]), "(96,)");
        assert_eq!(format_shape(&[10, 3]), "(10, 3)");
    }
}
