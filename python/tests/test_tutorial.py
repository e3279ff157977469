"""Caffe's net-surgery tutorial (examples/net_surgery.ipynb), its cells
transcribed to Python 3 and run against netsurgeon.caffe; the numbers are
checked against real Caffe's (fixtures/golden: the designer's conv blob and
weights, the cast LeNet's saved weights and its 8x8 digit map)."""

import json

import numpy as np
import pytest
from google.protobuf import text_format

import netsurgeon.caffe as caffe
from netsurgeon.caffe.proto import caffe_pb2


def max_abs(a):
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64)))) if np.size(a) else 0.0


def test_designer_filters(fixtures, capsys):
    caffe.set_mode_cpu()
    net = caffe.Net(str(fixtures / "models/net_surgery/conv.prototxt"), caffe.TEST)
    print("blobs {}\nparams {}".format(list(net.blobs.keys()), list(net.params.keys())))
    im = np.array(caffe.io.load_image(str(fixtures / "images/cat_gray.jpg"), color=False)).squeeze()
    im_input = im[np.newaxis, np.newaxis, :, :]
    net.blobs["data"].reshape(*im_input.shape)
    net.blobs["data"].data[...] = im_input
    # The gaussian filler (std 0.01) drew the filters; the bias is constant 0.
    weights = net.params["conv"][0].data
    assert weights.shape == (3, 1, 5, 5) and 0.005 < weights.std() < 0.02
    assert np.all(net.params["conv"][1].data == 0)
    net.forward()

    conv0 = net.blobs["conv"].data[0, 0]  # a view, taken before the surgery
    before = float(conv0.mean())
    print("pre-surgery output mean {:.2f}".format(conv0.mean()))
    net.params["conv"][1].data[0] = 1.0
    net.forward()
    print("post-surgery output mean {:.2f}".format(conv0.mean()))
    after = float(conv0.mean())
    # A bias adds exactly itself to every output (float32 sums: 1e-6).
    assert abs((after - before) - 1.0) < 1e-5

    ksize = net.params["conv"][0].data.shape[2:]
    sigma = 1.0
    y, x = np.mgrid[-ksize[0] // 2 + 1:ksize[0] // 2 + 1, -ksize[1] // 2 + 1:ksize[1] // 2 + 1]
    g = np.exp(-((x ** 2 + y ** 2) / (2.0 * sigma ** 2)))
    gaussian = (g / g.sum()).astype(np.float32)
    net.params["conv"][0].data[0] = gaussian
    net.params["conv"][0].data[1:] = 0.0
    sobel = np.array((-1, -2, -1, 0, 0, 0, 1, 2, 1), dtype=np.float32).reshape((3, 3))
    net.params["conv"][0].data[1, 0, 1:-1, 1:-1] = sobel
    net.params["conv"][0].data[2, 0, 1:-1, 1:-1] = sobel.T
    net.forward()

    golden = fixtures / "golden/designer"
    caffe_weights = np.load(golden / "conv_weights.npy")
    assert max_abs(net.params["conv"][0].data - caffe_weights) <= 1e-7
    assert np.array_equal(net.params["conv"][1].data, np.load(golden / "conv_bias.npy"))
    conv = net.blobs["conv"].data
    caffe_conv = np.load(golden / "conv.npy")
    assert conv.shape == caffe_conv.shape == (1, 3, 356, 476)
    assert max_abs(conv - caffe_conv) <= 1e-4 * max_abs(caffe_conv)
    stats = json.loads((golden / "designer.json").read_text())
    print("min {:.5f}, max {:.5f}".format(conv.min(), conv.max()))
    assert round(float(conv.min()), 5) == -3.67843 == round(stats["min"], 5)
    assert round(float(conv.max()), 5) == 3.77647 == round(stats["max"], 5)
    out = capsys.readouterr().out
    assert "blobs ['data', 'conv']\nparams ['conv']" in out
    assert "min -3.67843, max 3.77647" in out


def caffemodel_blobs(path):
    param = caffe_pb2.NetParameter()
    param.ParseFromString(path.read_bytes())
    return {layer.name: [np.array(b.data, dtype=np.float32) for b in layer.blobs] for layer in param.layer}


def test_lenet_cast_to_full_conv(fixtures, tmp_path, capsys):
    digits = fixtures / "golden/digits"
    net = caffe.Net(str(digits / "deploy.prototxt"), str(digits / "lenet_digits.caffemodel"), caffe.TEST)
    params = ["ip1", "ip2"]
    fc_params = {pr: (net.params[pr][0].data, net.params[pr][1].data) for pr in params}
    for fc in params:
        print("{} weights are {} dimensional and biases are {} dimensional".format(
            fc, fc_params[fc][0].shape, fc_params[fc][1].shape))
    net_full_conv = caffe.Net(str(digits / "lenet_full_conv.prototxt"), str(digits / "lenet_digits.caffemodel"),
                              caffe.TEST)
    params_full_conv = ["ip1-conv", "ip2-conv"]
    conv_params = {pr: (net_full_conv.params[pr][0].data, net_full_conv.params[pr][1].data)
                   for pr in params_full_conv}
    for conv in params_full_conv:
        print("{} weights are {} dimensional and biases are {} dimensional".format(
            conv, conv_params[conv][0].shape, conv_params[conv][1].shape))
    # Until the transplant the cast layers hold their fillers' values, as in
    # Caffe: this prototxt names none, so Caffe's default, the constant 0.
    assert not np.any(conv_params["ip1-conv"][0])
    for pr, pr_conv in zip(params, params_full_conv):
        conv_params[pr_conv][0].flat = fc_params[pr][0].flat  # flat unrolling
        conv_params[pr_conv][1][...] = fc_params[pr][1]
    saved = tmp_path / "lenet_full_conv.caffemodel"
    net_full_conv.save(str(saved))

    ours = caffemodel_blobs(saved)
    caffes = caffemodel_blobs(digits / "lenet_full_conv.caffemodel")
    assert set(ours) == set(caffes)
    for name, blobs in caffes.items():
        assert len(ours[name]) == len(blobs), name
        for a, b in zip(ours[name], blobs):
            assert np.array_equal(a, b), f"{name} differs from Caffe's saved weights"

    canvas = np.load(digits / "full_conv/input_56.npy")
    out = net_full_conv.forward_all(data=canvas)
    assert out["prob"].shape == (1, 10, 8, 8)
    digit_map = out["prob"][0].argmax(axis=0)
    print(digit_map)
    assert np.array_equal(digit_map, np.load(digits / "full_conv/argmax_map.npy"))
    printed = capsys.readouterr().out
    assert "ip1 weights are (500, 800) dimensional and biases are (500,) dimensional" in printed
    assert "ip1-conv weights are (500, 50, 4, 4) dimensional and biases are (500,) dimensional" in printed


def test_caffenet_full_conv(fixtures, tmp_path, capsys):
    models = fixtures / "models"
    deploy = str(models / "bvlc_reference_caffenet/deploy.prototxt")
    # No trained CaffeNet in the repository: synthesize its weights, save them.
    synth = caffe.Net(deploy, caffe.TEST)
    rng = np.random.default_rng(0)
    for name, blobs in synth.params.items():
        for blob in blobs:
            fan_in = blob.count // blob.shape[0]
            blob.data[...] = rng.normal(0.0, np.sqrt(2.0 / fan_in), blob.shape)
    weights = tmp_path / "bvlc_reference_caffenet.caffemodel"
    synth.save(str(weights))
    del synth

    net = caffe.Net(deploy, str(weights), caffe.TEST)
    params = ["fc6", "fc7", "fc8"]
    fc_params = {pr: (net.params[pr][0].data, net.params[pr][1].data) for pr in params}
    for fc in params:
        print("{} weights are {} dimensional and biases are {} dimensional".format(
            fc, fc_params[fc][0].shape, fc_params[fc][1].shape))
    net_full_conv = caffe.Net(str(models / "net_surgery/bvlc_caffenet_full_conv.prototxt"), str(weights),
                              caffe.TEST)
    params_full_conv = ["fc6-conv", "fc7-conv", "fc8-conv"]
    conv_params = {pr: (net_full_conv.params[pr][0].data, net_full_conv.params[pr][1].data)
                   for pr in params_full_conv}
    for conv in params_full_conv:
        print("{} weights are {} dimensional and biases are {} dimensional".format(
            conv, conv_params[conv][0].shape, conv_params[conv][1].shape))
    for pr, pr_conv in zip(params, params_full_conv):
        conv_params[pr_conv][0].flat = fc_params[pr][0].flat
        conv_params[pr_conv][1][...] = fc_params[pr][1]
    net_full_conv.save(str(tmp_path / "bvlc_caffenet_full_conv.caffemodel"))

    im = caffe.io.load_image(str(fixtures / "images/cat.jpg"))
    transformer = caffe.io.Transformer({"data": net_full_conv.blobs["data"].data.shape})
    transformer.set_mean("data", np.load(str(models / "ilsvrc_2012_mean.npy")).mean(1).mean(1))
    transformer.set_transpose("data", (2, 0, 1))
    transformer.set_channel_swap("data", (2, 1, 0))
    transformer.set_raw_scale("data", 255.0)
    out = net_full_conv.forward_all(data=np.asarray([transformer.preprocess("data", im)]))
    print(out["prob"][0].argmax(axis=0))
    assert out["prob"].shape == (1, 1000, 8, 8)
    assert np.allclose(out["prob"].sum(axis=1), 1.0, atol=1e-5)

    printed = capsys.readouterr().out
    for line in [
        "fc6 weights are (4096, 9216) dimensional and biases are (4096,) dimensional",
        "fc7 weights are (4096, 4096) dimensional and biases are (4096,) dimensional",
        "fc8 weights are (1000, 4096) dimensional and biases are (1000,) dimensional",
        "fc6-conv weights are (4096, 256, 6, 6) dimensional and biases are (4096,) dimensional",
        "fc7-conv weights are (4096, 4096, 1, 1) dimensional and biases are (4096,) dimensional",
        "fc8-conv weights are (1000, 4096, 1, 1) dimensional and biases are (1000,) dimensional",
    ]:
        assert line in printed


def test_caffe_pb2_reads_prototxts(fixtures):
    text = (fixtures / "models/bvlc_reference_caffenet/deploy.prototxt").read_text()
    param = text_format.Merge(text, caffe_pb2.NetParameter())
    assert param.name == "CaffeNet"
    assert [l.name for l in param.layer][:3] == ["data", "conv1", "relu1"]
    assert param.layer[1].convolution_param.num_output == 96
    assert caffe_pb2.TEST == 1 and caffe_pb2.TRAIN == 0
    assert caffe_pb2.Phase.Name(caffe_pb2.TEST) == "TEST"
    assert caffe_pb2.PoolingParameter.MAX == 0
