#!/usr/bin/env python3
"""Cross-check exported ONNX models with the reference tools: onnx's checker
(full_check=True, which also runs shape inference) and onnxruntime (CPU).

Usage: ort_check.py DIR [--tolerance 1e-4]

DIR is one case or a directory of cases (each subdirectory holding a
model.onnx). A case directory holds:

    model.onnx                    the exported model (external data beside it is fine)
    inputs/<name>.npy             one file per graph input
    blobs/<name>.npy              expected values (e.g. Caffe's) of any tensors
    case.json                     optional: {"model": "model.onnx",
                                             "inputs": [{"name": ..., "file": ...}],
                                             "blobs":  [{"name": ..., "file": ...}]}

Without case.json, a file name maps to a tensor name with "__" read as "/"
(GoogLeNet's "inception_3a/1x1" is stored as inception_3a__1x1.npy). Every
expected blob must exist in the model (as a graph input, graph output or node
output); intermediate tensors are exposed as outputs for onnxruntime. A blob
passes when max|ours - expected| <= tolerance * max|expected|.

Prints one table per case and exits non-zero if anything failed. Tested with
Python 3.11, onnx 1.23.2, onnxruntime 1.32.0, numpy 2.4.6.
"""

import argparse
import json
import os
import sys
import tempfile
import traceback

import numpy as np
import onnx
import onnxruntime as ort


def name_from_file(file_name):
    stem = file_name[: -len(".npy")]
    return stem.replace("__", "/")


def list_npy(directory):
    if not os.path.isdir(directory):
        return []
    return [
        (name_from_file(f), os.path.join(directory, f))
        for f in sorted(os.listdir(directory))
        if f.endswith(".npy")
    ]


def load_case(case_dir):
    """Returns (model_path, [(input name, path)], [(blob name, path)])."""
    manifest_path = os.path.join(case_dir, "case.json")
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            manifest = json.load(f)
        model = os.path.join(case_dir, manifest.get("model", "model.onnx"))
        inputs = [(e["name"], os.path.join(case_dir, e["file"])) for e in manifest.get("inputs", [])]
        blobs = manifest.get("blobs", manifest.get("blob_files", []))
        blobs = [(e["name"], os.path.join(case_dir, e["file"])) for e in blobs]
        return model, inputs, blobs
    model = os.path.join(case_dir, "model.onnx")
    return model, list_npy(os.path.join(case_dir, "inputs")), list_npy(os.path.join(case_dir, "blobs"))


def compare(ours, ref, tolerance):
    """(max_abs, max_ref, rel, passed) with the project's rule."""
    ours = ours.astype(np.float64)
    ref = ref.astype(np.float64)
    both_nan = np.isnan(ours) & np.isnan(ref)
    same = (ours == ref) | both_nan
    diff = np.where(same, 0.0, np.abs(ours - ref))
    max_abs = float(np.nan if np.isnan(diff).any() else (diff.max() if diff.size else 0.0))
    finite = ref[np.isfinite(ref)]
    max_ref = float(np.abs(finite).max()) if finite.size else 0.0
    if max_abs == 0.0:
        rel = 0.0
    elif max_ref == 0.0:
        rel = float("inf")
    else:
        rel = max_abs / max_ref
    passed = max_abs == 0.0 or max_abs <= tolerance * max_ref
    return max_abs, max_ref, rel, passed


def shape_str(shape):
    return "x".join(str(d) for d in shape) if len(shape) else "scalar"


