//! [`NativeNet`]: one loaded net for Python. Its params stay in the Rust
//! net and reach Python as numpy views (never copies); forward passes run a
//! tract session that is prepared once and reused until the input shapes,
//! the outputs asked for or the params change.
//!
//! Param writes are found without hashing every param on every pass: only
//! the params a view was handed out for since the last pass ([`Watched`])
//! are hashed and compared with their hash when the session was prepared. A
//! view keeps the net alive (its numpy base object holds it), so it stays
//! valid after `del net`; params are written in place, never reallocated,
//! by every call here that changes them (`copy_from`, `reshape`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use ndarray::ArrayD;
use numpy::{IntoPyArray, PyArrayDyn, PyReadonlyArrayDyn};
use pyo3::exceptions::{PyIndexError, PyValueError};
use pyo3::prelude::*;

use netsurgeon::caffe_io::blob::check_blob;
use netsurgeon::caffe_io::dialect::{Dialect, DialectSet};
use netsurgeon::caffe_io::proto::Phase;
use netsurgeon::graph_ir::passes::{self, FcToConvOptions};
use netsurgeon::graph_ir::{LoadOptions, MissingWeights, Net, NetState};
use netsurgeon::onnx_export::{self, BatchDim, ExportOptions, SpatialDims, WriteOptions};
use netsurgeon::{Forward, ForwardOptions};

use crate::errors::{export_error, forward_error, io_error, net_error};

/// Every core of the machine: the default thread count of forward passes.
#[pyfunction]
pub fn default_threads() -> usize {
    netsurgeon::forward::all_cores()
}

/// A layer as `NativeNet::layers` lists it: name, type, bottoms, tops and
/// its index among the net's own layers (None for Caffe's split layers).
type ListedLayer = (String, String, Vec<String>, Vec<String>, Option<usize>);

/// A param by (layer index in the net, param index).
type ParamId = (usize, usize);

/// The params Python holds views of, or held since the last pass.
#[derive(Debug, Default)]
struct Watched {
    params: Mutex<HashMap<ParamId, WatchedParam>>,
}

#[derive(Debug, Default)]
struct WatchedParam {
    /// Views alive now.
    live: usize,
    /// The param's hash when the session was prepared (None: no session).
    hash: Option<u64>,
}

fn hash_param(a: &ArrayD<f32>) -> u64 {
    match a.as_slice() {
        Some(s) => xxhash_rust::xxh3::xxh3_64(bytemuck::cast_slice(s)),
        None => {
            let owned: Vec<f32> = a.iter().copied().collect();
            xxhash_rust::xxh3::xxh3_64(bytemuck::cast_slice(&owned))
        }
    }
}

fn param_of(net: &Net, (layer, index): ParamId) -> &ArrayD<f32> {
    &net.layers()[layer].params()[index]
}

impl Watched {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ParamId, WatchedParam>> {
        // A panic while holding the lock leaves only counts behind: keep them.
        self.params.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A view of `id` is handed out. With a session, a param no view was
    /// watching holds the session's values: its hash is taken now.
    fn hand_out(&self, net: &Net, id: ParamId, session: bool) {
        let mut params = self.lock();
        let entry = params.entry(id).or_default();
        if entry.live == 0 && entry.hash.is_none() && session {
            entry.hash = Some(hash_param(param_of(net, id)));
        }
        entry.live += 1;
    }

    fn release(&self, id: ParamId) {
        if let Some(entry) = self.lock().get_mut(&id) {
            entry.live = entry.live.saturating_sub(1);
        }
    }

    /// Whether a watched param differs from the session's values; then
    /// forgets the params no view holds any more.
    fn changed(&self, net: &Net) -> bool {
        let mut params = self.lock();
        let mut changed = false;
        for (&id, entry) in params.iter_mut() {
            let now = hash_param(param_of(net, id));
            if entry.hash != Some(now) {
                changed = true;
            }
            entry.hash = Some(now);
        }
        params.retain(|_, e| e.live > 0);
        changed
    }

    /// A session was prepared from the net as it is now.
    fn prepared(&self, net: &Net) {
        let mut params = self.lock();
        params.retain(|_, e| e.live > 0);
        for (&id, entry) in params.iter_mut() {
            entry.hash = Some(hash_param(param_of(net, id)));
        }
    }

