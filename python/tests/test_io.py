"""caffe.io and caffe.Classifier: pycaffe's behaviours. The image numbers
themselves (load_image, resize_image, oversample) are checked against
skimage's and scipy's in the preprocess crate's tests."""

import numpy as np
import pytest

import netsurgeon.caffe as caffe
from netsurgeon.caffe.proto import caffe_pb2
from conftest import FIXTURES


def test_load_and_resize(fixtures):
    im = caffe.io.load_image(str(fixtures / "images/cat.jpg"))
    assert im.dtype == np.float32 and im.shape == (360, 480, 3) and 0 <= im.min() and im.max() <= 1
    grey = caffe.io.load_image(str(fixtures / "images/cat.jpg"), color=False)
    assert grey.shape == (360, 480, 1)
    small = caffe.io.resize_image(im, (90, 120))
    assert small.shape == (90, 120, 3) and small.dtype == np.float32
    flat = np.full((4, 4, 3), 0.5)
    assert np.array_equal(caffe.io.resize_image(flat, (8, 8)), np.full((8, 8, 3), 0.5, dtype=np.float32))
    with pytest.raises(NotImplementedError, match="interp_order"):
        caffe.io.resize_image(im, (10, 10), interp_order=3)
    with pytest.raises(OSError, match="missing.jpg"):
        caffe.io.load_image("missing.jpg")


def test_oversample_crops():
    image = np.arange(6 * 8 * 1, dtype=np.float32).reshape(6, 8, 1)
    crops = caffe.io.oversample([image], (4, 4))
    assert crops.shape == (10, 4, 4, 1)
    assert np.array_equal(crops[0], image[:4, :4])  # top-left corner
    assert np.array_equal(crops[4], image[1:5, 2:6])  # centre
    assert np.array_equal(crops[5], crops[0][:, ::-1])  # mirrored


def test_transformer_round_trip():
    t = caffe.io.Transformer({"data": (1, 3, 4, 5)})
    t.set_transpose("data", (2, 0, 1))
    t.set_channel_swap("data", (2, 1, 0))
    t.set_raw_scale("data", 255.0)
    t.set_mean("data", np.array([104.0, 117.0, 123.0]))
    t.set_input_scale("data", 0.5)
    image = np.random.default_rng(0).random((4, 5, 3)).astype(np.float32)
    x = t.preprocess("data", image)
    assert x.shape == (3, 4, 5) and x.dtype == np.float32
    expected = (image.transpose(2, 0, 1)[::-1] * 255.0 - np.array([104.0, 117.0, 123.0])[:, None, None]) * 0.5
    np.testing.assert_allclose(x, expected, rtol=1e-6, atol=1e-4)
    np.testing.assert_allclose(t.deprocess("data", x), image, atol=1e-5)
    with pytest.raises(ValueError, match="Mean channels incompatible"):
        t.set_mean("data", np.zeros(4))
    with pytest.raises(ValueError, match="Mean shape incompatible"):
        t.set_mean("data", np.zeros((3, 2, 2)))
    with pytest.raises(Exception, match="is not one of the net inputs"):
        t.preprocess("image", image)
    # A different image size is resized to the input's first.
    assert t.preprocess("data", np.zeros((8, 10, 3), dtype=np.float32)).shape == (3, 4, 5)


def test_blobproto_round_trip():
    a = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    blob = caffe.io.array_to_blobproto(a)
    assert list(blob.shape.dim) == [2, 3, 4]
    assert np.array_equal(caffe.io.blobproto_to_array(blob), a)
    legacy = caffe_pb2.BlobProto(num=1, channels=2, height=1, width=3, data=[1, 2, 3, 4, 5, 6])
    assert caffe.io.blobproto_to_array(legacy).shape == (1, 2, 1, 3)
    text = caffe.io.arraylist_to_blobprotovector_str([a, a + 1])
    back = caffe.io.blobprotovector_str_to_arraylist(text)
    assert len(back) == 2 and np.array_equal(back[1], a + 1)
    datum = caffe.io.array_to_datum(np.ones((3, 2, 2), dtype=np.uint8), label=7)
    assert datum.label == 7 and caffe.io.datum_to_array(datum).shape == (3, 2, 2)


def net_classes(case):
    return int(np.load(case / "blobs/prob.npy").shape[1])


def test_classifier_predicts_as_the_net_does():
    case = FIXTURES / "golden/public/mini_caffenet"
    classifier = caffe.Classifier(str(case / "net.prototxt"), str(case / "net.caffemodel"),
                                  image_dims=(80, 80), raw_scale=255.0, channel_swap=(2, 1, 0))
    image = np.random.default_rng(1).random((100, 120, 3)).astype(np.float32)
    centre = classifier.predict([image], oversample=False)
    assert centre.shape == (1, net_classes(case))
    resized = caffe.io.resize_image(image, (80, 80))
    crop = resized[6:73, 6:73]
    x = classifier.transformer.preprocess("data", crop)
    net = caffe.Net(str(case / "net.prototxt"), str(case / "net.caffemodel"), caffe.TEST)
    direct = net.forward(data=x[np.newaxis])["prob"]
    np.testing.assert_allclose(centre, direct.reshape(centre.shape), atol=1e-6)
    ten = classifier.predict([image, image[::-1]])
    assert ten.shape[0] == 2 and np.allclose(ten.sum(axis=1), 1.0, atol=1e-5)


def test_detector_scores_windows_as_the_net_does():
    case = FIXTURES / "golden/public/mini_caffenet"
    image_path = FIXTURES / "images/cat.jpg"
    detector = caffe.Detector(str(case / "net.prototxt"), str(case / "net.caffemodel"), raw_scale=255.0)
    windows = [(0, 0, 100, 120), (50, 60, 250, 300)]
    detections = detector.detect_windows([(str(image_path), windows)])
    assert [d["window"] for d in detections] == windows
    image = caffe.io.load_image(str(image_path))
    net = caffe.Net(str(case / "net.prototxt"), str(case / "net.caffemodel"), caffe.TEST)
    for d, (y0, x0, y1, x1) in zip(detections, windows):
        x = detector.transformer.preprocess("data", image[y0:y1, x0:x1])
        direct = net.forward(data=x[np.newaxis])["prob"][0]
        np.testing.assert_allclose(d["prediction"], direct.reshape(d["prediction"].shape), atol=1e-6)
    padded = caffe.Detector(str(case / "net.prototxt"), str(case / "net.caffemodel"), context_pad=8)
    crop = padded.crop(image, windows[1])
    assert crop.shape == (67, 67, 3)
    with pytest.raises(NotImplementedError, match="detect_windows"):
        padded.detect_selective_search([str(image_path)])
