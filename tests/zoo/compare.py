#!/usr/bin/env python3
"""Every public model of fixtures/zoo against OpenCV's Caffe importer, blob by
blob, in tract and in onnxruntime.

Usage: compare.py [MODEL ...] [--json OUT.json] [--netsurgeon BIN] [--seed N]
                  [--tolerance 1e-4] [--input-std 1] [--work-dir DIR] [--keep]
                  [--no-checker] [--max-local N] [--verbose]

For each model (all of fixtures/zoo, or the ones named):

1. The input shapes: `netsurgeon inspect --json`, batch set to 1, or the
   sizes of MODELS below where the prototxt gives none (SegNet's
   DenseImageData), gives a placeholder (OpenPose) or a large one that a
   smaller input computes the same layers for (FCN, HED, YOLOv3, ENet).
   The input is seeded Gaussian noise.
2. `netsurgeon synth-weights --seed N` (He weights, see graph-ir's synth.rs),
   `netsurgeon convert`, onnx's full check, `netsurgeon run --all-blobs`
   (tract; where that fails, `run` of a copy whose graph outputs are the
   blobs), and onnxruntime with every blob's tensor made a graph output.
3. OpenCV (cv2.dnn.readNetFromCaffe(prototxt, weights), Winograd off) on the
   same input: every layer's outputs from ONE fresh net in ONE
   forwardAndRetrieve call (asking a net for one layer lets OpenCV fuse the
   layers after it into it, and a second query of a net that already ran
   gives wrong values). OpenCV protects only output 0 of each asked layer
   from reuse, so a layer with several tops (Slice) is asked of a fresh net
   of its own, which stops there.
   OpenCV names outputs by layer (a Convolution whose top is not its name by
   its top): top k of Caffe layer L is output k of OpenCV's layer L. The
   exported tensor holding it is the blob's name when L is the blob's last
   writer, else `<blob>.<L>`: in-place chains are compared value by value,
   the final value under the blob's name. Caffe's automatic Split copies are
   aliases in the export and no layer in OpenCV: not compared twice.
   OpenCV's copy of the prototxt, where needed: Axpy's last two bottoms
   swapped (OpenCV computes a * bottom[2] + bottom[1]), repeated layer names
   made unique (HED's five "crop"), DeepLab's `hole` written as `dilation`
   (OpenCV refuses it; the fork's hole is the dilation), YOLO's nearest
   Upsample written as a depthwise Deconvolution of ones with kernel =
   stride = scale (OpenCV has no Caffe Upsample; the same numbers; its weights
   appended to a copy of the .caffemodel). DetectionOutput rows are compared
   as a set (OpenCV sorts them by score across labels and pads with zero
   rows). LRN's k (OpenCV assumes 1) and MVN's eps (OpenCV adds it inside the
   square root) are noted where a model has them (none in the zoo).
4. Each blob passes when max|ours - opencv| <= tolerance * max|opencv|; a
   model passes when every compared blob passes in both runtimes. Each blob
   that does not is checked once more with its layer alone (the nodes of the
   export between the layer's bottoms and its top) on OpenCV's values of its
   bottoms: passing there means the layer is right and the whole-model
   deviation is rounding carried from before.

Statuses: pass; fail (a blob off, a runtime error, or a blob a runtime does
not give); refused (netsurgeon refuses the model: synth-weights or convert
names the layer); opencv-cannot (OpenCV cannot read or run it: tract and
onnxruntime are then compared with each other, as a note, where affordable).
Prints a table and writes the rows (with per-model details: the blobs OpenCV
cannot give and why, the first blob off per runtime and the layer-alone
results, non-finite values, the largest activation, timings) as JSON to
--json. Exits 0 when the table was made, whatever the statuses.

Needs numpy, onnx, onnxruntime and opencv-python(-headless) 4.x; tested with
Python 3.11, numpy 2.4.6, onnx 1.23.2, onnxruntime 1.32.0, OpenCV 4.14.0.
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
# OpenCV); "input_std": the random input's standard deviation (default
# --input-std, 1); "cross_check": False skips the tract-vs-onnxruntime note of
# a model OpenCV cannot run (with the reason in "why"); "note": said in the
# table.
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
    # Squeeze-and-excitation on synthetic weights: with inputs of std 1 the
    # residual stream grows (BatchNorm's synthetic statistics do not
    # normalize it) and the gates' Sigmoid inputs span +-300, where 1e-5 of
    # rounding in the 1x1 convolution before is 1e-4 of the Sigmoid's output
    # at its steepest (each such blob matches OpenCV with its layer run alone
    # on OpenCV's inputs). With std 0.1 the gates stay in a trained net's range.
    "se_resnet_50": {"input_std": 0.1, "note": "input std 0.1 (SE gates saturate at 1)"},
    "se_resnext_50": {"input_std": 0.1, "note": "input std 0.1 (SE gates saturate at 1)"},
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


def input_shapes(binary, proto, inputs, overrides, timeout):
    """Each input's shape: the table's override, else `inspect`'s with batch 1
    (inputs with neither are left out); and every blob's shape `inspect`
    gives, by name."""
    p = run_cmd([binary, "inspect", proto, "--json"] + input_args(overrides), timeout, binary)
    listed = {b["name"]: b.get("shape") for b in json.loads(p.stdout)["blobs"]} if p.returncode == 0 else {}
    shapes = {}
    for name in inputs:
        if name in overrides:
            shapes[name] = list(overrides[name])
        elif listed.get(name):
            shapes[name] = [1] + list(listed[name][1:])
    return shapes, listed


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


def _varint(n):
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number, payload):
    """A length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def encode_layer(name, type_name, blobs):
    """A caffe.LayerParameter (name, type, blobs) as NetParameter's field
    `layer` (100): appended to a .caffemodel, it adds a layer's weights."""
    body = _field(1, name.encode()) + _field(2, type_name.encode())
    for b in blobs:
        shape = _field(1, b"".join(_varint(int(d)) for d in b.shape))
        body += _field(7, _field(7, shape) + _field(5, np.ascontiguousarray(b, dtype="<f4").tobytes()))
    return _field(100, body)


