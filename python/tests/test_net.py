"""pycaffe's Net behaviours (BVLC's python/caffe/test/test_net.py and the
tutorial's expectations): listing, views and their lifetime, forward's
checks, forward_all's batching, save/reload, levels and stages, reshape,
fillers, and the session cache seeing every param write."""

import gc
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import netsurgeon
import netsurgeon.caffe as caffe
from conftest import FIXTURES

PUBLIC = FIXTURES / "golden/public"

SMALL = """name: "small"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 2 dim: 3 dim: 6 dim: 6 } } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
  convolution_param { num_output: 4 kernel_size: 3 weight_filler { type: "gaussian" std: 0.5 }
                      bias_filler { type: "uniform" min: -1 max: 1 } } }
layer { name: "relu" type: "ReLU" bottom: "conv" top: "conv" }
layer { name: "pool" type: "Pooling" bottom: "conv" top: "pool" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }
layer { name: "ip" type: "InnerProduct" bottom: "pool" top: "ip"
  inner_product_param { num_output: 5 weight_filler { type: "xavier" } } }
layer { name: "prob" type: "Softmax" bottom: "ip" top: "prob" }
"""


@pytest.fixture
def small(tmp_path):
    path = tmp_path / "small.prototxt"
    path.write_text(SMALL)
    return path


