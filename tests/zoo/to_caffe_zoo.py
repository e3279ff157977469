#!/usr/bin/env python3
"""Whole models through ONNX -> Caffe: every model of fixtures/zoo is given
seeded weights (`synth-weights`) and exported (`convert`); that ONNX model is
brought back with `netsurgeon to-caffe --no-check` (the caffe1 dialect, else
the first of opencv, ssd that converts it); onnxruntime runs the ONNX model
and OpenCV's Caffe importer runs the Caffe model written, on the same seeded
input, and every graph output (and the logits before a final Softmax, which
seeded weights can make nearly one-hot) must agree within
1e-4 x max|onnxruntime|.
Both engines are independent of netsurgeon.

Usage: to_caffe_zoo.py [MODEL ...] --netsurgeon BIN [--json OUT.json] [--work-dir DIR]

Statuses: pass; fail (an output off, or OpenCV gives no such output);
refused (to-caffe refuses, naming the nodes: the reason is the note);
no-onnx (the Caffe model does not export: see compare.py's table);
opencv-cannot (OpenCV cannot read or run the Caffe model written).
Prints a line per model and writes the rows as JSON to --json, with the
to-caffe time and the ONNX file's size. Exits 0 when the table was made.
"""

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import MODELS, ROOT, compare, input_args, input_shapes, read_net, run_cmd, summarize_error  # noqa: E402

DIALECTS = ["caffe1", "opencv", "ssd"]


def check(model, args, work):
    import cv2
    import onnx
    import onnxruntime as ort

    row = {"model": model, "status": None, "note": "", "dialect": None, "worst_rel": None}
    cfg = MODELS.get(model, {})
    proto = os.path.join(args.zoo, model, "deploy.prototxt")
    _, _, inputs = read_net(proto)
    shapes, _ = input_shapes(args.netsurgeon, proto, inputs, cfg.get("inputs", {}), 600)
    weights = os.path.join(work, "weights.caffemodel")
    onnx_path = os.path.join(work, "model.onnx")
    for step in (
        [args.netsurgeon, "synth-weights", proto, "-o", weights, "--seed", "1", "--force", "-q"],
        [args.netsurgeon, "convert", proto, "--weights", weights, "-o", onnx_path, "--force", "-q"],
    ):
        p = run_cmd(step + input_args(shapes), 1800)
        if p.returncode != 0:
            row.update(status="no-onnx", note=summarize_error(p.stderr or p.stdout))
            return row
    row["onnx_mb"] = round(os.path.getsize(onnx_path) / 1e6, 1)

    onnx_model = onnx.load(onnx_path, load_external_data=False)
    initializers = {t.name for t in onnx_model.graph.initializer}
    graph_inputs = [i.name for i in onnx_model.graph.input if i.name not in initializers]
    outputs = [o.name for o in onnx_model.graph.output]
    # A softmax output of seeded weights can be nearly one-hot; its input
    # (the logits) is compared too, where the Caffe net has it as a blob.
    producers = {o: n for n in onnx_model.graph.node for o in n.output}
    logits = [producers[o].input[0] for o in outputs if o in producers and producers[o].op_type == "Softmax"]
    rng = np.random.RandomState(1)
    std = cfg.get("input_std", 1.0)
    feeds = {n: (std * rng.standard_normal(shapes[n])).astype(np.float32) for n in graph_inputs if n in shapes}
    so = ort.SessionOptions()
    so.log_severity_level = 3
    session = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
    wanted = outputs + [t for t in logits if t not in outputs]
    if logits:
        model = onnx.load(onnx_path)
        known = {o.name for o in model.graph.output}
        model.graph.output.extend(onnx.helper.make_empty_tensor_value_info(t) for t in logits if t not in known)
        session = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    reference = dict(zip(wanted, session.run(wanted, feeds)))

    prototxt = os.path.join(work, "back.prototxt")
    caffemodel = os.path.join(work, "back.caffemodel")
    reasons = []
    for dialect in DIALECTS:
        t = time.time()
        p = run_cmd(
            [args.netsurgeon, "to-caffe", onnx_path, "--out-prototxt", prototxt, "--out-weights", caffemodel,
             "--no-check", "--force", "--dialect", dialect],
            1800,
        )
        if p.returncode == 0:
            row["dialect"] = dialect
            row["to_caffe_s"] = round(time.time() - t, 2)
            break
        reasons.append(f"{dialect}: " + summarize_error(p.stderr or p.stdout, lines=3))
    if row["dialect"] is None:
        row.update(status="refused", note=" | ".join(reasons))
        return row

    # OpenCV gives a layer's outputs by the layer's name: the last writer of
    # each blob compared.
    _, back_layers, _ = read_net(prototxt)
    writer = {}
    for layer in back_layers:
        for top in layer.tops:
            writer[top] = layer.name
    compared = outputs + [t for t in logits if t in writer and t not in outputs]
    try:
        net = cv2.dnn.readNetFromCaffe(prototxt, caffemodel)
        net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
        if hasattr(net, "enableWinograd"):
            net.enableWinograd(False)
        for name, value in feeds.items():
            net.setInput(value, name)
        got = net.forward([writer.get(t, t) if t not in outputs else t for t in compared])
    except Exception as e:  # noqa: BLE001 - OpenCV raises cv2.error and others
        lines = [l for l in str(e).splitlines() if l.strip()]
        row.update(status="opencv-cannot", note=(lines[-1] if lines else str(e))[:300])
        return row
    worst, off = 0.0, []
    row["compared"] = compared
    for name, value in zip(compared, got):
        ref = reference[name]
        value = np.asarray(value)
        if value.size != ref.size:
            off.append(f"{name}: OpenCV shape {value.shape}, onnxruntime {ref.shape}")
            continue
        _, _, rel, passed = compare(value.reshape(ref.shape), ref, args.tolerance)
        worst = max(worst, rel)
        if not passed:
            off.append(f"{name}: rel {rel:.2e}")
    row["worst_rel"] = worst
    row.update(status="fail" if off else "pass", note="; ".join(off))
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="*")
    ap.add_argument("--zoo", default=os.path.join(ROOT, "fixtures", "zoo"))
    ap.add_argument("--netsurgeon", required=True)
    ap.add_argument("--json")
    ap.add_argument("--work-dir")
    ap.add_argument("--tolerance", type=float, default=1e-4)
    args = ap.parse_args()
    models = args.models or sorted(
        m for m in os.listdir(args.zoo) if os.path.isfile(os.path.join(args.zoo, m, "deploy.prototxt")))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for model in models:
            work = os.path.join(args.work_dir or tmp, model)
            os.makedirs(work, exist_ok=True)
            try:
                row = check(model, args, work)
            except Exception as e:  # noqa: BLE001 - one model's failure is a row, not the end
                row = {"model": model, "status": "fail", "note": f"{type(e).__name__}: {e}"[:300]}
            rows.append(row)
            rel = row.get("worst_rel")
            print(f"{model:28} {row['status']:14} {row.get('dialect') or '':7} "
                  f"{'' if rel is None else f'{rel:.1e}':8} {row.get('to_caffe_s', '')!s:6} {row['note'][:160]}",
                  flush=True)
            if not args.work_dir:
                for f in os.listdir(work):
                    os.remove(os.path.join(work, f))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"models": rows}, f, indent=1)
    counts = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    print(counts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
