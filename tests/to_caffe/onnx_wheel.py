"""Models the onnx wheel ships under onnx/backend/test/data, as cases for
tests/it/to_caffe.rs (the layout of grid.py's):

- family "pytorch": pytorch-converted/, PyTorch's own exports of its nn
  modules (Conv2d, AvgPool2d, PixelShuffle, PReLU, ZeroPad2d, ...) with the
  outputs PyTorch computed; written at opset 6, so brought to opset 13 by
  onnx's version_converter first (a model it cannot convert is skipped);
- family "light": light/, the classic zoo models (AlexNet, VGG-19, ZFNet,
  ResNet-50, Inception v1/v2, DenseNet-121, SqueezeNet, ShuffleNet, as
  Caffe2 exported them at opset 9, their weights stored as constants), with
  onnxruntime's outputs on a seeded input (the wheel ships no input).

Every reference comes from PyTorch or onnxruntime, never from netsurgeon.

usage: python onnx_wheel.py OUT_DIR  -> OUT_DIR/<case>/{model.onnx,input_<i>.npy,output_<o>.npy,case.json}, index.json
"""
import glob, json, os, sys
import numpy as np
import onnx
from onnx import numpy_helper, version_converter
import onnxruntime as ort

ort.set_default_logger_severity(3)
OUT = sys.argv[1]
DATA = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data")
cases = []


def save(name, family, model, inputs, outputs):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    onnx.save(model, os.path.join(d, "model.onnx"))
    for k, v in inputs.items():
        np.save(os.path.join(d, f"input_{k}.npy"), v)
    for k, v in outputs.items():
        np.save(os.path.join(d, f"output_{k}.npy"), np.asarray(v, np.float32))
    case = {"case": name, "family": family, "opset": model.opset_import[0].version,
            "inputs": {k: list(v.shape) for k, v in inputs.items()},
            "outputs": {k: list(np.shape(v)) for k, v in outputs.items()}}
    json.dump(case, open(os.path.join(d, "case.json"), "w"))
    cases.append(case)


def safe_names(model):
    """Graph inputs and outputs renamed without '/' (the case files are named
    after them), every reference to them with them."""
    renames = {v.name: v.name.replace("/", "_") for v in list(model.graph.input) + list(model.graph.output)
               if "/" in v.name}
    for v in list(model.graph.input) + list(model.graph.output):
        v.name = renames.get(v.name, v.name)
    for t in model.graph.initializer:
        t.name = renames.get(t.name, t.name)
    for n in model.graph.node:
        n.input[:] = [renames.get(x, x) for x in n.input]
        n.output[:] = [renames.get(x, x) for x in n.output]
    return model


def graph_inputs(model):
    inits = {i.name for i in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in inits]


for d in sorted(glob.glob(os.path.join(DATA, "pytorch-converted", "test_*"))):
    model = onnx.load(os.path.join(d, "model.onnx"))
    ins = [numpy_helper.to_array(onnx.load_tensor(f)) for f in sorted(glob.glob(os.path.join(d, "test_data_set_0", "input_*.pb")))]
    outs = [numpy_helper.to_array(onnx.load_tensor(f)) for f in sorted(glob.glob(os.path.join(d, "test_data_set_0", "output_*.pb")))]
    if any(a.dtype != np.float32 for a in ins) or any(a.dtype != np.float32 for a in outs):
        continue  # Caffe blobs are float
    try:
        model = version_converter.convert_version(model, 13)
        onnx.checker.check_model(model)
    except Exception:  # noqa: BLE001 - an op the converter cannot bring forward
        continue
    names = [i.name for i in graph_inputs(model)]
    if len(names) != len(ins):
        continue
    save(os.path.basename(d), "pytorch", model, dict(zip(names, ins)),
         dict(zip([o.name for o in model.graph.output], outs)))

rng = np.random.RandomState(11)
for f in sorted(glob.glob(os.path.join(DATA, "light", "*.onnx"))):
    model = safe_names(onnx.load(f))
    feeds = {}
    for i in graph_inputs(model):
        shape = [d.dim_value for d in i.type.tensor_type.shape.dim]
        feeds[i.name] = rng.uniform(-1, 1, shape).astype(np.float32)
    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    names = [o.name for o in model.graph.output]
    save(os.path.basename(f)[: -len(".onnx")], "light", model, feeds, dict(zip(names, sess.run(names, feeds))))

json.dump(cases, open(os.path.join(OUT, "index.json"), "w"))
print(f"{len(cases)} cases")