    fn has_live_views(&self, layer: usize) -> bool {
        self.lock().iter().any(|(&(l, _), e)| l == layer && e.live > 0)
    }
}

/// The numpy base object of a param view: keeps the net alive and tells it
/// when the view is gone.
#[pyclass(module = "netsurgeon._native", frozen)]
pub struct ParamViewOwner {
    _net: Py<NativeNet>,
    watched: Arc<Watched>,
    id: ParamId,
}

impl Drop for ParamViewOwner {
    fn drop(&mut self) {
        self.watched.release(self.id);
    }
}

#[derive(Debug, Clone, PartialEq)]
struct SessionKey {
    inputs: Vec<(String, Vec<usize>)>,
    outputs: Option<Vec<String>>,
    threads: usize,
}

struct Prepared {
    key: SessionKey,
    forward: Forward,
}

/// A loaded Caffe net (the Python package's `caffe.Net` wraps it).
#[pyclass(module = "netsurgeon._native")]
pub struct NativeNet {
    net: Net,
    session: Option<Prepared>,
    watched: Arc<Watched>,
    threads: usize,
}

fn phase_of(phase: &str) -> PyResult<Phase> {
    match phase {
        "TEST" => Ok(Phase::Test),
        "TRAIN" => Ok(Phase::Train),
        other => Err(PyValueError::new_err(format!(
            "phase must be caffe.TEST or caffe.TRAIN, got {other:?}"
        ))),
    }
}

impl NativeNet {
    fn wrap(net: Net, threads: usize) -> Self {
        NativeNet {
            net,
            session: None,
            watched: Arc::default(),
            threads,
        }
    }

    fn input_shapes(&self) -> PyResult<Vec<(String, Vec<usize>)>> {
        self.net
            .inputs()
            .iter()
            .map(|name| Ok((name.to_string(), self.net.blob_shape(name).map_err(net_error)?.to_vec())))
            .collect()
    }

    /// The session for `outputs`, prepared anew if anything it depends on
    /// changed.
    fn prepare(&mut self, outputs: Option<Vec<String>>) -> PyResult<&Forward> {
        let key = SessionKey {
            inputs: self.input_shapes()?,
            outputs,
            threads: self.threads,
        };
        let reuse = match &self.session {
            Some(prepared) => prepared.key == key && !self.watched.changed(&self.net),
            None => false,
        };
        if !reuse {
            self.session = None;
            let options = ForwardOptions::default()
                .all_blobs(true)
                .threads(self.threads)
                .outputs(key.outputs.clone());
            let forward = Forward::new(&self.net, &options).map_err(forward_error)?;
            self.watched.prepared(&self.net);
            self.session = Some(Prepared { key, forward });
        }
        Ok(&self.session.as_ref().expect("prepared above").forward)
    }
}

#[pymethods]
impl NativeNet {
    /// Loads a net as pycaffe's `caffe.Net` does: filtered for the phase,
    /// level and stages; params that the weights do not give drawn from the
    /// prototxt's fillers with `seed`.
    #[staticmethod]
    #[pyo3(signature = (prototxt, weights = None, phase = "TEST", level = 0, stages = Vec::new(), seed = 0, dialects = Vec::new(), threads = 0))]
    #[allow(clippy::too_many_arguments)]
    fn load(
        py: Python<'_>,
        prototxt: PathBuf,
        weights: Option<PathBuf>,
        phase: &str,
        level: i32,
        stages: Vec<String>,
        seed: u64,
        dialects: Vec<String>,
        threads: usize,
    ) -> PyResult<Self> {
        let mut set = DialectSet::new();
        for name in &dialects {
            let dialect: Dialect = name.parse().map_err(PyValueError::new_err)?;
            set = set.with(dialect);
        }
        let options = LoadOptions::default()
            .state(NetState {
                phase: phase_of(phase)?,
                level,
                stages,
            })
            .missing_weights(MissingWeights::Filler)
            .filler_seed(Some(seed))
            .dialects(set);
        let net = py
            .detach(|| Net::load_with(&prototxt, weights.as_deref(), &options))
            .map_err(net_error)?;
        Ok(Self::wrap(net, if threads == 0 { default_threads() } else { threads }))
    }

    /// The net's name.
    #[getter]
    fn name(&self) -> &str {
        self.net.name()
    }

    /// Layers as pycaffe lists them (Caffe's split layers included):
    /// (name, type, bottoms, tops, index among the net's own layers or None).
    fn layers(&self) -> PyResult<Vec<ListedLayer>> {
        Ok(self
            .net
            .runtime_layers()
            .map_err(net_error)?
            .into_iter()
            .map(|l| (l.name, l.type_name, l.bottoms, l.tops, l.layer_index))
            .collect())
    }

