//! ONNX to Caffe with the self-check `netsurgeon to-caffe` runs: the model
//! is imported ([`onnx_import`]), then the ONNX model and the Caffe net
//! built from it are both run in tract on one seeded input, and every graph
//! output is compared (`max|caffe - onnx| <= tolerance * max|onnx|`) before
//! anything is written.
//!
//! ```no_run
//! use netsurgeon::to_caffe::{to_caffe, ToCaffeOptions};
//! let done = to_caffe("model.onnx".as_ref(), "model.prototxt".as_ref(), "model.caffemodel".as_ref(), &ToCaffeOptions::default())?;
//! if let Some(check) = &done.check {
//!     println!("worst output error {:.2e} x max|onnx|", check.worst_rel());
//! }
//! # Ok::<(), netsurgeon::to_caffe::ToCaffeError>(())
//! ```

use std::path::{Path, PathBuf};

use ndarray::{ArrayD, IxDyn};
use netsurgeon_runtime::{compare::max_errors, SessionBuilder, DEFAULT_TOLERANCE};
use onnx_export::ModelProto;
use onnx_import::{import, ImportOptions, Imported};

use crate::forward::{Forward, ForwardError, ForwardOptions};

/// What `to_caffe` does besides importing.
#[derive(Debug, Clone)]
pub struct ToCaffeOptions {
    pub import: ImportOptions,
    /// Run the self-check (default true).
    pub check: bool,
    /// The seed of the check's input (uniform in [-1, 1)).
    pub seed: u64,
    /// The check's bound on `max|caffe - onnx| / max|onnx|`.
    pub tolerance: f64,
}

impl Default for ToCaffeOptions {
    fn default() -> Self {
        ToCaffeOptions {
            import: ImportOptions::default(),
            check: true,
            seed: 0,
            tolerance: DEFAULT_TOLERANCE,
        }
    }
}

/// One graph output's error in the self-check.
#[derive(Debug, Clone)]
pub struct OutputError {
    pub name: String,
    pub max_abs: f64,
    pub max_ref: f64,
}

impl OutputError {
    /// `max_abs / max_ref` (0 when both are 0).
    pub fn rel(&self) -> f64 {
        if self.max_abs == 0.0 {
            0.0
        } else {
            self.max_abs / self.max_ref
        }
    }
}

/// The self-check's result.
#[derive(Debug, Clone)]
pub struct SelfCheck {
    pub outputs: Vec<OutputError>,
    pub seed: u64,
}

impl SelfCheck {
    /// The largest relative error over the outputs.
    pub fn worst_rel(&self) -> f64 {
        self.outputs.iter().map(OutputError::rel).fold(0.0, f64::max)
    }

    /// The output with the largest relative error.
    pub fn worst(&self) -> Option<&OutputError> {
        self.outputs.iter().max_by(|a, b| a.rel().total_cmp(&b.rel()))
    }
}

/// A finished conversion.
#[derive(Debug)]
pub struct Converted {
    pub imported: Imported,
    /// None when the check was skipped; see also `check_skipped`.
    pub check: Option<SelfCheck>,
    /// Why tract could not run the ONNX model for the check, if it could not.
    pub check_skipped: Option<String>,
}

/// Why a conversion failed.
#[derive(Debug, thiserror::Error)]
pub enum ToCaffeError {
    #[error(transparent)]
    Import(Box<onnx_import::Error>),
    #[error("{}: {source}", path.display())]
    Read { path: PathBuf, source: onnx_export::Error },
    /// The Caffe net could not be run for the check (a netsurgeon bug).
    #[error("the Caffe net built could not be run for the self-check: {0}")]
    CaffeRun(#[from] ForwardError),
    /// The check found an output off by more than the tolerance: nothing is
    /// written (a netsurgeon bug; please report it with the model).
    #[error(
        "self-check failed: output '{}' differs by {:.3e} between the Caffe net and tract's run of the ONNX model \
         (max|onnx| {:.3e}, {:.2e} relative, bound {tolerance:.0e}); nothing was written. Either the conversion or \
         tract's reading of the model is wrong (tract reads opset 10's nearest Resize by x3 differently from the \
         spec and onnxruntime): compare with onnxruntime, and pass --no-check to write the model",
        worst.name, worst.max_abs, worst.max_ref, worst.rel()
    )]
    CheckFailed { worst: OutputError, tolerance: f64 },
}

impl From<onnx_import::Error> for ToCaffeError {
    fn from(e: onnx_import::Error) -> Self {
        ToCaffeError::Import(Box::new(e))
    }
}

