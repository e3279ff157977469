#!/usr/bin/env python3
"""Every public model of fixtures/zoo against OpenCV's Caffe importer, blob by
blob, in tract and in onnxruntime.

Usage: compare.py [MODEL ...] [--json OUT.json] [--netsurgeon BIN] [--seed N]
                  [--tolerance 1e-4] [--work-dir DIR] [--keep] [--verbose]

For each model (all of fixtures/zoo, or the ones named):

1. The input shapes: `netsurgeon inspect --json`, batch set to 1, with the
   per-model sizes of MODELS below where the prototxt gives none (SegNet's
   DenseImageData) or a large one a smaller input computes the same layers for.
2. `netsurgeon synth-weights --seed N` (He weights, see graph-ir's synth.rs),
   `netsurgeon convert`, `netsurgeon run --all-blobs` (tract), and onnxruntime
   with every exported tensor made a graph output.
3. OpenCV (cv2.dnn.readNetFromCaffe(prototxt, weights)) on the same input,
   every layer's outputs asked of ONE fresh net in ONE forwardAndRetrieve call
   (asking a net for a single layer lets OpenCV fuse the layers after it into
   it, and a second query of a net that already ran gives wrong values).
   OpenCV names outputs by layer: top k of Caffe layer L is output k of
   OpenCV's layer L. The exported tensor holding it is the blob's name when L
   is the blob's last writer, else `<blob>.<L>` (an in-place chain: the value
   after L); Caffe's automatic Split copies are aliases in the export and not
   layers in OpenCV, so they are not compared twice.
   Known OpenCV deviations handled: Axpy (OpenCV computes a * bottom[2] +
   bottom[1]: its copy of the prototxt swaps the last two bottoms), duplicate
   layer names (its copy gets unique names, the weights are only on layers
   with unique names), DetectionOutput (OpenCV sorts rows by score across
   labels and pads with zero rows: rows compared as a set). LRN's k (OpenCV
   assumes 1) and MVN's eps (OpenCV adds it inside the square root) are noted
   when a model has them (none of the zoo does: k is 1 everywhere, no MVN).
4. Each blob passes when max|ours - opencv| <= tolerance * max|opencv|.
   A model passes when every compared blob passes in both runtimes.

Statuses: pass, fail (a blob off, or a runtime error), refused (netsurgeon
refuses the model: synth-weights or convert names the layer), opencv-cannot
(OpenCV cannot read or run it; then tract and onnxruntime are compared with
each other where affordable, as a note). Prints a table and writes the rows
(with per-model details: blobs OpenCV cannot give and why, the first blob
off per runtime, non-finite values, timings) as JSON to --json.

Needs numpy, onnx, onnxruntime and opencv-python(-headless) 4.x; tested with
Python 3.11, numpy 2.x, onnx 1.2x, onnxruntime 1.2x-1.3x, OpenCV 4.14.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))

# Per-model settings. "inputs": shapes given to every netsurgeon step (and to
# OpenCV); "cross_check": False skips the tract-vs-onnxruntime note of a model
# OpenCV cannot run (with the reason in "why"); "note": said in the table.
MODELS = {
    # Data layers with no shape (DenseImageData); the Upsample layers' fixed
    # upsample_h/upsample_w (23 x 30 ... 180 x 240) fix the input at 360 x 480.
    "segnet": {"inputs": {"data": [1, 3, 360, 480], "label": [1, 1, 360, 480]}},
    "segnet_basic": {"inputs": {"data": [1, 3, 360, 480], "label": [1, 1, 360, 480]}},
    "bayesian_segnet": {"inputs": {"data": [1, 3, 360, 480], "label": [1, 1, 360, 480]}},
    "bayesian_segnet_basic": {"inputs": {"data": [1, 3, 360, 480], "label": [1, 1, 360, 480]}},
    # ENet downsamples by 8 and upsamples with Pooling's masks: any multiple of 8.
    "enet": {"inputs": {"data": [1, 3, 256, 512]}},
    "enet_final": {"inputs": {"data": [1, 3, 256, 512]}},
    # Fully convolutional (pad 100 and Crop layers): any size.
    "fcn8s_voc": {"inputs": {"data": [1, 3, 224, 224]}},
    "hed": {"inputs": {"data": [1, 3, 224, 224]}},
    # The prototxts' 1 x 1 and 16 x 16 are placeholders "defined at runtime".
    "openpose_coco": {"inputs": {"image": [1, 3, 128, 128]}},
    "openpose_body25": {"inputs": {"image": [1, 3, 128, 128]}},
    # Darknet-53 at any multiple of 32.
    "yolov3_416": {"inputs": {"data": [1, 3, 320, 320]}},
    "yolov3_tiny": {"inputs": {"data": [1, 3, 320, 320]}},
    # Pyramid pooling kernels 60/30/20/10 (90/45/30/15 for Cityscapes) and
    # Interp to the same fixed size: only the prototxt's own input computes.
    "pspnet50_ade20k": {
        "cross_check": False,
        "why": "too slow for a note: dilated ResNet at 473 x 473 (~180 GFLOPs, 60 x 60 x 2048 blobs); "
        "the pyramid pooling kernels fix the input size",
    },
    "pspnet101_voc2012": {
        "cross_check": False,
        "why": "too slow for a note: dilated ResNet-101 at 473 x 473; the pyramid pooling kernels fix the input size",
    },
    "pspnet101_cityscapes": {
        "cross_check": False,
        "why": "too slow for a note: dilated ResNet-101 at 713 x 713; the pyramid pooling kernels fix the input size",
    },
}

DATA_LAYER_TYPES = {
    "Input", "INPUT", "Data", "DATA", "ImageData", "IMAGE_DATA", "DenseImageData", "MemoryData",
    "MEMORY_DATA", "HDF5Data", "HDF5_DATA", "WindowData", "WINDOW_DATA", "DummyData", "DUMMY_DATA",
}

# ---------------------------------------------------------------- prototxt


_TOKEN = re.compile(
    r"\s+|#[^\n]*|\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|[{}:\[\],;<>]|[^\s{}:\[\],;\"'#<>]+"
)


def parse_prototxt(text):
    """Protobuf text format as a list of (key, value): value is the raw token
    of a scalar (strings keep their quotes) or a list for a message."""
    tokens = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"prototxt: unexpected character at offset {pos}")
        pos = m.end()
        t = m.group(0)
        if not t[0].isspace() and t[0] != "#":
            tokens.append(t)
    i = 0

    def message(end):
        nonlocal i
        out = []
        while i < len(tokens) and tokens[i] != end:
            key = tokens[i]
            i += 1
            if i < len(tokens) and tokens[i] == ":":
                i += 1
            if tokens[i] in ("{", "<"):
                close = "}" if tokens[i] == "{" else ">"
                i += 1
                out.append((key, message(close)))
                i += 1
            elif tokens[i] == "[":
                i += 1
                while tokens[i] != "]":
                    if tokens[i] != ",":
                        out.append((key, tokens[i]))
                    i += 1
                i += 1
            else:
                out.append((key, tokens[i]))
                i += 1
            if i < len(tokens) and tokens[i] in (",", ";"):
                i += 1
        return out

    return message(None)


def unquote(raw):
    if raw and raw[0] in "\"'":
        body = raw[1:-1]
        if "\\" in body:
            body = body.encode("latin-1", "backslashreplace").decode("unicode_escape")
        return body
    return raw


def quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dump_prototxt(msg, indent=0):
    lines = []
    pad = "  " * indent
    for key, value in msg:
        if isinstance(value, list):
            lines.append(f"{pad}{key} {{")
            lines.extend(dump_prototxt(value, indent + 1))
            lines.append(f"{pad}}}")
        else:
            lines.append(f"{pad}{key}: {value}")
    return lines


def fields(msg, key):
    return [v for k, v in msg if k == key]


def field(msg, key, default=None):
    vs = fields(msg, key)
    return vs[0] if vs else default


def in_test_phase(layer):
    """NetStateRule filtering as Caffe's TEST phase does it (phase only)."""
    includes = fields(layer, "include")
    excludes = fields(layer, "exclude")
    if includes:
        if not any(field(r, "phase", "TEST") == "TEST" for r in includes):
            return False
    for r in excludes:
        if field(r, "phase") == "TEST":
            return False
    return True


