"""pycaffe's ``caffe.Net`` on netsurgeon.

Params live in the Rust net: ``Blob.data`` of a param is a writable numpy
view of its memory, created at each access as pycaffe does; writes are seen
by the next ``forward()`` and by ``save``. Activations live in numpy arrays
owned by the net; ``forward()`` writes the new values into them, so a view
taken before a pass shows the values after it. Every array stays valid after
``del net``.
"""

from __future__ import annotations

import os
import warnings
from collections import OrderedDict
from typing import Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from .. import _native

TRAIN = 0
TEST = 1

_PHASE_NAMES = {TRAIN: "TRAIN", TEST: "TEST"}

#: The seed of the fillers of params no weights give (``set_random_seed``).
_filler_seed = 0
_gpu_warned = False

_TRAINING = (
    "netsurgeon runs Caffe models for inference only: it has no gradients, "
    "solvers or Python layers. Train in Caffe or in PyTorch (convert the model "
    "with netsurgeon's ONNX export) and load the trained weights here."
)


def set_mode_cpu() -> None:
    """netsurgeon always runs on the CPU (tract)."""


def set_mode_gpu() -> None:
    """Accepted for pycaffe scripts; netsurgeon runs on the CPU (one warning)."""
    _warn_gpu()


def set_device(device_id: int) -> None:
    """Accepted for pycaffe scripts; netsurgeon runs on the CPU (one warning)."""
    _warn_gpu()


def _warn_gpu() -> None:
    global _gpu_warned
    if not _gpu_warned:
        _gpu_warned = True
        warnings.warn(
            "netsurgeon runs on the CPU (tract, every core by default); "
            "set_mode_gpu()/set_device() are accepted and do nothing",
            RuntimeWarning,
            stacklevel=3,
        )


def set_random_seed(seed: int) -> None:
    """Seeds the fillers of nets created afterwards (not Caffe's random stream)."""
    global _filler_seed
    _filler_seed = int(seed) & 0xFFFFFFFFFFFFFFFF


def _phase_name(phase) -> str:
    if phase in _PHASE_NAMES:
        return _PHASE_NAMES[phase]
    raise ValueError(f"phase must be caffe.TEST or caffe.TRAIN, got {phase!r}")


