"""pycaffe's ``caffe.Classifier``: images in, class probabilities out, with
10-crop oversampling by default."""

from __future__ import annotations

import numpy as np

from . import io
from ._net import TEST, Net


class Classifier(Net):
    """A TEST-phase net with a Transformer configured for its first input."""

    def __init__(self, model_file, pretrained_file, image_dims=None, mean=None, input_scale=None,
                 raw_scale=None, channel_swap=None):
        Net.__init__(self, model_file, pretrained_file, TEST)
        in_ = self.inputs[0]
        self.transformer = io._configured({in_: self.blobs[in_].data.shape}, (2, 0, 1), mean, input_scale,
                                          raw_scale, channel_swap)
        self.crop_dims = np.array(self.blobs[in_].data.shape[2:])
        if not image_dims:
            image_dims = self.crop_dims
        self.image_dims = image_dims

    def predict(self, inputs, oversample: bool = True) -> np.ndarray:
        """Class scores of each H x W x K image: the mean over the 10 crops
        (``oversample``) or of the centre crop."""
        batch = np.zeros((len(inputs), self.image_dims[0], self.image_dims[1], inputs[0].shape[2]),
                         dtype=np.float32)
        for i, image in enumerate(inputs):
            batch[i] = io.resize_image(image, self.image_dims)
        if oversample:
            batch = io.oversample(batch, self.crop_dims)
        else:
            centre = np.array(self.image_dims) / 2.0
            box = np.tile(centre, (1, 2))[0] + np.concatenate([-self.crop_dims / 2.0, self.crop_dims / 2.0])
            box = box.astype(int)
            batch = batch[:, box[0]:box[2], box[1]:box[3], :]
        in_ = self.inputs[0]
        caffe_in = np.zeros(np.array(batch.shape)[[0, 3, 1, 2]], dtype=np.float32)
        for i, image in enumerate(batch):
            caffe_in[i] = self.transformer.preprocess(in_, image)
        out = self.forward_all(**{in_: caffe_in})
        predictions = out[self.outputs[0]]
        if oversample:
            predictions = predictions.reshape((len(predictions) // 10, 10, -1)).mean(1)
        return predictions