class Layer:
    def __init__(self, index, msg):
        self.index = index
        self.msg = msg
        self.name = unquote(field(msg, "name", '""'))
        self.type = unquote(field(msg, "type", '""'))
        self.bottoms = [unquote(b) for b in fields(msg, "bottom")]
        self.tops = [unquote(t) for t in fields(msg, "top")]


def read_net(path):
    with open(path) as f:
        net = parse_prototxt(f.read())
    layers = [
        Layer(i, v) for i, (k, v) in enumerate((k, v) for k, v in net if k in ("layer", "layers")) if in_test_phase(v)
    ]
    inputs = [unquote(v) for k, v in net if k == "input"]
    for layer in layers:
        if layer.type in DATA_LAYER_TYPES:
            inputs.extend(layer.tops)
    return net, layers, inputs


def has_nested(msg, key):
    for k, v in msg:
        if k == key:
            return True
        if isinstance(v, list) and has_nested(v, key):
            return True
    return False


# ---------------------------------------------------------------- netsurgeon


class Refused(Exception):
    pass


def run_cmd(cmd, timeout, binary=None):
    """Runs cmd; waits for the binary if a rebuild removed it for a moment."""
    for attempt in range(10):
        if binary is None or os.path.exists(binary):
            break
        print(f"  ({binary} is missing, a rebuild? waiting 30 s)", file=sys.stderr)
        time.sleep(30)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def summarize_error(text, lines=2):
    text = text.strip()
    kept = [l.strip() for l in text.splitlines() if l.strip()][:lines]
    s = " / ".join(kept)
    return s[:400]


