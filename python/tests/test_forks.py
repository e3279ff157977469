"""The fork layers' and the extra layers' golden cases (fixtures/golden/forks,
forks2, layers: references from OpenCV's Caffe importer or a transcription
of the fork's code, as each case's `engine` says) through caffe.Net."""

import json

import numpy as np
import pytest

import netsurgeon.caffe as caffe
from conftest import FIXTURES

# tract has no operator for these; the ONNX export itself runs in onnxruntime.
TRACT_LACKS = {"roi_pooling": "MaxRoiPool"}


def cases(folder):
    root = FIXTURES / "golden" / folder
    index = json.loads((root / "index.json").read_text())
    return [(folder, c["case"]) for c in index]


ALL = cases("forks") + cases("forks2") + cases("layers")


def test_every_case_is_here():
    assert len(ALL) == 5 + 14 + 9


@pytest.mark.parametrize("folder,name", ALL, ids=[f"{f}/{n}" for f, n in ALL])
def test_case(folder, name):
    case_dir = FIXTURES / "golden" / folder / name
    case = json.loads((case_dir / "case.json").read_text())
    weights = case_dir / case["caffemodel"] if case.get("caffemodel") else None
    net = caffe.Net(str(case_dir / case["prototxt"]), caffe.TEST, weights=weights and str(weights))
    assert set(net.blobs) == set(case["blobs"])
    inputs = {spec["name"]: np.load(case_dir / spec["file"]) for spec in case["inputs"]}
    if name in TRACT_LACKS:
        with pytest.raises(Exception, match=TRACT_LACKS[name]):
            net.forward(**inputs)
        return
    net.forward(**inputs)
    checked = 0
    for spec in case["blob_files"]:
        path = case_dir / spec["file"]
        reference = np.load(path)
        ours = net.blobs[spec["name"]].data
        assert ours.shape == reference.shape, spec["name"]
        scale = float(np.max(np.abs(reference))) if reference.size else 0.0
        err = float(np.max(np.abs(ours.astype(np.float64) - reference))) if reference.size else 0.0
        assert err <= 1e-4 * max(scale, 1e-30), f"{folder}/{name}: blob {spec['name']} off by {err} (scale {scale})"
        checked += 1
    assert checked > 0