class Blob:
    """A blob of the net (an activation) or a param of a layer.

    ``data`` is a float32 numpy array backed by the blob's memory; ``diff``
    is zeros (netsurgeon computes no gradients).
    """

    __slots__ = ("_net", "_name", "_param", "_diff")

    def __init__(self, net: "Net", name: str, param: Optional[Tuple[int, int]] = None):
        self._net = net
        self._name = name
        self._param = param
        self._diff = None

    @property
    def data(self) -> np.ndarray:
        if self._param is not None:
            return self._net._native.param(*self._param)
        return self._net._activation(self._name)

    @data.setter
    def data(self, value) -> None:
        self.data[...] = value

    @property
    def diff(self) -> np.ndarray:
        shape = self.shape
        if self._diff is None or self._diff.shape != shape:
            self._diff = np.zeros(shape, dtype=np.float32)
        return self._diff

    @property
    def shape(self) -> Tuple[int, ...]:
        if self._param is not None:
            return tuple(self._net._native.param_shape(*self._param))
        return tuple(self.data.shape)

    @property
    def count(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def _legacy(self, axis: int) -> int:
        shape = self.shape
        if len(shape) > 4:
            raise ValueError(
                f"blob '{self._name}' has {len(shape)} axes; num/channels/height/width "
                "are defined for at most 4 (use .shape)"
            )
        index = axis - (4 - len(shape))
        return shape[index] if index >= 0 else 1

    @property
    def num(self) -> int:
        return self._legacy(0)

    @property
    def channels(self) -> int:
        return self._legacy(1)

    @property
    def height(self) -> int:
        return self._legacy(2)

    @property
    def width(self) -> int:
        return self._legacy(3)

    def reshape(self, *dims: int) -> None:
        """Gives an input blob a new shape and re-infers the net's shapes."""
        if self._param is not None:
            raise ValueError(
                f"a param of layer '{self._name}' cannot be reshaped: its shape follows from the layer"
            )
        self._net._reshape_input(self._name, [int(d) for d in dims])

    def __repr__(self) -> str:
        kind = "param of " if self._param is not None else ""
        return f"<Blob {kind}'{self._name}' {self.shape}>"


class Layer:
    """A layer as pycaffe lists it: ``type`` and its param ``blobs``."""

    __slots__ = ("name", "type", "blobs")

    def __init__(self, name: str, type_: str, blobs: List[Blob]):
        self.name = name
        self.type = type_
        self.blobs = blobs

    def __repr__(self) -> str:
        return f"<Layer '{self.name}' ({self.type})>"


class Net:
    """pycaffe's Net: ``Net(prototxt, phase, weights=..., level=..., stages=...)``
    or ``Net(prototxt, weights, phase)``."""

    def __init__(self, network_file, *args, weights=None, level: int = 0, stages: Optional[Sequence[str]] = None,
                 phase=None, dialects: Sequence[str] = (), threads: int = 0, _native_net=None):
        if _native_net is not None:
            self._native = _native_net
            self._setup()
            return
        positional = list(args)
        if len(positional) == 2:
            if weights is not None:
                raise TypeError("weights given both positionally and by keyword")
            weights, phase = positional
        elif len(positional) == 1:
            if phase is not None:
                raise TypeError("phase given both positionally and by keyword")
            phase = positional[0]
        elif positional:
            raise TypeError("Net(prototxt, phase, weights=None, level=0, stages=None) or Net(prototxt, weights, phase)")
        if phase is None:
            raise TypeError("Net() needs a phase: caffe.TEST or caffe.TRAIN")
        network_file = os.fspath(network_file)
        if weights is not None:
            weights = os.fspath(weights)
        self._native = _native.NativeNet.load(
            network_file,
            weights,
            _phase_name(phase),
            int(level),
            [str(s) for s in (stages or [])],
            _filler_seed,
            list(dialects),
            int(threads),
        )
        self._setup()

    @classmethod
    def _wrap(cls, native) -> "Net":
        net = cls.__new__(cls)
        Net.__init__(net, None, _native_net=native)
        return net

    def _setup(self) -> None:
        native = self._native
        layers = native.layers()
        self._layer_names = [name for name, *_ in layers]
        self._layer_types = [type_ for _, type_, *_ in layers]
        self._bottoms = OrderedDict((name, list(bottoms)) for name, _, bottoms, _, _ in layers)
        self._tops = OrderedDict((name, list(tops)) for name, _, _, tops, _ in layers)
        self._layer_index = [index for *_, index in layers]
        self._inputs = list(native.inputs())
        self._outputs = list(native.outputs())
        self._arrays: Dict[str, np.ndarray] = {}
        self._refresh_blobs()
        self._params = None
        self._layers = None

    def _refresh_blobs(self) -> None:
        """Arrays for every blob at its current shape; kept when unchanged."""
        blobs = self._native.blobs()
        self._blob_names = [name for name, _ in blobs]
        self._shapes = {name: shape for name, shape in blobs}
        arrays = {}
        for name, shape in blobs:
            old = self._arrays.get(name)
            if shape is None:
                arrays[name] = old if old is not None else np.zeros((0,), dtype=np.float32)
            elif old is not None and old.shape == tuple(shape):
                arrays[name] = old
            else:
                arrays[name] = np.zeros(shape, dtype=np.float32)
        self._arrays = arrays
        self._blob_objects = OrderedDict((name, Blob(self, name)) for name in self._blob_names)

    def _activation(self, name: str) -> np.ndarray:
        if self._shapes.get(name) is None:
            raise ValueError(
                f"the shape of blob '{name}' is unknown (it depends on a data layer netsurgeon does not read, "
                "or on a layer it does not model); reshape the net's input first"
            )
        return self._arrays[name]

    def _reshape_input(self, name: str, dims: List[int]) -> None:
        if name not in self._inputs:
            raise ValueError(
                f"blob '{name}' is not an input of the net (its inputs: {', '.join(self._inputs) or 'none'}): "
                "only inputs can be reshaped, the other blobs follow"
            )
        self._native.reshape_input(name, dims)
        self._refresh_blobs()

    # -- pycaffe's listing ------------------------------------------------

    @property
    def blobs(self) -> "OrderedDict[str, Blob]":
        return self._blob_objects

    @property
    def layers(self) -> List[Layer]:
        if self._layers is None:
            layers = []
            for name, type_, index in zip(self._layer_names, self._layer_types, self._layer_index):
                count = self._native.param_count(index) if index is not None else 0
                blobs = [Blob(self, name, (index, i)) for i in range(count)]
                layers.append(Layer(name, type_, blobs))
            self._layers = layers
        return self._layers

    @property
    def params(self) -> "OrderedDict[str, List[Blob]]":
        if self._params is None:
            self._params = OrderedDict((l.name, l.blobs) for l in self.layers if l.blobs)
        return self._params

    @property
    def layer_dict(self) -> "OrderedDict[str, Layer]":
        return OrderedDict(zip(self._layer_names, self.layers))

    @property
    def inputs(self) -> List[str]:
        return list(self._inputs)

    @property
    def outputs(self) -> List[str]:
        return list(self._outputs)

    @property
    def top_names(self) -> "OrderedDict[str, List[str]]":
        return OrderedDict((k, list(v)) for k, v in self._tops.items())

    @property
    def bottom_names(self) -> "OrderedDict[str, List[str]]":
        return OrderedDict((k, list(v)) for k, v in self._bottoms.items())

    @property
    def name(self) -> str:
        return self._native.name

    @property
    def blob_loss_weights(self) -> "OrderedDict[str, float]":
        return OrderedDict((name, 0.0) for name in self._blob_names)

    # -- running -------------------------------------------------------------

    def forward(self, blobs: Optional[Sequence[str]] = None, start: Optional[str] = None,
                end: Optional[str] = None, **kwargs) -> Dict[str, np.ndarray]:
        """pycaffe's forward: inputs by keyword (batch-sized), returns
        ``{blob: array}`` for the net's outputs (or ``end``'s tops) plus ``blobs``."""
        blobs = list(blobs or [])
        if start is not None and start != self._layer_names[0]:
            raise NotImplementedError(
                f"forward(start='{start}'): netsurgeon runs a pass from the net's inputs; "
                "set the input blobs and call forward(end=...) instead"
            )
        if end is not None:
            if end not in self._tops:
                raise ValueError(f"forward(end='{end}'): no layer of that name")
            outputs = list(self._tops[end]) + blobs
            wanted: Optional[List[str]] = list(self._tops[end]) + blobs
        else:
            outputs = self._outputs + blobs
            wanted = None
        if kwargs:
            if set(kwargs) != set(self._inputs):
                raise Exception("Input blob arguments do not match net inputs.")
            for name, value in kwargs.items():
                value = np.asarray(value)
                if value.shape[0] != self._arrays[name].shape[0]:
                    raise Exception("Input is not batch sized")
                self._arrays[name][...] = value
        self._run(wanted)
        return {out: self.blobs[out].data for out in dict.fromkeys(outputs)}

    def _run(self, outputs: Optional[List[str]]) -> None:
        inputs = [(name, self._activation(name)) for name in self._inputs]
        for name, value in self._native.forward(inputs, outputs):
            target = self._arrays.get(name)
            if target is not None and target.shape == value.shape:
                np.copyto(target, value)
            else:
                self._arrays[name] = value

    def forward_all(self, blobs: Optional[Sequence[str]] = None, **kwargs) -> Dict[str, np.ndarray]:
        """pycaffe's forward_all: runs the inputs in batches of the net's batch
        size (the last one zero-padded) and returns the outputs concatenated."""
        wanted = list(dict.fromkeys(self._outputs + list(blobs or [])))
        collected: Dict[str, List[np.ndarray]] = {name: [] for name in wanted}
        given = len(next(iter(kwargs.values()))) if kwargs else 0
        for batch in self._batches(kwargs):
            outs = self.forward(blobs=blobs, **batch)
            for name in wanted:
                collected[name].extend(outs[name].copy())
        result = {name: np.asarray(values) for name, values in collected.items()}
        if kwargs:
            padding = len(next(iter(result.values()))) - given
            if padding:
                result = {name: value[:-padding] for name, value in result.items()}
        return result

    def _batches(self, inputs: Mapping[str, np.ndarray]) -> Iterator[Dict[str, np.ndarray]]:
        if not inputs:
            return
        count = len(next(iter(inputs.values())))
        batch = next(iter(self.blobs.values())).shape[0]
        full, rest = divmod(count, batch)
        for b in range(full):
            yield {name: value[b * batch:(b + 1) * batch] for name, value in inputs.items()}
        if rest:
            padded = {}
            for name, value in inputs.items():
                value = np.asarray(value)
                zeros = np.zeros((batch - rest,) + value.shape[1:])
                padded[name] = np.concatenate([value[-rest:], zeros])
            yield padded

    def reshape(self) -> None:
        """Re-infers every blob's shape (netsurgeon does so on each input
        reshape already)."""
        self._refresh_blobs()

    def backward(self, *args, **kwargs):
        raise NotImplementedError(_TRAINING)

    def forward_backward_all(self, *args, **kwargs):
        raise NotImplementedError(_TRAINING)

    def clear_param_diffs(self) -> None:
        """Param diffs are always zero here."""

    # -- files -----------------------------------------------------------------

    def save(self, filename) -> None:
        """Writes the net's weights as a .caffemodel (atomically)."""
        self._native.save_weights(os.fspath(filename))

    def save_prototxt(self, filename) -> None:
        """Writes the net's definition as a prototxt (netsurgeon's addition)."""
        import tempfile

        filename = os.fspath(filename)
        folder = os.path.dirname(os.path.abspath(filename))
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".netsurgeon-", suffix=".prototxt")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(self._native.prototxt())
            os.replace(tmp, filename)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def copy_from(self, filename) -> None:
        """Copies params by layer name from a .caffemodel into this net's
        arrays (layers the file has and the net lacks are ignored, as Caffe does)."""
        self._native.copy_from(os.fspath(filename))

    def share_with(self, other: "Net") -> None:
        raise NotImplementedError(
            "share_with: netsurgeon nets do not share param memory; use net.copy_from(path) "
            "or assign arrays (net.params[name][i].data[...] = other.params[name][i].data)"
        )

    # -- netsurgeon's own ------------------------------------------------------

    @classmethod
    def load(cls, prototxt, weights=None, phase=TEST, level: int = 0, stages: Optional[Sequence[str]] = None,
             dialects: Sequence[str] = (), threads: int = 0) -> "Net":
        """Loads a net (TEST phase by default): ``netsurgeon.Net.load('deploy.prototxt', 'w.caffemodel')``."""
        return cls(prototxt, phase, weights=weights, level=level, stages=stages, dialects=dialects, threads=threads)

    @property
    def threads(self) -> int:
        """Threads of forward passes (default: every core)."""
        return self._native.threads

    @threads.setter
    def threads(self, value: int) -> None:
        self._native.set_threads(int(value))

    def to_onnx(self, path, opset: int = 17, outputs: Optional[Sequence[str]] = None,
                dynamic_batch: bool = False, dynamic_spatial: bool = False) -> None:
        """Exports the net to ONNX (``netsurgeon convert``'s options)."""
        self._native.to_onnx(os.fspath(path), int(opset), list(outputs) if outputs is not None else None,
                             bool(dynamic_batch), bool(dynamic_spatial))

    def prototxt(self) -> str:
        """The net's definition as prototxt text."""
        return self._native.prototxt()

    def __repr__(self) -> str:
        return f"<netsurgeon Net '{self.name}': {len(self._layer_names)} layers, inputs {self._inputs}>"


def _not_implemented(name: str):
    class _Refused:
        def __init__(self, *args, **kwargs):
            raise NotImplementedError(f"caffe.{name}: {_TRAINING}")

    _Refused.__name__ = name
    return _Refused


SGDSolver = _not_implemented("SGDSolver")
NesterovSolver = _not_implemented("NesterovSolver")
AdaGradSolver = _not_implemented("AdaGradSolver")
RMSPropSolver = _not_implemented("RMSPropSolver")
AdaDeltaSolver = _not_implemented("AdaDeltaSolver")
AdamSolver = _not_implemented("AdamSolver")


def get_solver(*args, **kwargs):
    raise NotImplementedError(f"caffe.get_solver: {_TRAINING}")