def check_case(case_dir, tolerance):
    """Returns (rows, problems): rows for the table, problems for the case."""
    model_path, input_files, blob_files = load_case(case_dir)
    rows, problems = [], []
    if not os.path.exists(model_path):
        return rows, [f"no model at {model_path}"]

    try:
        onnx.checker.check_model(model_path, full_check=True)
    except Exception as e:  # the checker raises several exception types
        problems.append(f"onnx.checker: {e}")

    # The graph without external data payloads: enough to list and add outputs.
    model = onnx.load(model_path, load_external_data=False)
    graph = model.graph
    initializers = {t.name for t in graph.initializer}
    graph_inputs = [i.name for i in graph.input if i.name not in initializers]
    graph_outputs = [o.name for o in graph.output]
    produced = {o for n in graph.node for o in n.output if o}

    feeds = {}
    for name, path in input_files:
        feeds[name] = np.load(path).astype(np.float32)
    for name in graph_inputs:
        if name not in feeds:
            problems.append(f"no input file for graph input '{name}'")
    if problems and not feeds:
        return rows, problems

    wanted = [name for name, _ in blob_files]
    extra_outputs = [n for n in wanted if n in produced and n not in graph_outputs]
    for name in extra_outputs:
        graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    fetch = graph_outputs + extra_outputs

    results = {}
    # Saved beside the original so relative external-data locations resolve.
    fd, tmp_path = tempfile.mkstemp(suffix=".onnx", prefix=".ort_check.", dir=os.path.dirname(model_path) or ".")
    os.close(fd)
    try:
        onnx.save(model, tmp_path)
        options = ort.SessionOptions()
        session = ort.InferenceSession(tmp_path, options, providers=["CPUExecutionProvider"])
        values = session.run(fetch, {k: v for k, v in feeds.items() if k in graph_inputs})
        results = dict(zip(fetch, values))
    except Exception as e:
        problems.append(f"onnxruntime: {e}")
    finally:
        os.remove(tmp_path)

    for name, path in blob_files:
        expected = np.load(path)
        if name in results:
            ours = np.asarray(results[name])
        elif name in graph_inputs and name in feeds:
            ours = feeds[name]
        elif name in produced or name in graph_outputs:
            rows.append((name, "-", "-", "-", "-", "FAIL: not computed"))
            continue
        else:
            rows.append((name, "-", "-", "-", "-", "FAIL: not in the model"))
            continue
        if ours.shape != expected.shape:
            rows.append(
                (name, shape_str(ours.shape), "-", "-", "-",
                 f"FAIL: shape {shape_str(ours.shape)} vs expected {shape_str(expected.shape)}")
            )
            continue
        max_abs, max_ref, rel, passed = compare(ours, expected, tolerance)
        rows.append(
            (name, shape_str(ours.shape), f"{max_abs:.3e}", f"{max_ref:.3e}", f"{rel:.2e}", "ok" if passed else "FAIL")
        )
    return rows, problems


def print_table(case, rows, problems):
    print(f"== {case}")
    header = ("blob", "shape", "max|diff|", "max|ref|", "rel", "status")
    widths = [max([len(header[i])] + [len(str(r[i])) for r in rows]) for i in range(5)]
    fmt = "  ".join(f"{{:<{w}}}" if i < 2 else f"{{:>{w}}}" for i, w in enumerate(widths)) + "  {}"
    print(fmt.format(*header))
    for r in rows:
        print(fmt.format(*r))
    for p in problems:
        print(f"FAIL: {p}")


def find_cases(root):
    if os.path.exists(os.path.join(root, "model.onnx")) or os.path.exists(os.path.join(root, "case.json")):
        return [root]
    return [
        os.path.join(root, d)
        for d in sorted(os.listdir(root))
        if os.path.isdir(os.path.join(root, d))
        and (os.path.exists(os.path.join(root, d, "model.onnx")) or os.path.exists(os.path.join(root, d, "case.json")))
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", help="a case directory or a directory of cases")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="relative tolerance (default 1e-4)")
    args = parser.parse_args()

    cases = find_cases(args.dir)
    if not cases:
        print(f"no cases (model.onnx) under {args.dir}", file=sys.stderr)
        return 2
    print(f"onnx {onnx.__version__}, onnxruntime {ort.__version__}, numpy {np.__version__}")
    failed_cases = []
    for case in cases:
        try:
            rows, problems = check_case(case, args.tolerance)
        except Exception:
            rows, problems = [], ["unexpected error:\n" + traceback.format_exc()]
        print_table(os.path.basename(os.path.normpath(case)), rows, problems)
        if problems or any(r[5] != "ok" for r in rows):
            failed_cases.append(case)
    print(f"{len(cases)} cases, {len(failed_cases)} failed (pass: max|diff| <= {args.tolerance:g} * max|ref|)")
    return 1 if failed_cases else 0


if __name__ == "__main__":
    sys.exit(main())