/// Uniform values in [-1, 1) from a seed (splitmix64): the same on every machine.
pub fn seeded_input(shape: &[usize], seed: u64) -> ArrayD<f32> {
    let mut state = seed ^ 0x9e37_79b9_7f4a_7c15;
    let n: usize = shape.iter().product();
    let values = (0..n)
        .map(|_| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            ((z >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect();
    ArrayD::from_shape_vec(IxDyn(shape), values).expect("length is the shape's product")
}

/// Runs the ONNX model and the imported net in tract on the same seeded
/// inputs and measures every output. `Ok(Err(why))` when tract cannot run
/// the ONNX model (then there is no check).
pub fn self_check(
    model: &ModelProto,
    imported: &Imported,
    seed: u64,
) -> Result<Result<SelfCheck, String>, ForwardError> {
    let values: Vec<(String, ArrayD<f32>)> = imported
        .graph_inputs
        .iter()
        .enumerate()
        .map(|(i, (name, shape))| (name.clone(), seeded_input(shape, seed.wrapping_add(i as u64))))
        .collect();
    // The ONNX side: tract on the model as given, fed every graph input.
    let graph = model.graph.as_ref().expect("import checked the graph");
    let onnx_outputs: Vec<&str> = graph.output.iter().map(|o| o.name()).collect();
    let onnx_result = (|| {
        let mut builder = SessionBuilder::from_proto(model)?;
        for (name, shape) in &imported.graph_inputs {
            builder = builder.input_shape(name, shape)?;
        }
        let session = builder.outputs(onnx_outputs.iter().copied())?.build()?;
        session.run_named(values.iter().cloned().collect())
    })();
    let reference = match onnx_result {
        Ok(r) => r,
        Err(e) => return Ok(Err(format!("tract cannot run the ONNX model: {e}"))),
    };
    let options = ForwardOptions::default().outputs(Some(imported.outputs.clone()));
    let session = Forward::new(&imported.net, &options)?;
    // An input nothing reads (only its shape was used) is not an input of the run.
    let used: Vec<&str> = session.inputs().collect();
    let caffe = session.run(
        values
            .into_iter()
            .map(|(n, v)| (onnx_import::sanitize(&n), v))
            .filter(|(n, _)| used.contains(&n.as_str())),
    )?;
    let mut outputs = Vec::new();
    for ((onnx_name, value), caffe_name) in reference.iter().zip(&imported.outputs) {
        let ours = caffe
            .get(caffe_name)
            .ok_or_else(|| ForwardError::Net(Box::new(graph_ir::Error::NoSuchBlob(caffe_name.clone()))))?;
        let (max_abs, max_ref) = if ours.shape() == value.shape() {
            max_errors(ours.view(), value.view())
        } else {
            (f64::INFINITY, 0.0)
        };
        outputs.push(OutputError {
            name: onnx_name.clone(),
            max_abs,
            max_ref,
        });
    }
    Ok(Ok(SelfCheck { outputs, seed }))
}

/// Imports a decoded model, checks it (unless `options.check` is false) and
/// returns it unwritten.
pub fn convert_model(model: &ModelProto, options: &ToCaffeOptions) -> Result<Converted, ToCaffeError> {
    let imported = import(model, &options.import)?;
    let (check, check_skipped) = if options.check {
        match self_check(model, &imported, options.seed)? {
            Ok(check) => {
                if let Some(worst) = check.worst() {
                    let ok = worst.max_abs == 0.0 || worst.max_abs <= options.tolerance * worst.max_ref;
                    if !ok {
                        return Err(ToCaffeError::CheckFailed {
                            worst: worst.clone(),
                            tolerance: options.tolerance,
                        });
                    }
                }
                (Some(check), None)
            }
            Err(why) => (None, Some(why)),
        }
    } else {
        (None, None)
    };
    Ok(Converted {
        imported,
        check,
        check_skipped,
    })
}

/// Reads `onnx`, imports and checks it, and writes `prototxt` and
/// `caffemodel` (atomically; nothing is written when any step fails).
pub fn to_caffe(
    onnx: &Path,
    prototxt: &Path,
    caffemodel: &Path,
    options: &ToCaffeOptions,
) -> Result<Converted, ToCaffeError> {
    let model = onnx_export::read_model(onnx).map_err(|source| ToCaffeError::Read {
        path: onnx.to_path_buf(),
        source,
    })?;
    let converted = convert_model(&model, options)?;
    converted.imported.save(prototxt, caffemodel)?;
    Ok(converted)
}