    /// Blobs in pycaffe's order: (name, shape or None when unknown).
    fn blobs(&self) -> PyResult<Vec<(String, Option<Vec<usize>>)>> {
        Ok(self
            .net
            .list_blobs()
            .map_err(net_error)?
            .into_iter()
            .map(|b| (b.name, b.shape))
            .collect())
    }

    fn inputs(&self) -> Vec<String> {
        self.net.inputs().iter().map(|s| s.to_string()).collect()
    }

    fn outputs(&self) -> PyResult<Vec<String>> {
        self.net.outputs().map_err(net_error)
    }

    /// The number of params of the net's layer `layer` (its index).
    fn param_count(&self, layer: usize) -> PyResult<usize> {
        self.net
            .layers()
            .get(layer)
            .map(|l| l.params().len())
            .ok_or_else(|| PyIndexError::new_err(format!("no layer {layer}")))
    }

    /// The shape of param `index` of the net's layer `layer`.
    fn param_shape(&self, layer: usize, index: usize) -> PyResult<Vec<usize>> {
        self.net
            .layers()
            .get(layer)
            .and_then(|l| l.params().get(index))
            .map(|p| p.shape().to_vec())
            .ok_or_else(|| PyIndexError::new_err(format!("no param {index} of layer {layer}")))
    }