def reference_forward(net, x):
    """The small net in numpy, from its params (an independent transcription
    of Convolution, ReLU, MAX pooling, InnerProduct and Softmax)."""
    w, b = net.params["conv"][0].data, net.params["conv"][1].data
    n, c, h, wd = x.shape
    oh, ow = h - 2, wd - 2
    conv = np.zeros((n, 4, oh, ow))
    for i in range(oh):
        for j in range(ow):
            patch = x[:, :, i:i + 3, j:j + 3].reshape(n, -1).astype(np.float64)
            conv[:, :, i, j] = patch @ w.reshape(4, -1).T.astype(np.float64) + b
    conv = np.maximum(conv, 0)
    pool = conv.reshape(n, 4, 2, 2, 2, 2).max(axis=(3, 5))
    ip = pool.reshape(n, -1) @ net.params["ip"][0].data.T.astype(np.float64) + net.params["ip"][1].data
    e = np.exp(ip - ip.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_listing(small):
    net = caffe.Net(str(small), caffe.TEST)
    assert list(net.blobs) == ["data", "conv", "pool", "ip", "prob"]
    assert list(net.params) == ["conv", "ip"]
    assert [l.type for l in net.layers] == ["Input", "Convolution", "ReLU", "Pooling", "InnerProduct", "Softmax"]
    assert list(net._layer_names) == ["data", "conv", "relu", "pool", "ip", "prob"]
    assert net.inputs == ["data"] and net.outputs == ["prob"]
    assert net.top_names == OrderedDict([("data", ["data"]), ("conv", ["conv"]), ("relu", ["conv"]),
                                         ("pool", ["pool"]), ("ip", ["ip"]), ("prob", ["prob"])])
    assert net.bottom_names["relu"] == ["conv"] and net.bottom_names["data"] == []
    assert list(net.layer_dict) == list(net._layer_names)
    assert net.layer_dict["ip"].blobs[0].data.shape == (5, 16)
    assert len(net.layers[0].blobs) == 0 and len(net.layers[1].blobs) == 2
    blob = net.blobs["data"]
    assert (blob.num, blob.channels, blob.height, blob.width, blob.count) == (2, 3, 6, 6, 216)
    assert net.params["ip"][1].shape == (5,) and net.params["ip"][1].num == 1
    assert net.blobs["data"].data.dtype == np.float32
    assert not net.params["conv"][0].diff.any() and net.params["conv"][0].diff.shape == (4, 3, 3, 3)


def test_split_blobs_are_listed():
    case = PUBLIC / "split_implicit"
    net = caffe.Net(str(case / "net.prototxt"), str(case / "net.caffemodel"), caffe.TEST)
    assert "data_data_0_split_0" in net.blobs and "conv_a_conv_a_0_split_1" in net.blobs
    assert any(l.type == "Split" for l in net.layers)


def test_fillers_are_seeded(small):
    a = caffe.Net(str(small), caffe.TEST)
    b = caffe.Net(str(small), caffe.TEST)
    assert np.array_equal(a.params["conv"][0].data, b.params["conv"][0].data)
    w = a.params["conv"][0].data
    assert 0.3 < w.std() < 0.7
    bias = a.params["conv"][1].data
    assert np.all((bias >= -1) & (bias <= 1)) and bias.std() > 0
    ip = a.params["ip"][0].data  # xavier: U(+-sqrt(3 / fan_in)), fan_in 16
    assert np.abs(ip).max() <= np.sqrt(3 / 16) and ip.std() > 0
    assert not a.params["ip"][1].data.any()  # no bias filler: Caffe's constant 0
    caffe.set_random_seed(12345)
    try:
        c = caffe.Net(str(small), caffe.TEST)
    finally:
        caffe.set_random_seed(0)
    assert not np.array_equal(a.params["conv"][0].data, c.params["conv"][0].data)


def test_forward_against_numpy(small):
    net = caffe.Net(str(small), caffe.TEST)
    x = np.random.default_rng(1).normal(size=(2, 3, 6, 6)).astype(np.float32)
    out = net.forward(data=x)
    assert list(out) == ["prob"]
    assert np.shares_memory(out["prob"], net.blobs["prob"].data)
    np.testing.assert_allclose(out["prob"], reference_forward(net, x), rtol=0, atol=1e-6)
    # An in-place blob holds the value after its last layer (ReLU).
    assert net.blobs["conv"].data.min() >= 0


def test_param_writes_reach_forward(small):
    net = caffe.Net(str(small), caffe.TEST)
    x = np.random.default_rng(2).normal(size=(2, 3, 6, 6)).astype(np.float32)
    first = net.forward(data=x)["prob"].copy()
    again = net.forward(data=x)["prob"].copy()
    assert np.array_equal(first, again)
    # Through a temporary view.
    net.params["ip"][1].data[...] = [5, 0, 0, 0, 0]
    out = net.forward(data=x)["prob"].copy()
    assert not np.array_equal(out, first)
    np.testing.assert_allclose(out, reference_forward(net, x), atol=1e-6)
    # Through a view kept alive across passes.
    w = net.params["conv"][0].data
    w *= 0.5
    out2 = net.forward(data=x)["prob"].copy()
    np.testing.assert_allclose(out2, reference_forward(net, x), atol=1e-6)
    w[0] = 0
    out3 = net.forward(data=x)["prob"].copy()
    np.testing.assert_allclose(out3, reference_forward(net, x), atol=1e-6)
    assert not np.array_equal(out2, out3)


def test_activation_views_follow_forward(small):
    net = caffe.Net(str(small), caffe.TEST)
    pool = net.blobs["pool"].data  # taken before any pass
    rng = np.random.default_rng(3)
    net.forward(data=rng.normal(size=(2, 3, 6, 6)).astype(np.float32))
    first = pool.copy()
    assert first.any()
    net.forward(data=rng.normal(size=(2, 3, 6, 6)).astype(np.float32))
    assert np.array_equal(pool, net.blobs["pool"].data) and not np.array_equal(pool, first)


def test_memory_after_del(small):
    net = caffe.Net(str(small), caffe.TEST)
    net.forward(data=np.ones((2, 3, 6, 6), dtype=np.float32))
    params = [blob.data for blobs in net.params.values() for blob in blobs]
    blobs = [blob.data for blob in net.blobs.values()]
    expected = sum(float(p.sum()) for p in params) + sum(float(b.sum()) for b in blobs)
    del net
    gc.collect()
    total = sum(float(p.sum()) for p in params) + sum(float(b.sum()) for b in blobs)
    assert total == expected
    for p in params:
        p[...] = 1  # still writable memory


def test_forward_checks(small):
    net = caffe.Net(str(small), caffe.TEST)
    with pytest.raises(Exception, match="Input blob arguments do not match net inputs."):
        net.forward(image=np.zeros((2, 3, 6, 6), dtype=np.float32))
    with pytest.raises(Exception, match="Input is not batch sized"):
        net.forward(data=np.zeros((3, 3, 6, 6), dtype=np.float32))


def test_forward_end_and_blobs(small):
    net = caffe.Net(str(small), caffe.TEST)
    x = np.random.default_rng(4).normal(size=(2, 3, 6, 6)).astype(np.float32)
    out = net.forward(end="pool", data=x)
    assert set(out) == {"pool"}
    assert not net.blobs["prob"].data.any()  # layers after `end` did not run
    out = net.forward(blobs=["ip"], data=x)
    assert set(out) == {"prob", "ip"}
    np.testing.assert_allclose(out["prob"], reference_forward(net, x), atol=1e-6)
    with pytest.raises(NotImplementedError, match="start"):
        net.forward(start="pool")


def test_forward_all_batches_and_pads(small):
    net = caffe.Net(str(small), caffe.TEST)
    x = np.random.default_rng(5).normal(size=(5, 3, 6, 6)).astype(np.float32)
    out = net.forward_all(data=x, blobs=["ip"])
    assert out["prob"].shape == (5, 5) and out["ip"].shape == (5, 5)
    np.testing.assert_allclose(out["prob"], reference_forward(net, x), atol=1e-6)


def test_reshape(small):
    net = caffe.Net(str(small), caffe.TEST)
    net.blobs["data"].reshape(1, 3, 6, 6)
    assert net.blobs["prob"].data.shape == (1, 5)
    with pytest.raises(ValueError, match="'ip'"):
        net.blobs["data"].reshape(1, 3, 8, 8)  # the InnerProduct's K would change
    assert net.blobs["data"].data.shape == (1, 3, 6, 6)  # left as it was
    with pytest.raises(ValueError, match="not an input"):
        net.blobs["pool"].reshape(1, 4, 2, 2)
    x = np.random.default_rng(6).normal(size=(1, 3, 6, 6)).astype(np.float32)
    np.testing.assert_allclose(net.forward(data=x)["prob"], reference_forward(net, x), atol=1e-6)
    net.reshape()


def test_save_and_reload_both_constructors(small, tmp_path):
    net = caffe.Net(str(small), caffe.TEST)
    net.params["ip"][1].data[...] = np.arange(5)
    path = tmp_path / "small.caffemodel"
    net.save(str(path))
    for other in (caffe.Net(str(small), str(path), caffe.TEST),
                  caffe.Net(str(small), caffe.TEST, weights=str(path)),
                  caffe.Net(str(small), caffe.TRAIN, weights=str(path))):
        for name, blobs in net.params.items():
            for a, b in zip(blobs, other.params[name]):
                assert np.array_equal(a.data, b.data)


def test_copy_from_writes_into_existing_arrays(small, tmp_path):
    source = caffe.Net(str(small), caffe.TEST)
    source.params["conv"][0].data[...] = 0.25
    path = tmp_path / "w.caffemodel"
    source.save(str(path))
    net = caffe.Net(str(small), caffe.TEST)
    view = net.params["conv"][0].data
    net.copy_from(str(path))
    assert np.all(view == 0.25)
    x = np.random.default_rng(7).normal(size=(2, 3, 6, 6)).astype(np.float32)
    np.testing.assert_allclose(net.forward(data=x)["prob"], reference_forward(net, x), atol=1e-6)


LEVELS = """name: "levels"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 2 } } }
layer { name: "always" type: "Power" bottom: "data" top: "always" }
layer { name: "lvl0" type: "Power" bottom: "data" top: "lvl0" exclude { min_level: 1 } }
layer { name: "lvl1" type: "Power" bottom: "data" top: "lvl1" include { min_level: 1 } }
layer { name: "A" type: "Power" bottom: "data" top: "A" include { stage: "A" } }
layer { name: "AB" type: "Power" bottom: "data" top: "AB" include { stage: "A" stage: "B" } }
layer { name: "train" type: "Power" bottom: "data" top: "train" include { phase: TRAIN } }
"""


def test_levels_and_stages(tmp_path):
    path = tmp_path / "levels.prototxt"
    path.write_text(LEVELS)
    names = lambda net: [n for n, l in zip(net._layer_names, net.layers) if l.type == "Power"]
    assert names(caffe.Net(str(path), caffe.TEST)) == ["always", "lvl0"]
    assert names(caffe.Net(str(path), caffe.TEST, level=1)) == ["always", "lvl1"]
    assert names(caffe.Net(str(path), caffe.TEST, stages=["A"])) == ["always", "lvl0", "A"]
    assert names(caffe.Net(str(path), caffe.TEST, stages=["A", "B"])) == ["always", "lvl0", "A", "AB"]
    assert names(caffe.Net(str(path), caffe.TRAIN)) == ["always", "lvl0", "train"]


def test_constructor_errors(small):
    with pytest.raises(TypeError, match="phase"):
        caffe.Net(str(small))
    with pytest.raises(ValueError, match="phase"):
        caffe.Net(str(small), 7)
    with pytest.raises(OSError, match="nowhere.prototxt"):
        caffe.Net("nowhere.prototxt", caffe.TEST)


def test_training_is_refused(small):
    net = caffe.Net(str(small), caffe.TEST)
    for call in (net.backward, net.forward_backward_all, lambda: caffe.SGDSolver("solver.prototxt"),
                 lambda: caffe.get_solver("solver.prototxt"), lambda: caffe.AdamSolver("s")):
        with pytest.raises(NotImplementedError, match="inference only"):
            call()


def test_gpu_mode_warns_once():
    import netsurgeon.caffe._net as impl

    impl._gpu_warned = False
    with pytest.warns(RuntimeWarning, match="runs on the CPU"):
        caffe.set_mode_gpu()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        caffe.set_device(0)
        caffe.set_mode_cpu()


def test_unrunnable_layers_load_edit_save_and_are_named(tmp_path):
    path = tmp_path / "python_layer.prototxt"
    path.write_text(SMALL.replace(
        'layer { name: "prob" type: "Softmax" bottom: "ip" top: "prob" }',
        'layer { name: "mine" type: "Python" bottom: "ip" top: "mine" '
        'python_param { module: "my_layers" layer: "Mine" } }'))
    net = caffe.Net(str(path), caffe.TEST)
    assert net.layers[-1].type == "Python"
    net.params["ip"][0].data[...] = 1
    net.save(str(tmp_path / "w.caffemodel"))
    again = caffe.Net(str(path), str(tmp_path / "w.caffemodel"), caffe.TEST)
    assert np.all(again.params["ip"][0].data == 1)
    with pytest.raises(NotImplementedError, match="'mine'"):
        net.forward()
    # What the layers before it compute is still reachable.
    out = net.forward(end="ip", data=np.ones((2, 3, 6, 6), dtype=np.float32))
    assert out["ip"].shape == (2, 5)


def test_netsurgeon_passes_return_new_nets(fixtures, tmp_path):
    case = PUBLIC / "mini_caffenet"
    net = netsurgeon.Net.load(case / "net.prototxt", case / "net.caffemodel")
    before = net.params["fc6"][0].data
    shape = before.shape
    cast = netsurgeon.fc_to_conv(net)
    assert "fc6-conv" in cast.params and "fc6" in net.params
    assert before.shape == shape and len(cast.params["fc6-conv"][0].shape) == 4
    np.testing.assert_array_equal(cast.params["fc6-conv"][0].data.reshape(shape), before)
    x = np.load(case / "input.npy")
    ref = net.forward(data=x)["prob"]
    np.testing.assert_allclose(cast.forward(data=x)["prob"].reshape(ref.shape), ref, atol=1e-6)
    big = netsurgeon.full_conv(net, "data", (1, 3, 99, 99))
    assert big.blobs["prob"].data.ndim == 4 and big.blobs["prob"].data.shape[2:] != (1, 1)
    assert net.blobs["data"].data.shape == (1, 3, 67, 67)
    result = netsurgeon.check(net, case)
    assert result.passed and len(result.rows) == len(net.blobs)

    bn_case = PUBLIC / "batchnorm_scale"
    bn = netsurgeon.Net.load(bn_case / "net.prototxt", bn_case / "net.caffemodel")
    folded = netsurgeon.fold_batchnorm(bn)
    assert len(folded._layer_names) < len(bn._layer_names)
    assert netsurgeon.check(bn, bn_case).passed
    # The folded net computes Caffe's outputs (the folded-away blobs are gone).
    result = netsurgeon.check(folded, bn_case)
    assert result.passed and {row[0] for row in result.rows} >= set(bn.outputs)

    onnx_path = tmp_path / "mini.onnx"
    net.to_onnx(onnx_path)
    assert onnx_path.stat().st_size > 0
    ort = pytest.importorskip("onnxruntime")
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    (got,) = session.run(["prob"], {"data": x})
    golden = np.load(case / "blobs/prob.npy")
    assert np.max(np.abs(got - golden)) <= 1e-4 * np.max(np.abs(golden))
