"""pycaffe's ``caffe.io``: images in, blobs in and out, the ``Transformer``.

The numbers are pycaffe's: images are decoded and resized by netsurgeon's
preprocess crate, which follows skimage's and scipy's rules bit for bit (see
``caffe_preprocess::resize``); the Transformer's steps are numpy's, in
pycaffe's order and dtypes.
"""

from __future__ import annotations

import os
from typing import Dict, Iterable, Optional, Sequence

import numpy as np

from .. import _native


def load_image(filename, color: bool = True) -> np.ndarray:
    """An image as H x W x 3 (``color``) or H x W x 1 float32 in [0, 1]."""
    return _native.load_image(os.fspath(filename), bool(color))


def resize_image(im: np.ndarray, new_dims: Sequence[int], interp_order: int = 1) -> np.ndarray:
    """Resizes an H x W x K image to ``new_dims = (height, width)`` as pycaffe does
    (bilinear; skimage's rules for K = 1 or 3, scipy's zoom otherwise)."""
    if interp_order != 1:
        raise NotImplementedError(
            f"resize_image(interp_order={interp_order}): netsurgeon gives pycaffe's numbers for "
            "interp_order=1 (bilinear, the default of every pycaffe call) only"
        )
    im = np.ascontiguousarray(im, dtype=np.float32)
    if im.ndim != 3:
        raise ValueError(f"resize_image takes an H x W x K image, got shape {im.shape}")
    height, width = (int(d) for d in new_dims)
    return _native.resize_image(im, height, width, False)


def oversample(images, crop_dims: Sequence[int]) -> np.ndarray:
    """The 4 corner crops, the centre crop and their mirrors of each image:
    (10 N) x h x w x K."""
    images = [np.ascontiguousarray(im, dtype=np.float32) for im in images]
    height, width = (int(d) for d in crop_dims)
    return _native.oversample(images, height, width)


def blobproto_to_array(blob, return_diff: bool = False) -> np.ndarray:
    """A BlobProto's data (or diff) as an array of its shape (legacy 4-D
    num/channels/height/width when it gives no shape)."""
    values = blob.diff if return_diff else blob.data
    if blob.HasField("num") or blob.HasField("channels") or blob.HasField("height") or blob.HasField("width"):
        shape = (blob.num, blob.channels, blob.height, blob.width)
    else:
        shape = tuple(blob.shape.dim)
    return np.array(values).reshape(shape)


def array_to_blobproto(arr: np.ndarray, diff: Optional[np.ndarray] = None):
    """An array (and optionally its diff) as a BlobProto with a shape."""
    from .proto import caffe_pb2

    arr = np.asarray(arr)
    blob = caffe_pb2.BlobProto()
    blob.shape.dim.extend(arr.shape)
    blob.data.extend(arr.astype(float).flat)
    if diff is not None:
        blob.diff.extend(np.asarray(diff).astype(float).flat)
    return blob


def arraylist_to_blobprotovector_str(arraylist) -> bytes:
    """A list of arrays as a serialized BlobProtoVector."""
    from .proto import caffe_pb2

    vector = caffe_pb2.BlobProtoVector()
    vector.blobs.extend([array_to_blobproto(arr) for arr in arraylist])
    return vector.SerializeToString()


def blobprotovector_str_to_arraylist(text: bytes):
    """A serialized BlobProtoVector as a list of arrays."""
    from .proto import caffe_pb2

    vector = caffe_pb2.BlobProtoVector()
    vector.ParseFromString(text)
    return [blobproto_to_array(blob) for blob in vector.blobs]


def array_to_datum(arr: np.ndarray, label=None):
    """A C x H x W array as a Datum (uint8 arrays as bytes, others as floats)."""
    from .proto import caffe_pb2

    arr = np.asarray(arr)
    if arr.ndim != 3:
        raise ValueError("Incorrect array shape.")
    datum = caffe_pb2.Datum()
    datum.channels, datum.height, datum.width = arr.shape
    if arr.dtype == np.uint8:
        datum.data = arr.tobytes()
    else:
        datum.float_data.extend(arr.astype(float).flat)
    if label is not None:
        datum.label = label
    return datum


def datum_to_array(datum) -> np.ndarray:
    """A Datum's values as a C x H x W array (uint8 when stored as bytes)."""
    shape = (datum.channels, datum.height, datum.width)
    if len(datum.data):
        return np.frombuffer(datum.data, dtype=np.uint8).reshape(shape)
    return np.array(datum.float_data).astype(float).reshape(shape)


