"""pycaffe's API on netsurgeon: ``import netsurgeon.caffe as caffe``.

``caffe.Net``, ``caffe.TEST``/``caffe.TRAIN``, ``caffe.io``,
``caffe.proto.caffe_pb2``, ``caffe.Classifier`` and ``caffe.Detector`` behave
as pycaffe's (BVLC Caffe's ``python/caffe``), on the CPU, for inference.
Training (solvers, ``backward``) and Python layers raise
``NotImplementedError`` saying so.
"""

from ._net import (
    TEST,
    TRAIN,
    AdaDeltaSolver,
    AdaGradSolver,
    AdamSolver,
    Blob,
    Layer,
    Net,
    NesterovSolver,
    RMSPropSolver,
    SGDSolver,
    get_solver,
    set_device,
    set_mode_cpu,
    set_mode_gpu,
    set_random_seed,
)
from . import io
from .classifier import Classifier
from .detector import Detector
from .. import __version__

__all__ = [
    "TEST", "TRAIN", "Net", "Blob", "Layer", "Classifier", "Detector", "io",
    "set_mode_cpu", "set_mode_gpu", "set_device", "set_random_seed",
    "SGDSolver", "NesterovSolver", "AdaGradSolver", "RMSPropSolver", "AdaDeltaSolver", "AdamSolver",
    "get_solver", "__version__",
]


def init_log(*args, **kwargs) -> None:
    """Accepted for pycaffe scripts: netsurgeon does not log through glog."""