def input_args(shapes):
    out = []
    for name, dims in shapes.items():
        out += ["--input", f"{name}={','.join(str(d) for d in dims)}"]
    return out


# ---------------------------------------------------------------- comparison


def compare(ours, ref, tolerance):
    """(max_abs, max_ref, rel, passed), the project's rule; NaN == NaN and
    inf == inf count as equal."""
    ours = np.asarray(ours, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    same = (ours == ref) | (np.isnan(ours) & np.isnan(ref))
    with np.errstate(invalid="ignore"):
        diff = np.where(same, 0.0, np.abs(ours - ref))
    if diff.size == 0:
        max_abs = 0.0
    elif np.isnan(diff).any():
        max_abs = float("nan")
    else:
        max_abs = float(diff.max())
    finite = ref[np.isfinite(ref)]
    max_ref = float(np.abs(finite).max()) if finite.size else 0.0
    if max_abs == 0.0:
        rel = 0.0
    elif max_ref == 0.0 or np.isnan(max_abs):
        rel = float("inf")
    else:
        rel = max_abs / max_ref
    passed = max_abs == 0.0 or (not np.isnan(max_abs) and max_abs <= tolerance * max_ref)
    return max_abs, max_ref, rel, passed


def detection_rows(a):
    """The detection rows [image, label, score, x0, y0, x1, y1] of a
    DetectionOutput blob, without OpenCV's zero padding and the fork's
    no-detection row (label -1)."""
    rows = np.asarray(a, dtype=np.float64).reshape(-1, 7)
    keep = ~np.all(rows == 0, axis=1) & (rows[:, 1] != -1)
    return rows[keep]


def compare_detections(ours, ref, tolerance):
    """Rows compared as a set: each of ours matched to the nearest unmatched
    row of ref with the same label. Returns compare()'s tuple and a note."""
    a, b = detection_rows(ours), detection_rows(ref)
    if len(a) != len(b):
        return (float("inf"), 0.0, float("inf"), False), f"{len(a)} detection rows vs OpenCV's {len(b)}"
    if len(a) == 0:
        return (0.0, 0.0, 0.0, True), "no detections (both empty)"
    used = np.zeros(len(b), dtype=bool)
    matched = np.zeros_like(b)
    for i, row in enumerate(a):
        cand = np.where(~used & (b[:, 1] == row[1]))[0]
        if cand.size == 0:
            return (float("inf"), 0.0, float("inf"), False), f"label {row[1]:g} has more rows than OpenCV's"
        d = np.abs(b[cand] - row).max(axis=1)
        j = cand[int(np.argmin(d))]
        used[j] = True
        matched[i] = b[j]
    return compare(a, matched, tolerance), f"{len(a)} detection rows, compared as a set"


# ---------------------------------------------------------------- OpenCV


def opencv_prototxt(net, layers, shapes, out_path):
    """OpenCV's copy of the prototxt: Axpy's last two bottoms swapped,
    duplicate layer names made unique, data layers other than Input replaced
    by input declarations. Returns (path, {caffe layer index: opencv name},
    notes)."""
    notes = []
    changed = False
    names = {}
    seen = {}
    taken = {l.name for l in layers}
    keep_index = {l.index for l in layers}
    out = []
    layer_i = -1
    data_inputs = []
    for key, value in net:
        if key not in ("layer", "layers"):
            out.append((key, value))
            continue
        layer_i += 1
        if layer_i not in keep_index:
            changed = True  # phase-filtered: OpenCV would not filter it
            continue
        layer = next(l for l in layers if l.index == layer_i)
        msg = list(value)
        if layer.type in DATA_LAYER_TYPES and layer.type not in ("Input", "INPUT"):
            data_inputs.extend(layer.tops)
            changed = True
            continue
        if layer.type == "Axpy" and len(layer.bottoms) == 3:
            bottoms = [v for k, v in msg if k == "bottom"]
            swapped = [bottoms[0], bottoms[2], bottoms[1]]
            it = iter(swapped)
            msg = [(k, next(it)) if k == "bottom" else (k, v) for k, v in msg]
            changed = True
        name = layer.name
        count = seen.get(name, 0)
        seen[name] = count + 1
        if count:
            new = f"{name}_dup{count}"
            while new in taken:
                new += "_"
            taken.add(new)
            msg = [(k, quote(new)) if k == "name" else (k, v) for k, v in msg]
            notes.append(f"layer name '{name}' repeated: OpenCV's copy calls #{count + 1} '{new}'")
            name = new
            changed = True
        names[layer.index] = name
        out.append((key, msg))
    if any(l.type == "Axpy" for l in layers):
        notes.append("Axpy: OpenCV's copy swaps bottoms 1 and 2 (OpenCV computes a * bottom[2] + bottom[1])")
    for l in layers:
        if l.type in ("LRN",) and has_nested(l.msg, "k"):
            k = field(field(l.msg, "lrn_param", []), "k", "1")
            if float(k) != 1.0:
                notes.append(f"LRN '{l.name}' has k = {k}: OpenCV assumes 1")
        if l.type == "MVN":
            notes.append(f"MVN '{l.name}': OpenCV adds eps inside the square root")
    if data_inputs:
        head = []
        for name in data_inputs:
            head.append(("input", quote(name)))
            head.append(("input_shape", [("dim", str(d)) for d in shapes[name]]))
        out = head + out
    if not changed:
        return None, names, notes
    with open(out_path, "w") as f:
        f.write("\n".join(dump_prototxt(out)) + "\n")
    return out_path, names, notes


def opencv_blobs(prototxt, weights, feeds, ocv_names):
    """{opencv layer name: tuple of its outputs} from one fresh net and one
    forwardAndRetrieve of every layer; or raises with OpenCV's message."""
    import cv2

    net = cv2.dnn.readNetFromCaffe(prototxt, weights)
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    available = set(net.getLayerNames())
    wanted = [n for n in ocv_names if n in available]
    for name, value in feeds.items():
        net.setInput(value, name)
    outs = net.forwardAndRetrieve(wanted)
    return {n: tuple(np.asarray(o) for o in out) for n, out in zip(wanted, outs)}, available


def opencv_error(e):
    text = str(e).strip()
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    # OpenCV's messages: "OpenCV(4.x) file:line: error: (-2:...) text in function 'f'" + "> detail" lines.
    main = lines[0] if lines else text
    m = re.search(r"error: \([^)]*\) (.*)", main)
    if m:
        main = m.group(1)
    detail = [l for l in lines[1:] if l.startswith(">")]
    s = main + (" " + " ".join(detail[:2]) if detail else "")
    return s[:300]


# ---------------------------------------------------------------- runtimes


def run_tract(binary, onnx_path, input_files, out_dir, timeout):
    cmd = [binary, "run", onnx_path, "--out-dir", out_dir, "--all-blobs", "--force"]
    for name, path in input_files.items():
        cmd += ["--input", f"{name}={path}"]
    p = run_cmd(cmd, timeout, binary)
    if p.returncode != 0:
        raise RuntimeError(summarize_error(p.stderr or p.stdout))
    files = {}
    for line in p.stdout.splitlines():
        m = re.match(r"^(.*) \(([^()]*)\) -> (.*)$", line)
        if m:
            files[m.group(1)] = m.group(3)
    if not files:  # older output formats: names from the files ("/" as "__")
        for f in os.listdir(out_dir):
            if f.endswith(".npy"):
                files[f[:-4].replace("__", "/")] = os.path.join(out_dir, f)
    return files


def run_onnxruntime(onnx_path, feeds, wanted):
    import onnx
    import onnxruntime as ort

    model = onnx.load(onnx_path)
    graph = model.graph
    produced = {o for n in graph.node for o in n.output if o}
    outputs = [o.name for o in graph.output]
    types = {v.name: v.type.tensor_type.elem_type for v in graph.value_info}
    extra = [n for n in wanted if n in produced and n not in outputs]
    for name in extra:
        graph.output.append(
            onnx.helper.make_tensor_value_info(name, types.get(name) or onnx.TensorProto.FLOAT, None)
        )
    initializers = {t.name for t in graph.initializer}
    graph_inputs = [i.name for i in graph.input if i.name not in initializers]
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    fetch = outputs + extra
    values = session.run(fetch, {k: v for k, v in feeds.items() if k in graph_inputs})
    result = dict(zip(fetch, values))
    for k in graph_inputs:
        if k in feeds:
            result.setdefault(k, feeds[k])
    return result


def onnx_check(onnx_path):
    import onnx

    try:
        onnx.checker.check_model(onnx_path, full_check=True)
        return None
    except Exception as e:  # the checker raises several exception types
        return summarize_error(str(e), 1)


def onnx_graph_inputs(onnx_path):
    import onnx

    model = onnx.load(onnx_path, load_external_data=False)
    initializers = {t.name for t in model.graph.initializer}
    return [i.name for i in model.graph.input if i.name not in initializers]


# ---------------------------------------------------------------- one model


def fmt_rel(v):
    if v is None:
        return "-"
    if v != v or v == float("inf"):
        return "inf" if v == float("inf") else "nan"
    return f"{v:.1e}"


def check_model(model, args, work):
    t0 = time.time()
    row = {
        "model": model,
        "status": None,
        "blobs_compared": 0,
        "worst_rel_tract": None,
        "worst_rel_ort": None,
        "note": "",
        "inputs": {},
        "opencv_cannot_give": [],
        "first_off_tract": None,
        "first_off_ort": None,
        "off_blobs": [],
        "nonfinite_opencv": [],
        "detections": None,
        "onnx_checker": None,
        "seconds": {},
    }
    notes = []
    cfg = MODELS.get(model, {})
    proto = os.path.join(args.zoo, model, "deploy.prototxt")
    binary = args.netsurgeon
    net, layers, inputs = read_net(proto)

    def finish(status, note_extra=None):
        row["status"] = status
        if note_extra:
            notes.insert(0, note_extra)
        row["note"] = "; ".join(n for n in notes if n)
        row["seconds"]["total"] = round(time.time() - t0, 1)
        return row

    # 1. input shapes
    overrides = cfg.get("inputs", {})
    p = run_cmd([binary, "inspect", proto, "--json"] + input_args(overrides), args.timeout, binary)
    shapes = {}
    if p.returncode == 0:
        listed = {b["name"]: b.get("shape") for b in json.loads(p.stdout)["blobs"]}
        for name in inputs:
            if name in overrides:
                shapes[name] = list(overrides[name])
            elif listed.get(name):
                dims = list(listed[name])
                dims[0] = 1
                shapes[name] = dims
    else:
        for name in inputs:
            if name in overrides:
                shapes[name] = list(overrides[name])
    missing = [n for n in inputs if n not in shapes]
    if p.returncode != 0 and not missing:
        pass  # inspect refused; synth-weights / convert say why below
    row["inputs"] = shapes

    # 2. netsurgeon: weights, export
    weights = os.path.join(work, "weights.caffemodel")
    onnx_path = os.path.join(work, "model.onnx")
    ts = time.time()
    step = [binary, "synth-weights", proto, "-o", weights, "--seed", str(args.seed), "--force", "-q"]
    p = run_cmd(step + input_args(shapes), args.timeout, binary)
    if p.returncode != 0:
        row["seconds"]["netsurgeon"] = round(time.time() - ts, 1)
        ocv = opencv_reads(proto)
        return finish("refused", "synth-weights: " + summarize_error(p.stderr or p.stdout) + ocv)
    step = [binary, "convert", proto, "--weights", weights, "-o", onnx_path, "--force", "-q"]
    p = run_cmd(step + input_args(shapes), args.timeout, binary)
    row["seconds"]["netsurgeon"] = round(time.time() - ts, 1)
    if p.returncode != 0:
        ocv = opencv_reads(proto)
        return finish("refused", "convert: " + summarize_error(p.stderr or p.stdout) + ocv)

    rng = np.random.RandomState(args.seed)
    feeds = {}
    input_files = {}
    graph_inputs = onnx_graph_inputs(onnx_path)
    for name in inputs:
        if name not in shapes:
            continue
        if name not in graph_inputs:
            continue  # e.g. a data layer's label top that the net does not read
        feeds[name] = rng.standard_normal(shapes[name]).astype(np.float32)
        path = os.path.join(work, f"input_{len(input_files)}.npy")
        np.save(path, feeds[name])
        input_files[name] = path
    row["onnx_checker"] = onnx_check(onnx_path) if not args.no_checker else None
    if row["onnx_checker"]:
        notes.append("onnx checker: " + row["onnx_checker"])

    # 3. OpenCV
    ts = time.time()
    ocv_proto, ocv_names, ocv_notes = opencv_prototxt(net, layers, shapes, os.path.join(work, "opencv.prototxt"))
    notes.extend(ocv_notes)
    compute_layers = [l for l in layers if l.type not in DATA_LAYER_TYPES and l.tops]
    ocv = None
    ocv_fail = None
    try:
        ocv, ocv_available = opencv_blobs(
            ocv_proto or proto, weights, {k: v for k, v in feeds.items() if k in inputs},
            [ocv_names[l.index] for l in compute_layers],
        )
    except Exception as e:
        ocv_fail = opencv_error(e)
    row["seconds"]["opencv"] = round(time.time() - ts, 1)

    # What the export calls each (layer, top).
    last_writer = {}
    for l in layers:
        for t in l.tops:
            last_writer[t] = l.index
    pairs = []  # (layer, top index, tensor name)
    for l in compute_layers:
        for k, t in enumerate(l.tops):
            tensor = t if last_writer[t] == l.index else f"{t}.{l.name}"
            pairs.append((l, k, tensor))
    wanted = [tensor for _, _, tensor in pairs]

    if ocv_fail is not None and not cfg.get("cross_check", True):
        return finish("opencv-cannot", f"OpenCV: {ocv_fail}; tract/onnxruntime not run: {cfg.get('why', '')}")

    # 4. tract and onnxruntime
    ts = time.time()
    tract_files, tract_error = {}, None
    try:
        tract_files = run_tract(binary, onnx_path, input_files, os.path.join(work, "tract"), args.timeout)
    except subprocess.TimeoutExpired:
        tract_error = f"timed out after {args.timeout} s"
    except Exception as e:
        tract_error = str(e)
    row["seconds"]["tract"] = round(time.time() - ts, 1)
    ts = time.time()
    ort_values, ort_error = {}, None
    try:
        ort_values = run_onnxruntime(onnx_path, feeds, wanted)
    except Exception as e:
        ort_error = summarize_error(str(e), 1)
    row["seconds"]["ort"] = round(time.time() - ts, 1)
    if tract_error:
        notes.append(f"tract: {tract_error}")
    if ort_error:
        notes.append(f"onnxruntime: {ort_error}")

    def tract_value(name):
        path = tract_files.get(name)
        return None if path is None else np.load(path)

    if ocv_fail is not None:
        # No reference: tract and onnxruntime against each other, as a note.
        worst, n = 0.0, 0
        first = None
        for l, k, tensor in pairs:
            a = tract_value(tensor)
            b = ort_values.get(tensor)
            if a is None or b is None or a.shape != np.asarray(b).shape:
                continue
            _, _, rel, ok = compare(a, b, args.tolerance)
            n += 1
            worst = max(worst, rel)
            if not ok and first is None:
                first = tensor
        cross = f"tract vs onnxruntime: {n} blobs, worst rel {fmt_rel(worst)}" + (
            f", first off {first}" if first else ""
        )
        if tract_error or ort_error:
            cross = "tract vs onnxruntime not compared (a runtime failed)"
        return finish("opencv-cannot", f"OpenCV: {ocv_fail}; {cross}")

    # 5. every blob against OpenCV
    worst = {"tract": 0.0, "ort": 0.0}
    compared = 0
    off = []
    first = {"tract": None, "ort": None}
    cannot = []
    nonfinite = []
    for l, k, tensor in pairs:
        oname = ocv_names[l.index]
        if oname not in ocv_available:
            cannot.append({"blob": tensor, "layer": l.name, "why": f"OpenCV has no layer '{oname}' ({l.type})"})
            continue
        outs = ocv.get(oname, ())
        if k >= len(outs):
            cannot.append(
                {"blob": tensor, "layer": l.name, "why": f"OpenCV's {l.type} '{oname}' gives {len(outs)} outputs"}
            )
            continue
        ref = outs[k]
        if ref.size and not np.isfinite(ref).all():
            bad = int((~np.isfinite(ref)).sum())
            nonfinite.append({"blob": tensor, "count": bad, "of": int(ref.size)})
        values = {"tract": tract_value(tensor), "ort": ort_values.get(tensor)}
        if values["tract"] is None and values["ort"] is None:
            cannot.append({"blob": tensor, "layer": l.name, "why": "no such tensor in the export"})
            continue
        blob_ok = True
        for rt in ("tract", "ort"):
            v = values[rt]
            if v is None:
                if (rt == "tract" and not tract_error) or (rt == "ort" and not ort_error):
                    notes.append(f"{rt} did not give '{tensor}'")
                    blob_ok = False
                continue
            v = np.asarray(v)
            detail = None
            if l.type == "DetectionOutput":
                (max_abs, max_ref, rel, ok), detail = compare_detections(v, ref, args.tolerance)
                row["detections"] = detail
            elif v.shape != ref.shape:
                if v.size == ref.size:
                    max_abs, max_ref, rel, ok = compare(v.reshape(ref.shape), ref, args.tolerance)
                    detail = f"shape {list(v.shape)} vs OpenCV's {list(ref.shape)}"
                else:
                    max_abs, max_ref, rel, ok = float("inf"), 0.0, float("inf"), False
                    detail = f"shape {list(v.shape)} vs OpenCV's {list(ref.shape)}"
            else:
                max_abs, max_ref, rel, ok = compare(v, ref, args.tolerance)
            worst[rt] = max(worst[rt], rel) if rel == rel else float("inf")
            if not ok:
                blob_ok = False
                entry = {
                    "runtime": rt, "blob": tensor, "layer": l.name, "type": l.type,
                    "max_abs": max_abs, "max_ref": max_ref, "rel": rel, "detail": detail,
                }
                off.append(entry)
                if first[rt] is None:
                    first[rt] = entry
            if args.verbose:
                print(
                    f"    {rt:5} {tensor:50} {l.type:18} {str(list(v.shape)):22} rel {fmt_rel(rel)}"
                    f"{'' if ok else '  OFF'}{'  ' + detail if detail else ''}"
                )
        compared += 1
    row["blobs_compared"] = compared
    row["worst_rel_tract"] = None if tract_error else worst["tract"]
    row["worst_rel_ort"] = None if ort_error else worst["ort"]
    row["opencv_cannot_give"] = cannot
    row["first_off_tract"] = first["tract"]
    row["first_off_ort"] = first["ort"]
    row["off_blobs"] = off[:50]
    row["nonfinite_opencv"] = nonfinite
    if cannot:
        notes.append(f"OpenCV cannot give {len(cannot)}: " + ", ".join(f"{c['blob']} ({c['why']})" for c in cannot[:3]))
    if nonfinite:
        notes.append(f"{len(nonfinite)} OpenCV blobs hold inf/nan (first {nonfinite[0]['blob']})")
    if row["detections"]:
        notes.append(row["detections"])
    for rt in ("tract", "ort"):
        e = first[rt]
        if e:
            notes.append(
                f"{rt}: {sum(1 for o in off if o['runtime'] == rt)} blobs off, first {e['blob']} ({e['type']}) "
                f"rel {fmt_rel(e['rel'])}" + (f" [{e['detail']}]" if e["detail"] else "")
            )
    failed = bool(off) or tract_error or ort_error or row["onnx_checker"] or any(
        "did not give" in n for n in notes
    )
    if compared == 0:
        failed = True
        notes.append("no blob compared")
    return finish("fail" if failed else "pass")


def opencv_reads(proto):
    """For a model netsurgeon refuses: whether OpenCV reads its prototxt."""
    try:
        import cv2

        cv2.dnn.readNetFromCaffe(proto)
        return ""
    except Exception as e:
        return f" (OpenCV cannot read it either: {opencv_error(e)})"


# ---------------------------------------------------------------- main


def print_table(rows):
    header = ("model", "status", "blobs", "worst rel (tract)", "worst rel (ort)", "note")
    table = [
        (
            r["model"], r["status"], str(r["blobs_compared"]), fmt_rel(r["worst_rel_tract"]),
            fmt_rel(r["worst_rel_ort"]), r["note"],
        )
        for r in rows
    ]
    widths = [max(len(header[i]), *(len(t[i]) for t in table)) for i in range(5)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths) + "  {}"
    print(fmt.format(*header))
    for t in table:
        print(fmt.format(*t))


def jsonable(x):
    if isinstance(x, float) and (x != x or x in (float("inf"), float("-inf"))):
        return str(x)
    if isinstance(x, dict):
        return {k: jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, (np.floating, np.integer)):
        return jsonable(x.item())
    return x


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", help="models of the zoo (default: all)")
    parser.add_argument("--zoo", default=os.path.join(ROOT, "fixtures", "zoo"))
    parser.add_argument(
        "--netsurgeon",
        default=os.environ.get("NETSURGEON_BIN", os.path.join(ROOT, "target", "debug", "netsurgeon")),
    )
    parser.add_argument("--json", help="write the rows here")
    parser.add_argument("--seed", type=int, default=1, help="synthetic weights' and input's seed (default 1)")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per netsurgeon step")
    parser.add_argument("--work-dir", help="keep each model's files here (default: a temporary directory)")
    parser.add_argument("--keep", action="store_true", help="keep the work files")
    parser.add_argument("--no-checker", action="store_true", help="skip onnx's full check")
    parser.add_argument("--verbose", action="store_true", help="print every blob's comparison")
    args = parser.parse_args()

    import cv2
    import onnx
    import onnxruntime

    print(
        f"OpenCV {cv2.__version__}, onnx {onnx.__version__}, onnxruntime {onnxruntime.__version__}, "
        f"numpy {np.__version__}; netsurgeon {args.netsurgeon}; seed {args.seed}, tolerance {args.tolerance:g}",
        flush=True,
    )
    models = args.models or sorted(
        d for d in os.listdir(args.zoo) if os.path.isfile(os.path.join(args.zoo, d, "deploy.prototxt"))
    )
    unknown = [m for m in models if not os.path.isfile(os.path.join(args.zoo, m, "deploy.prototxt"))]
    if unknown:
        print(f"no such model in {args.zoo}: {', '.join(unknown)}", file=sys.stderr)
        return 2
    root = args.work_dir or tempfile.mkdtemp(prefix="zoo_opencv.")
    rows = []
    start = time.time()
    for model in models:
        work = os.path.join(root, model)
        os.makedirs(work, exist_ok=True)
        print(f"== {model}", flush=True)
        try:
            row = check_model(model, args, work)
        except Exception:
            row = {
                "model": model, "status": "fail", "blobs_compared": 0, "worst_rel_tract": None,
                "worst_rel_ort": None, "note": "compare.py error: " + traceback.format_exc().strip().splitlines()[-1],
                "traceback": traceback.format_exc(),
            }
        print(
            f"   {row['status']}: {row['blobs_compared']} blobs, worst rel tract {fmt_rel(row['worst_rel_tract'])}, "
            f"ort {fmt_rel(row['worst_rel_ort'])}; {row.get('seconds', {})}; {row['note']}",
            flush=True,
        )
        rows.append(row)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    if not args.keep and not args.work_dir:
        shutil.rmtree(root, ignore_errors=True)
    total = time.time() - start
    print()
    print_table(rows)
    counts = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    print(f"{len(rows)} models: " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())) + f"; {total:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                jsonable({"tolerance": args.tolerance, "seed": args.seed, "seconds": round(total, 1), "models": rows}),
                f, indent=1,
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