def opencv_prototxt(net, layers, shapes, out_path, listed=None):
    """OpenCV's copy of the prototxt (see the module's doc), written to
    out_path when it differs from the model's own. Returns (path or None,
    {caffe layer index: opencv layer name}, notes, [(layer, type, blobs)]
    to add to OpenCV's copy of the weights)."""
    notes, dups, holes, upsamples = [], [], [], []
    extra_weights = []  # (layer name, type, blobs) for OpenCV's copy of the weights
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
        conv = field(msg, "convolution_param")
        if conv is not None and any(k == "hole" for k, _ in conv):
            # DeepLab's fork: `hole` is the dilation (its im2col reads a
            # kernel k + (k - 1)(hole - 1) wide); OpenCV refuses a
            # convolution_param holding it ("kernel[i] > 0" in getKernelSize).
            conv = [("dilation" if k == "hole" else k, v) for k, v in conv]
            msg = [(k, conv) if k == "convolution_param" else (k, v) for k, v in msg]
            holes.append(layer.name)
            changed = True
        up = field(msg, "upsample_param")
        channels = (listed or {}).get(layer.bottoms[0]) if layer.bottoms else None
        if key == "layer" and layer.type == "Upsample" and len(layer.bottoms) == 1 and up is not None and channels:
            # The YOLO ports' Upsample: nearest, an integer `scale`. OpenCV
            # has no Caffe Upsample; a depthwise Deconvolution of ones with
            # kernel = stride = scale writes each input value to its scale x
            # scale block, the same numbers.
            keys = {k for k, _ in up}
            scale = field(up, "scale")
            if keys == {"scale"} and scale is not None and float(scale) == int(float(scale)) >= 1:
                sc, c = int(float(scale)), int(channels[1])
                new = f"{layer.name}__as_deconv"
                msg = [
                    ("name", quote(new)), ("type", '"Deconvolution"'),
                    ("bottom", quote(layer.bottoms[0])), ("top", quote(layer.tops[0])),
                    ("convolution_param", [
                        ("num_output", str(c)), ("group", str(c)), ("kernel_size", str(sc)),
                        ("stride", str(sc)), ("bias_term", "false"),
                    ]),
                ]
                extra_weights.append((new, "Deconvolution", [np.ones((c, 1, sc, sc), np.float32)]))
                upsamples.append(layer.name)
                names[layer.index] = new
                out.append((key, msg))
                changed = True
                continue
        name = layer.name
        count = seen.get(name, 0)
        seen[name] = count + 1
        if count:
            new = f"{name}_dup{count}"
            while new in taken:
                new += "_"
            taken.add(new)
            msg = [(k, quote(new)) if k == "name" else (k, v) for k, v in msg]
            dups.append(new)
            name = new
            changed = True
        names[layer.index] = name
        out.append((key, msg))
    if upsamples:
        notes.append(
            f"YOLO's nearest Upsample given to OpenCV as a depthwise Deconvolution of ones ({len(upsamples)} layers)"
        )
    if holes:
        notes.append(f"DeepLab's hole given to OpenCV as dilation ({len(holes)} layers)")
    if dups:
        notes.append(f"repeated layer names made unique for OpenCV: {', '.join(dups)}")
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
            if name not in shapes:
                continue
            head.append(("input", quote(name)))
            head.append(("input_shape", [("dim", str(d)) for d in shapes[name]]))
        out = head + out
    if not changed:
        return None, names, notes, extra_weights
    with open(out_path, "w") as f:
        f.write("\n".join(dump_prototxt(out)) + "\n")
    return out_path, names, notes, extra_weights