    /// A writable numpy view of param `index` of the net's layer `layer`.
    fn param<'py>(slf: &Bound<'py, Self>, layer: usize, index: usize) -> PyResult<Bound<'py, PyArrayDyn<f32>>> {
        let py = slf.py();
        let this = slf.borrow();
        let Some(l) = this.net.layers().get(layer) else {
            return Err(PyIndexError::new_err(format!("no layer {layer}")));
        };
        let Some(array) = l.params().get(index) else {
            return Err(PyIndexError::new_err(format!(
                "layer '{}' has {} param(s), not {}",
                l.name(),
                l.params().len(),
                index + 1
            )));
        };
        this.watched.hand_out(&this.net, (layer, index), this.session.is_some());
        let owner = Bound::new(
            py,
            ParamViewOwner {
                _net: slf.clone().unbind(),
                watched: this.watched.clone(),
                id: (layer, index),
            },
        )?;
        // SAFETY: the array's buffer is owned by the net, which `owner` keeps
        // alive; no call of NativeNet frees or reallocates a param buffer
        // (copies go into the existing arrays, passes build a new net).
        Ok(unsafe { PyArrayDyn::borrow_from_array(array, owner.into_any()) })
    }

    /// One forward pass: every blob computed, by name, as owned arrays
    /// handed to numpy without a copy. `outputs` limits the pass to what
    /// those blobs need (pycaffe's `end`). The GIL is released while tract runs.
    #[pyo3(signature = (inputs, outputs = None))]
    fn forward<'py>(
        mut slf: PyRefMut<'py, Self>,
        inputs: Vec<(String, PyReadonlyArrayDyn<'py, f32>)>,
        outputs: Option<Vec<String>>,
    ) -> PyResult<Vec<(String, Bound<'py, PyArrayDyn<f32>>)>> {
        let py = slf.py();
        let owned: Vec<(String, ArrayD<f32>)> = inputs
            .iter()
            .map(|(name, a)| (name.clone(), a.as_array().as_standard_layout().into_owned()))
            .collect();
        let forward = slf.prepare(outputs)?;
        let blobs = py.detach(|| forward.run(owned)).map_err(forward_error)?;
        Ok(blobs.into_iter().map(|(n, a)| (n, a.into_pyarray(py))).collect())
    }

    /// Sets the thread count of forward passes (0: every core).
    fn set_threads(&mut self, threads: usize) {
        self.threads = if threads == 0 { default_threads() } else { threads };
    }

    #[getter]
    fn threads(&self) -> usize {
        self.threads
    }

    /// Gives input blob `name` a new shape and re-infers every shape (an
    /// error naming the layer when the net cannot take it; the net is then
    /// unchanged).
    fn reshape_input(&mut self, name: &str, dims: Vec<usize>) -> PyResult<()> {
        self.net.reshape_input(name, &dims).map_err(net_error)
    }

    /// Writes the prototxt and the caffemodel (each atomically).
    fn save(&self, py: Python<'_>, prototxt: PathBuf, weights: PathBuf) -> PyResult<()> {
        py.detach(|| self.net.save(&prototxt, &weights)).map_err(net_error)
    }

    /// Writes the caffemodel only (pycaffe's `net.save(path)`).
    fn save_weights(&self, py: Python<'_>, weights: PathBuf) -> PyResult<()> {
        py.detach(|| self.net.save_weights(&weights)).map_err(net_error)
    }

    /// The prototxt text of the net as it is now.
    fn prototxt(&self) -> String {
        netsurgeon::caffe_io::print::net_to_prototxt(&self.net.to_proto())
    }

    /// Copies params by layer name from a caffemodel into the existing
    /// arrays (Caffe's `CopyTrainedLayersFrom`); returns (copied, ignored).
    fn copy_from(&mut self, py: Python<'_>, weights: PathBuf) -> PyResult<(Vec<String>, Vec<String>)> {
        let proto = py
            .detach(|| netsurgeon::caffe_io::read_caffemodel(&weights))
            .map_err(io_error)?;
        // A copy that changes a param's size replaces its buffer: refuse it
        // while Python holds a view of that param.
        for source in &proto.layer {
            let Ok(li) = self.net.layer_index(source.name()) else {
                continue;
            };
            let layer = &self.net.layers()[li];
            let resized = layer.params().len() != source.blobs.len()
                || layer
                    .params()
                    .iter()
                    .zip(&source.blobs)
                    .any(|(p, b)| Some(p.len()) != check_blob(b).ok().map(|s| s.iter().product::<usize>()));
            if resized && self.watched.has_live_views(li) && !source.blobs.is_empty() {
                return Err(PyValueError::new_err(format!(
                    "{}: layer '{}' gets params of other sizes, which would free the arrays that numpy views of \
                     them still use; delete those views first",
                    weights.display(),
                    source.name()
                )));
            }
        }
        let report = self.net.copy_params_from_proto(proto).map_err(net_error)?;
        self.session = None;
        Ok((report.copied, report.ignored))
    }

    /// A new net with InnerProduct layers cast to Convolutions (weights
    /// transplanted); this net is left as it is.
    #[pyo3(signature = (layers = None, suffix = "-conv".to_string()))]
    fn fc_to_conv(&self, layers: Option<Vec<String>>, suffix: String) -> PyResult<Self> {
        let mut net = self.net.clone();
        passes::fc_to_conv(&mut net, &FcToConvOptions { suffix, layers }).map_err(net_error)?;
        Ok(Self::wrap(net, self.threads))
    }

    /// A new net cast to a fully convolutional one and reshaped to `dims`.
    fn full_conv(&self, input: &str, dims: Vec<usize>) -> PyResult<Self> {
        let mut net = self.net.clone();
        passes::full_conv(&mut net, input, &dims).map_err(net_error)?;
        Ok(Self::wrap(net, self.threads))
    }

    /// A new net with BatchNorm (+ Scale) folded into the convolutions before them.
    fn fold_batchnorm(&self) -> PyResult<Self> {
        let mut net = self.net.clone();
        passes::fold_batchnorm(&mut net).map_err(net_error)?;
        Ok(Self::wrap(net, self.threads))
    }

    /// A copy of this net, params included.
    fn copy(&self) -> Self {
        Self::wrap(self.net.clone(), self.threads)
    }

    /// Exports the net to ONNX at `path` (written atomically).
    #[pyo3(signature = (path, opset = 17, outputs = None, dynamic_batch = false, dynamic_spatial = false))]
    fn to_onnx(
        &self,
        py: Python<'_>,
        path: PathBuf,
        opset: i64,
        outputs: Option<Vec<String>>,
        dynamic_batch: bool,
        dynamic_spatial: bool,
    ) -> PyResult<()> {
        let options = ExportOptions {
            opset,
            outputs,
            batch: if dynamic_batch {
                BatchDim::Symbolic("N".into())
            } else {
                BatchDim::Fixed
            },
            spatial: if dynamic_spatial {
                SpatialDims::Symbolic
            } else {
                SpatialDims::Fixed
            },
            ..ExportOptions::default()
        };
        let exported = onnx_export::export(&self.net, &options).map_err(export_error)?;
        py.detach(|| exported.write(&path, &WriteOptions::default()))
            .map_err(export_error)?;
        Ok(())
    }
}
