"""A fork model saved by netsurgeon loads in OpenCV as the original does.

For each zoo model (or those named): seeded weights (`synth-weights`), then
`netsurgeon save` writes the prototxt and weights back (legacy forms
upgraded, every fork field kept); OpenCV (`cv2.dnn.readNetFromCaffe`) reads
the original and the saved model and runs both on the same input. Prints a
JSON list of {model, status, note}: status "same" (both load and give the
same final output, bit for bit), "differs", "saved-unreadable" (OpenCV reads
the original but not the saved model), or "skipped" (OpenCV cannot read or
run the original, or netsurgeon cannot give the model weights), with why.

    python tests/zoo/saved_in_opencv.py --netsurgeon target/debug/netsurgeon --zoo fixtures/zoo --work-dir /tmp/w
"""

import argparse
import json
import os
import subprocess

import cv2
import numpy as np


def last_line(e):
    lines = [l for l in str(e).strip().splitlines() if l.strip()]
    return lines[-1][:200] if lines else str(e)[:200]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--netsurgeon", required=True)
    ap.add_argument("--zoo", required=True)
    ap.add_argument("--work-dir", required=True)
    ap.add_argument("models", nargs="*")
    args = ap.parse_args()
    os.makedirs(args.work_dir, exist_ok=True)
    models = args.models or sorted(m for m in os.listdir(args.zoo) if os.path.isfile(os.path.join(args.zoo, m, "deploy.prototxt")))
    results = []
    for m in models:
        proto = os.path.join(args.zoo, m, "deploy.prototxt")
        w = os.path.join(args.work_dir, m + ".caffemodel")
        saved_p = os.path.join(args.work_dir, m + ".saved.prototxt")
        saved_w = os.path.join(args.work_dir, m + ".saved.caffemodel")

        def result(status, note):
            results.append({"model": m, "status": status, "note": note})
            print(f"{m}: {status} {note}", flush=True)

        r = subprocess.run([args.netsurgeon, "synth-weights", "-q", proto, "-o", w, "--force"], capture_output=True, text=True)
        if r.returncode:
            result("skipped", "no weights: " + last_line(r.stderr))
            continue
        r = subprocess.run(
            [args.netsurgeon, "save", "-q", proto, "--weights", w, "--out-prototxt", saved_p, "--out-weights", saved_w, "--force"],
            capture_output=True, text=True)
        if r.returncode:
            result("differs", "netsurgeon save failed: " + last_line(r.stderr))
            continue
        try:
            original = cv2.dnn.readNetFromCaffe(proto, w)
        except cv2.error as e:
            result("skipped", "OpenCV cannot read the original: " + last_line(e))
            continue
        try:
            saved = cv2.dnn.readNetFromCaffe(saved_p, saved_w)
        except cv2.error as e:
            result("saved-unreadable", last_line(e))
            continue
        info = json.loads(subprocess.run([args.netsurgeon, "inspect", "-q", proto, "--json"], capture_output=True, text=True).stdout)
        inputs = [b for b in info["blobs"] if b["shape"]][:1]
        if not inputs:
            result("skipped", "the prototxt gives no input shape")
            continue
        x = np.random.default_rng(0).uniform(-1, 1, inputs[0]["shape"]).astype(np.float32)
        try:
            original.setInput(x)
            a = original.forward()
        except cv2.error as e:
            result("skipped", "OpenCV cannot run the original: " + last_line(e))
            continue
        saved.setInput(x)
        b = saved.forward()
        if a.shape == b.shape and np.array_equal(a, b, equal_nan=True):
            result("same", f"output {list(a.shape)}")
        else:
            result("differs", f"output {list(a.shape)} vs {list(b.shape)}, max|diff| {float(np.abs(a - b).max()) if a.shape == b.shape else 'n/a'}")
    print(json.dumps(results))


if __name__ == "__main__":
    main()