def _configured(inputs, transpose=None, mean=None, input_scale=None, raw_scale=None, channel_swap=None):
    """A Transformer for one input with the settings Classifier and Detector
    take (each None left unset)."""
    (in_,) = inputs
    transformer = Transformer(inputs)
    for setter, value in ((transformer.set_transpose, transpose), (transformer.set_mean, mean),
                          (transformer.set_input_scale, input_scale), (transformer.set_raw_scale, raw_scale),
                          (transformer.set_channel_swap, channel_swap)):
        if value is not None:
            setter(in_, value)
    return transformer


class Transformer:
    """pycaffe's Transformer: from H x W x K images to the net's C x H x W
    input (resize, transpose, channel swap, raw scale, mean, input scale) and
    back."""

    def __init__(self, inputs: Dict[str, Sequence[int]]):
        self.inputs = {name: tuple(shape) for name, shape in inputs.items()}
        self.transpose: Dict[str, Sequence[int]] = {}
        self.channel_swap: Dict[str, Sequence[int]] = {}
        self.raw_scale: Dict[str, float] = {}
        self.mean: Dict[str, np.ndarray] = {}
        self.input_scale: Dict[str, float] = {}

    def _check_input(self, in_: str) -> None:
        if in_ not in self.inputs:
            raise Exception(f"{in_} is not one of the net inputs: {self.inputs}")

    def preprocess(self, in_: str, data: np.ndarray) -> np.ndarray:
        """An H x W x K image as the net's input ``in_``."""
        self._check_input(in_)
        out = np.asarray(data).astype(np.float32, copy=False)
        dims = self.inputs[in_][2:]
        if out.shape[:2] != dims:
            out = resize_image(out, dims)
        if in_ in self.transpose:
            out = out.transpose(self.transpose[in_])
        if in_ in self.channel_swap:
            out = out[self.channel_swap[in_], :, :]
        if in_ in self.raw_scale:
            out *= self.raw_scale[in_]
        if in_ in self.mean:
            out -= self.mean[in_]
        if in_ in self.input_scale:
            out *= self.input_scale[in_]
        return out

    def deprocess(self, in_: str, data: np.ndarray) -> np.ndarray:
        """The net's input ``in_`` back as an image (preprocess undone)."""
        self._check_input(in_)
        out = np.array(data, copy=True).squeeze()
        if in_ in self.input_scale:
            out /= self.input_scale[in_]
        if in_ in self.mean:
            out += self.mean[in_]
        if in_ in self.raw_scale:
            out /= self.raw_scale[in_]
        if in_ in self.channel_swap:
            out = out[np.argsort(self.channel_swap[in_]), :, :]
        if in_ in self.transpose:
            out = out.transpose(np.argsort(self.transpose[in_]))
        return out

    def set_transpose(self, in_: str, order: Sequence[int]) -> None:
        """The axis order from the image's to the net's (e.g. (2, 0, 1))."""
        self._check_input(in_)
        if len(order) != len(self.inputs[in_]) - 1:
            raise Exception("Transpose order needs to have the same number of dimensions as the input.")
        self.transpose[in_] = order

    def set_channel_swap(self, in_: str, order: Sequence[int]) -> None:
        """The channel order (e.g. (2, 1, 0) for RGB to BGR), after the transpose."""
        self._check_input(in_)
        if len(order) != self.inputs[in_][1]:
            raise Exception("Channel swap needs to have the same number of dimensions as the input channels.")
        self.channel_swap[in_] = order

    def set_raw_scale(self, in_: str, scale: float) -> None:
        """Scales the image before the mean is subtracted (e.g. 255 for [0, 255])."""
        self._check_input(in_)
        self.raw_scale[in_] = scale

    def set_mean(self, in_: str, mean: np.ndarray) -> None:
        """Subtracts a per-channel (C,) or per-pixel (C x H x W) mean."""
        self._check_input(in_)
        mean = np.asarray(mean)
        shape = mean.shape
        if mean.ndim == 1:
            if shape[0] != self.inputs[in_][1]:
                raise ValueError("Mean channels incompatible with input.")
            mean = mean[:, np.newaxis, np.newaxis]
        else:
            if len(shape) == 2:
                shape = (1,) + shape
            if len(shape) != 3:
                raise ValueError("Mean shape invalid")
            if shape != self.inputs[in_][1:]:
                raise ValueError("Mean shape incompatible with input shape.")
        self.mean[in_] = mean

    def set_input_scale(self, in_: str, scale: float) -> None:
        """Scales the input after the mean is subtracted."""
        self._check_input(in_)
        self.input_scale[in_] = scale
