"""Every public golden case (fixtures/golden/public: nets run by real Caffe,
every blob dumped) through caffe.Net(...).forward(**inputs): pycaffe's blob
order, layers, outputs, params, and every blob's values within 1e-4 of the
reference's largest magnitude."""

import json

import numpy as np
import pytest

import netsurgeon.caffe as caffe
from conftest import FIXTURES

PUBLIC = FIXTURES / "golden/public"
CASES = sorted(p.name for p in PUBLIC.iterdir() if (p / "case.json").exists())


def test_there_are_cases():
    assert len(CASES) >= 30


@pytest.mark.parametrize("name", CASES)
def test_case(name):
    case_dir = PUBLIC / name
    case = json.loads((case_dir / "case.json").read_text())
    net = caffe.Net(str(case_dir / case["prototxt"]), str(case_dir / case["caffemodel"]), caffe.TEST)
    assert list(net.blobs) == case["blobs"]
    assert [l["name"] for l in case["layers_runtime"]] == list(net._layer_names)
    for layer, listed in zip(net.layers, case["layers_runtime"]):
        assert layer.type == listed["type"]
        assert net.bottom_names[listed["name"]] == listed["bottoms"]
        assert net.top_names[listed["name"]] == listed["tops"]
    assert sorted(net.outputs) == sorted(case["outputs"])
    assert list(net.params) == list(case["params"])
    for layer, files in case["params"].items():
        for blob, spec in zip(net.params[layer], files):
            assert blob.data.shape == tuple(spec["shape"])
            assert np.array_equal(blob.data, np.load(case_dir / spec["file"]))
    inputs = {spec["name"]: np.load(case_dir / spec["file"]) for spec in case["inputs"]}
    out = net.forward(**inputs)
    assert set(out) == set(case["outputs"])
    for spec in case["blob_files"]:
        reference = np.load(case_dir / spec["file"])
        ours = net.blobs[spec["name"]].data
        assert ours.shape == reference.shape, spec["name"]
        scale = float(np.max(np.abs(reference))) if reference.size else 0.0
        err = float(np.max(np.abs(ours.astype(np.float64) - reference))) if reference.size else 0.0
        assert err <= 1e-4 * scale, f"{name}: blob {spec['name']} differs from Caffe's by {err} (scale {scale})"
    for output in case["outputs"]:
        assert np.shares_memory(out[output], net.blobs[output].data)