def opencv_blobs(prototxt, weights, feeds, compute_layers, ocv_names):
    """Every layer's outputs from ONE fresh net and ONE forwardAndRetrieve:
    ({opencv layer name: tuple of outputs}, {name: type}, {caffe layer index:
    opencv name or None}, notes); raises with OpenCV's message."""
    import cv2

    def fresh():
        net = cv2.dnn.readNetFromCaffe(prototxt, weights)
        net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
        if hasattr(net, "enableWinograd"):
            net.enableWinograd(False)  # plain convolutions: the closer reference
        for name, value in feeds.items():
            net.setInput(value, name)
        return net

    net = fresh()
    available = {n: net.getLayer(net.getLayerId(n)).type for n in net.getLayerNames()}
    mapping, notes = map_opencv_layers(compute_layers, ocv_names, available)
    wanted = [mapping[l.index] for l in compute_layers if mapping[l.index]]
    outs = net.forwardAndRetrieve(wanted)
    blobs = {n: tuple(np.asarray(o) for o in out) for n, out in zip(wanted, outs)}
    # OpenCV keeps only output 0 of each asked layer from being reused: the
    # other outputs of a Slice (say) are overwritten by the layers after it.
    # A fresh net asked for that layer alone stops there.
    for l in compute_layers:
        name = mapping[l.index]
        if name and len(l.tops) > 1:
            single = fresh()
            single.enableFusion(False)
            blobs[name] = tuple(np.asarray(o) for o in single.forwardAndRetrieve([name])[0])
    return blobs, available, mapping, notes


def norm_type(t):
    return t.lower().replace("_", "")


def map_opencv_layers(compute_layers, ocv_names, available):
    """OpenCV names a layer as Caffe does, except that it names some (a
    Convolution whose top is not its name) by their first top; repeated names
    were made unique in its copy of the prototxt."""
    mapping, notes, used = {}, [], set()
    direct = {ocv_names[l.index] for l in compute_layers}
    for l in compute_layers:
        name = ocv_names[l.index]
        if name in available and name not in used:
            mapping[l.index] = name
            used.add(name)
            continue
        found = None
        cand = l.tops[0] if l.tops else None
        if (
            cand in available and cand not in used and cand not in direct
            and norm_type(available[cand]) == norm_type(l.type)
        ):
            found = cand
        mapping[l.index] = found
        if found:
            used.add(found)
            notes.append(f"{l.name} -> {found}")
    return mapping, notes


