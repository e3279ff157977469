"""netsurgeon: Caffe net surgery without Caffe.

``netsurgeon.caffe`` is pycaffe's API (``import netsurgeon.caffe as caffe``);
this module adds netsurgeon's own calls, each returning a new net (the
tutorial's two-net workflow; the first net and its arrays are untouched):

    import netsurgeon
    net = netsurgeon.Net.load("deploy.prototxt", "weights.caffemodel")
    fc = netsurgeon.full_conv(net, "data", (1, 3, 451, 451))
    fc.to_onnx("full_conv.onnx")
    netsurgeon.check(net, "golden/mini_caffenet")
"""

from __future__ import annotations

import os
from typing import Dict, Optional, Sequence

import numpy as np

from . import _native

__version__ = _native.version()

from .caffe._net import Net  # noqa: E402


def fc_to_conv(net: Net, layers: Optional[Sequence[str]] = None, suffix: str = "-conv") -> Net:
    """A new net with InnerProduct layers (all, or those named) cast to
    Convolutions, their weights transplanted (renamed ``<name><suffix>``)."""
    return Net._wrap(net._native.fc_to_conv(list(layers) if layers is not None else None, suffix))


def full_conv(net: Net, input: str, dims: Sequence[int]) -> Net:
    """A new fully convolutional net (InnerProducts cast to Convolutions)
    with input ``input`` reshaped to ``dims``, e.g. (1, 3, 451, 451)."""
    return Net._wrap(net._native.full_conv(input, [int(d) for d in dims]))


def fold_batchnorm(net: Net) -> Net:
    """A new net with BatchNorm (and the Scale after it) folded into the
    Convolution or InnerProduct before it."""
    return Net._wrap(net._native.fold_batchnorm())


class CheckResult:
    """Per blob, the worst absolute error against the golden blob, its
    relative error (of the reference's largest magnitude) and the verdict."""

    def __init__(self, rows, tolerance: float):
        self.rows = rows
        self.tolerance = tolerance

    @property
    def passed(self) -> bool:
        return all(ok for *_, ok in self.rows)

    def failures(self):
        return [row for row in self.rows if not row[-1]]

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        worst = max((row[2] for row in self.rows), default=0.0)
        return f"<CheckResult {len(self.rows)} blobs, worst relative error {worst:.3g}, passed={self.passed}>"


def _golden_file(name: str) -> str:
    return name.replace("/", "__") + ".npy"


def check(net: Net, golden_dir, tolerance: float = 1e-4) -> CheckResult:
    """Runs ``net`` on a golden folder's input (``input.npy``, or
    ``input_<name>.npy`` per input) and compares every blob that has a
    ``blobs/<blob>.npy`` with it: max|ours - reference| <= tolerance x
    max|reference|, as ``netsurgeon check``."""
    golden_dir = os.fspath(golden_dir)
    inputs = {}
    for name in net.inputs:
        specific = os.path.join(golden_dir, "input_" + name.replace("/", "__") + ".npy")
        if os.path.exists(specific):
            inputs[name] = np.load(specific)
        elif len(net.inputs) == 1:
            inputs[name] = np.load(os.path.join(golden_dir, "input.npy"))
        else:
            raise FileNotFoundError(f"{specific}: no input file for input '{name}'")
    for name, value in inputs.items():
        if net.blobs[name].shape != value.shape:
            net.blobs[name].reshape(*value.shape)
    net.forward(**inputs)
    rows = []
    for name, blob in net.blobs.items():
        path = os.path.join(golden_dir, "blobs", _golden_file(name))
        if not os.path.exists(path):
            continue
        reference = np.load(path).astype(np.float64)
        ours = blob.data.astype(np.float64)
        if ours.shape != reference.shape:
            rows.append((name, float("inf"), float("inf"), False))
            continue
        err = float(np.max(np.abs(ours - reference))) if ours.size else 0.0
        scale = float(np.max(np.abs(reference))) if reference.size else 0.0
        rel = err / scale if scale > 0 else err
        rows.append((name, err, rel, err <= tolerance * scale))
    if not rows:
        raise FileNotFoundError(f"{golden_dir}/blobs: no golden blob matches a blob of the net")
    return CheckResult(rows, tolerance)


__all__ = ["Net", "fc_to_conv", "full_conv", "fold_batchnorm", "check", "CheckResult", "__version__"]