def opencv_error(e, net=None):
    """OpenCV's message in one line: its text without the file, line and
    function, and the first lines of its detail."""
    text = str(e).strip()
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    main = lines[0] if lines else text
    m = re.search(r"error: \([^)]*\) ?(.*)", main)
    if m:
        main = m.group(1)
    main = re.sub(r"\s*in function '[^']*'", "", main).strip()
    detail = [l.lstrip("> ").strip() for l in lines[1:] if l.startswith(">")]
    if "UnknownField should have" in text:
        forks = sorted(set(_nested_keys(net or [])) & FORK_BLOCKS)
        what = ", ".join(forks) if forks else "a nested block"
        return f"cannot parse {what} (a message its caffe.proto lacks; its custom-field reader wants 'name: value')"
    s = "; ".join([p for p in [main] + detail[:1] if p])
    return s[:300]


# Fork blocks with messages inside, which OpenCV's reader of unknown fields refuses.
FORK_BLOCKS = {"bn_param"}


def _nested_keys(msg):
    for k, v in msg:
        if isinstance(v, list):
            yield k
            yield from _nested_keys(v)


# ---------------------------------------------------------------- runtimes


def tract_outputs(binary, onnx_path, input_files, out_dir, timeout, all_blobs):
    cmd = [binary, "run", onnx_path, "--out-dir", out_dir, "--force"] + (["--all-blobs"] if all_blobs else [])
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
    if not files:  # another output format: names from the files ("/" written "__")
        for f in os.listdir(out_dir):
            if f.endswith(".npy"):
                files[f[:-4].replace("__", "/")] = os.path.join(out_dir, f)
    return files


def with_outputs(model, wanted):
    """A copy of `model` whose graph outputs are its own and `wanted`."""
    import onnx

    m = onnx.ModelProto()
    m.CopyFrom(model)
    produced = {o for n in m.graph.node for o in n.output if o}
    outputs = {o.name for o in m.graph.output}
    types = {v.name: v.type.tensor_type.elem_type for v in m.graph.value_info}
    for name in wanted:
        if name in produced and name not in outputs:
            outputs.add(name)
            m.graph.output.append(
                onnx.helper.make_tensor_value_info(name, types.get(name) or onnx.TensorProto.FLOAT, None)
            )
    return m


def run_tract(binary, onnx_path, model, wanted, input_files, work, timeout):
    """Every wanted tensor from tract: `run --all-blobs`, or, when that fails,
    `run` of a copy whose graph outputs are the wanted tensors. Returns
    (files, note)."""
    try:
        return tract_outputs(binary, onnx_path, input_files, os.path.join(work, "tract"), timeout, True), None
    except subprocess.TimeoutExpired:
        raise
    except Exception as e:
        first = str(e)
    import onnx

    copy = os.path.join(work, "model_outputs.onnx")
    onnx.save(with_outputs(model, wanted), copy)
    files = tract_outputs(binary, copy, input_files, os.path.join(work, "tract_outputs"), timeout, False)
    return files, f"tract run --all-blobs fails ({first}); blobs taken as graph outputs instead"


def run_onnxruntime(model, feeds, wanted):
    import onnxruntime as ort

    m = with_outputs(model, wanted)
    graph = m.graph
    initializers = {t.name for t in graph.initializer}
    graph_inputs = [i.name for i in graph.input if i.name not in initializers]
    session = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    fetch = [o.name for o in graph.output]
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


def extract(model, inputs, outputs, feeds):
    """The nodes of `model` computing `outputs` from the tensors `inputs`
    ({name: array}); graph inputs the part needs besides come from `feeds`.
    Returns (model, {input name: array})."""
    import onnx

    graph = model.graph
    producer = {}
    for i, n in enumerate(graph.node):
        for o in n.output:
            if o:
                producer[o] = i
    inits = {t.name: t for t in graph.initializer}
    graph_inputs = {i.name for i in graph.input}
    needed, seen, stack = set(), set(), list(outputs)
    given = dict(inputs)
    while stack:
        t = stack.pop()
        if t in seen or t in given or t in inits or not t:
            continue
        seen.add(t)
        if t in producer:
            i = producer[t]
            if i not in needed:
                needed.add(i)
                stack.extend(graph.node[i].input)
        elif t in graph_inputs and t in feeds:
            given[t] = feeds[t]
        else:
            raise KeyError(f"tensor '{t}' has no producer")
    nodes = [graph.node[i] for i in sorted(needed)]
    used = {x for n in nodes for x in n.input}
    sub = onnx.helper.make_graph(
        nodes,
        "layer",
        [
            onnx.helper.make_tensor_value_info(k, onnx.helper.np_dtype_to_tensor_dtype(v.dtype), list(v.shape))
            for k, v in given.items()
            if k in used
        ],
        [onnx.helper.make_tensor_value_info(o, onnx.TensorProto.FLOAT, None) for o in outputs],
        [inits[k] for k in inits if k in used],
    )
    m = onnx.helper.make_model(sub, opset_imports=model.opset_import, ir_version=model.ir_version)
    return m, {k: v for k, v in given.items() if k in used}


# ---------------------------------------------------------------- one model


def fmt_rel(v):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
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
        "opencv_names": [],
        "first_off_tract": None,
        "first_off_ort": None,
        "off_blobs": [],
        "local_failures": [],
        "all_off_pass_locally": None,
        "max_abs_activation": None,
        "nonfinite_opencv": [],
        "detections": None,
        "onnx_checker": None,
        "tract_all_blobs_error": None,
        "seconds": {},
    }
    cfg = MODELS.get(model, {})
    notes = [cfg["note"]] if cfg.get("note") else []
    proto = os.path.join(args.zoo, model, "deploy.prototxt")
    binary = args.netsurgeon
    net, layers, inputs = read_net(proto)

    def finish(status, note_first=None):
        row["status"] = status
        if note_first:
            notes.insert(0, note_first)
        row["note"] = "; ".join(n for n in notes if n)
        row["seconds"]["total"] = round(time.time() - t0, 1)
        return row

    # 1. input shapes: inspect's, batch 1, or the table's
    shapes, listed = input_shapes(binary, proto, inputs, cfg.get("inputs", {}), args.timeout)
    row["inputs"] = shapes

    # 2. netsurgeon: weights, export
    weights = os.path.join(work, "weights.caffemodel")
    onnx_path = os.path.join(work, "model.onnx")
    ts = time.time()
    step = [binary, "synth-weights", proto, "-o", weights, "--seed", str(args.seed), "--force", "-q"]
    p = run_cmd(step + input_args(shapes), args.timeout, binary)
    if p.returncode != 0:
        row["seconds"]["netsurgeon"] = round(time.time() - ts, 1)
        return finish("refused", "synth-weights: " + summarize_error(p.stderr or p.stdout) + opencv_reads(proto))
    step = [binary, "convert", proto, "--weights", weights, "-o", onnx_path, "--force", "-q"]
    p = run_cmd(step + input_args(shapes), args.timeout, binary)
    row["seconds"]["netsurgeon"] = round(time.time() - ts, 1)
    if p.returncode != 0:
        return finish("refused", "convert: " + summarize_error(p.stderr or p.stdout) + opencv_reads(proto))

    import onnx

    onnx_model = onnx.load(onnx_path)
    initializers = {t.name for t in onnx_model.graph.initializer}
    graph_inputs = [i.name for i in onnx_model.graph.input if i.name not in initializers]
    rng = np.random.RandomState(args.seed)
    feeds, input_files = {}, {}
    for name in inputs:
        if name not in shapes or name not in graph_inputs:
            continue  # e.g. a data layer's label top that the net does not read
        std = cfg.get("input_std", args.input_std)
        feeds[name] = (std * rng.standard_normal(shapes[name])).astype(np.float32)
        path = os.path.join(work, f"input_{len(input_files)}.npy")
        np.save(path, feeds[name])
        input_files[name] = path
    if not args.no_checker:
        row["onnx_checker"] = onnx_check(onnx_path)
        if row["onnx_checker"]:
            notes.append("onnx checker: " + row["onnx_checker"])

    # What the export calls each (layer, top): the blob's name for its last
    # writer, `<blob>.<layer>` for the values in-place layers overwrite.
    compute_layers = [l for l in layers if l.type not in DATA_LAYER_TYPES and l.tops]
    last_writer = {}
    for l in layers:
        for t in l.tops:
            last_writer[t] = l.index
    pairs = []  # (layer, top index, tensor)
    tensor_of = {}  # (layer index, top index) -> tensor
    for l in compute_layers:
        for k, t in enumerate(l.tops):
            tensor = t if last_writer[t] == l.index else f"{t}.{l.name}"
            pairs.append((l, k, tensor))
            tensor_of[(l.index, k)] = tensor
    wanted = [tensor for _, _, tensor in pairs]

    # 3. OpenCV
    ts = time.time()
    ocv_proto, ocv_names, ocv_notes, extra_weights = opencv_prototxt(
        net, layers, shapes, os.path.join(work, "opencv.prototxt"), listed
    )
    notes.extend(ocv_notes)
    ocv_weights = weights
    if extra_weights:
        ocv_weights = os.path.join(work, "opencv.caffemodel")
        with open(weights, "rb") as src, open(ocv_weights, "wb") as dst:
            dst.write(src.read())
            for name, type_name, blobs in extra_weights:
                dst.write(encode_layer(name, type_name, blobs))
    ocv, ocv_fail, mapping = None, None, {}
    try:
        ocv, _available, mapping, renamed = opencv_blobs(
            ocv_proto or proto, ocv_weights, feeds, compute_layers, ocv_names
        )
        row["opencv_names"] = renamed
        if renamed:
            notes.append(f"OpenCV names {len(renamed)} layers by their top ({', '.join(renamed[:2])}, ...)")
    except Exception as e:
        ocv_fail = opencv_error(e, net)
    row["seconds"]["opencv"] = round(time.time() - ts, 1)

    if ocv_fail is not None and not cfg.get("cross_check", True):
        return finish("opencv-cannot", f"OpenCV: {ocv_fail}; tract/onnxruntime not run: {cfg.get('why', '')}")

    # 4. tract and onnxruntime
    ts = time.time()
    tract_files, tract_error = {}, None
    try:
        tract_files, fallback = run_tract(binary, onnx_path, onnx_model, wanted, input_files, work, args.timeout)
        if fallback:
            row["tract_all_blobs_error"] = fallback
            notes.append(fallback)
    except subprocess.TimeoutExpired:
        tract_error = f"timed out after {args.timeout} s"
    except Exception as e:
        tract_error = str(e)
    row["seconds"]["tract"] = round(time.time() - ts, 1)
    ts = time.time()
    ort_values, ort_error = {}, None
    try:
        ort_values = run_onnxruntime(onnx_model, feeds, wanted)
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
        worst, n, first, masks = 0.0, 0, None, []
        for l, k, tensor in pairs:
            a, b = tract_value(tensor), ort_values.get(tensor)
            if a is None or b is None or a.shape != np.asarray(b).shape:
                continue
            b = np.asarray(b)
            if l.type == "Pooling" and k == 1:
                # Argmax positions: a near tie can flip between runtimes.
                differ = int((a != b).sum())
                if differ:
                    masks.append(f"{tensor} at {differ} of {a.size}")
                continue
            _, _, rel, ok = compare(a, b, args.tolerance)
            n += 1
            worst = max(worst, rel)
            if not ok and first is None:
                first = tensor
        cross = f"tract vs onnxruntime: {n} blobs, worst rel {fmt_rel(worst)}" + (f", first off {first}" if first else "")
        if masks:
            cross += f"; Pooling masks differ ({', '.join(masks[:3])})"
        row["cross_check"] = {"blobs": n, "worst_rel": worst, "first_off": first, "masks_differ": masks}
        if tract_error or ort_error:
            cross = "tract vs onnxruntime not compared (a runtime failed)"
        return finish("opencv-cannot", f"OpenCV: {ocv_fail}; {cross}")

    # 5. every blob against OpenCV
    def opencv_value(layer_index, k):
        name = mapping.get(layer_index)
        outs = ocv.get(name, ()) if name else ()
        return outs[k] if k < len(outs) else None

    worst = {"tract": 0.0, "ort": 0.0}
    compared, off, cannot, nonfinite = 0, [], [], []
    first = {"tract": None, "ort": None}
    max_act = 0.0
    missing_in_runtime = []
    for l, k, tensor in pairs:
        oname = mapping.get(l.index)
        if not oname:
            cannot.append({"blob": tensor, "layer": l.name, "why": f"OpenCV has no layer '{ocv_names[l.index]}' ({l.type})"})
            continue
        ref = opencv_value(l.index, k)
        if ref is None:
            cannot.append({"blob": tensor, "layer": l.name,
                           "why": f"OpenCV's {l.type} '{oname}' gives {len(ocv.get(oname, ()))} outputs"})
            continue
        if ref.size:
            finite = ref[np.isfinite(ref)]
            if finite.size:
                max_act = max(max_act, float(np.abs(finite).max()))
            if finite.size != ref.size:
                nonfinite.append({"blob": tensor, "count": int(ref.size - finite.size), "of": int(ref.size)})
        values = {"tract": tract_value(tensor), "ort": ort_values.get(tensor)}
        if values["tract"] is None and values["ort"] is None:
            cannot.append({"blob": tensor, "layer": l.name, "why": "no such tensor in the export"})
            continue
        for rt in ("tract", "ort"):
            v = values[rt]
            if v is None:
                if not (tract_error if rt == "tract" else ort_error):
                    missing_in_runtime.append(f"{rt}: {tensor}")
                continue
            v = np.asarray(v)
            detail = None
            if l.type == "DetectionOutput":
                (max_abs, max_ref, rel, ok), detail = compare_detections(v, ref, args.tolerance)
                row["detections"] = detail
            elif v.shape != ref.shape:
                detail = f"shape {list(v.shape)} vs OpenCV's {list(ref.shape)}"
                if v.size == ref.size:
                    max_abs, max_ref, rel, ok = compare(v.reshape(ref.shape), ref, args.tolerance)
                else:
                    max_abs, max_ref, rel, ok = float("inf"), 0.0, float("inf"), False
            else:
                max_abs, max_ref, rel, ok = compare(v, ref, args.tolerance)
            worst[rt] = max(worst[rt], rel) if rel == rel else float("inf")
            if not ok:
                entry = {"runtime": rt, "blob": tensor, "layer": l.name, "type": l.type, "max_abs": max_abs,
                         "max_ref": max_ref, "rel": rel, "detail": detail, "layer_index": l.index, "top": k}
                off.append(entry)
                if first[rt] is None:
                    first[rt] = entry
            if args.verbose:
                print(f"    {rt:5} {tensor:50} {l.type:18} {str(list(v.shape)):22} rel {fmt_rel(rel)}"
                      f"{'' if ok else '  OFF'}{'  ' + detail if detail else ''}")
        compared += 1

    # 6. each blob off: its layer alone, on OpenCV's values of its bottoms.
    # Passing there means the layer is converted right and the whole-model
    # deviation is rounding carried from before (amplified, e.g. by a
    # saturating Sigmoid after a blob of large range).
    local_failures, local_checked = [], 0
    ts = time.time()
    for e in off[: args.max_local]:
        l = next(x for x in compute_layers if x.index == e["layer_index"])
        bottoms = {}
        ok_inputs = True
        for b in l.bottoms:
            writer = None
            for x in layers:
                if x.index >= l.index:
                    break
                if b in x.tops:
                    writer = x
            if writer is None or writer.type in DATA_LAYER_TYPES:
                if b in feeds:
                    bottoms[b] = feeds[b]
                else:
                    ok_inputs = False
                continue
            k = writer.tops.index(b)
            val = opencv_value(writer.index, k)
            name = tensor_of.get((writer.index, k))
            ours = tract_value(name) if e["runtime"] == "tract" else ort_values.get(name)
            if val is None or name is None:
                ok_inputs = False
                continue
            if ours is not None and np.asarray(ours).size == val.size:
                val = val.reshape(np.asarray(ours).shape)
            bottoms[name] = np.ascontiguousarray(val, dtype=np.float32)
        if not ok_inputs:
            e["local"] = "not checked: a bottom has no OpenCV value"
            continue
        try:
            sub, sub_feeds = extract(onnx_model, bottoms, [e["blob"]], feeds)
            if e["runtime"] == "ort":
                import onnxruntime as ort

                sess = ort.InferenceSession(sub.SerializeToString(), providers=["CPUExecutionProvider"])
                got = sess.run([e["blob"]], sub_feeds)[0]
            else:
                d = os.path.join(work, f"local_{local_checked}")
                os.makedirs(d, exist_ok=True)
                sub_path = os.path.join(d, "layer.onnx")
                onnx.save(sub, sub_path)
                files = {}
                for i, (n_, v_) in enumerate(sub_feeds.items()):
                    files[n_] = os.path.join(d, f"in_{i}.npy")
                    np.save(files[n_], v_)
                out = tract_outputs(binary, sub_path, files, os.path.join(d, "out"), args.timeout, False)
                got = np.load(out[e["blob"]])
        except Exception as ex:
            e["local"] = f"not checked: {summarize_error(str(ex), 1)}"
            continue
        local_checked += 1
        ref = opencv_value(e["layer_index"], e["top"])
        if l.type == "DetectionOutput":
            (_, _, rel, ok), _ = compare_detections(got, ref, args.tolerance)
        else:
            got = np.asarray(got)
            _, _, rel, ok = compare(got.reshape(ref.shape) if got.size == ref.size else got, ref, args.tolerance)
        e["local_rel"] = rel
        e["local"] = "pass" if ok else "OFF"
        if not ok:
            local_failures.append(e)
    row["seconds"]["local"] = round(time.time() - ts, 1)

    row["blobs_compared"] = compared
    row["worst_rel_tract"] = None if tract_error else worst["tract"]
    row["worst_rel_ort"] = None if ort_error else worst["ort"]
    row["opencv_cannot_give"] = cannot
    row["first_off_tract"] = first["tract"]
    row["first_off_ort"] = first["ort"]
    row["off_blobs"] = off[:60]
    row["local_failures"] = local_failures
    row["nonfinite_opencv"] = nonfinite
    row["max_abs_activation"] = max_act
    if cannot:
        notes.append(f"OpenCV cannot give {len(cannot)}: " + ", ".join(f"{c['blob']} ({c['why']})" for c in cannot[:3]))
    if nonfinite:
        notes.append(f"{len(nonfinite)} OpenCV blobs hold inf/nan (first {nonfinite[0]['blob']})")
    if max_act > 1e3:
        notes.append(f"activations up to {max_act:.1e} (synthetic weights)")
    if row["detections"]:
        notes.append(row["detections"])
    if missing_in_runtime:
        notes.append(f"not given by the runtime: {', '.join(missing_in_runtime[:3])}")
    for rt in ("tract", "ort"):
        e = first[rt]
        if e:
            notes.append(
                f"{rt}: {sum(1 for o in off if o['runtime'] == rt)} blobs off, first {e['blob']} ({e['type']}) "
                f"rel {fmt_rel(e['rel'])}" + (f" [{e['detail']}]" if e["detail"] else "")
            )
    if off:
        unchecked = [e for e in off if "local_rel" not in e]
        if local_failures:
            f0 = local_failures[0]
            notes.append(
                f"{len(local_failures)} of them off with their layer alone on OpenCV's inputs, first "
                f"{f0['runtime']} {f0['blob']} ({f0['type']}) rel {fmt_rel(f0['local_rel'])}"
            )
            row["all_off_pass_locally"] = False
        elif not unchecked:
            notes.append("every blob off passes when its layer runs alone on OpenCV's inputs (rounding carried "
                         "from earlier layers, not a wrong layer)")
            row["all_off_pass_locally"] = True
        else:
            notes.append(f"{len(unchecked)} blobs off not checked alone ({unchecked[0].get('local', 'over --max-local')})")
    failed = bool(off) or tract_error or ort_error or row["onnx_checker"] or missing_in_runtime
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
        return f" (OpenCV cannot read it either: {opencv_error(e, read_net(proto)[0])})"


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
    parser.add_argument("--input-std", type=float, default=1.0, help="the inputs' standard deviation (default 1)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per netsurgeon step")
    parser.add_argument("--work-dir", help="where each model's files go (default: a temporary directory); removed unless --keep")
    parser.add_argument("--keep", action="store_true", help="keep the work files")
    parser.add_argument("--no-checker", action="store_true", help="skip onnx's full check")
    parser.add_argument("--verbose", action="store_true", help="print every blob's comparison")
    parser.add_argument("--max-local", type=int, default=200, help="most blobs off checked layer by layer")
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
