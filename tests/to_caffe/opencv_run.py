"""Runs Caffe models in OpenCV's Caffe importer (cv2.dnn.readNetFromCaffe)
for tests/it/to_caffe.rs and prints, per case, the worst
max|opencv - expected| / max|expected| over its outputs as JSON.

usage: python opencv_run.py JOBS.json   (a list of {case, prototxt, caffemodel, inputs: {blob: npy}, outputs: {blob: npy}})
"""
import json, sys
import numpy as np
import cv2

results = {}
for job in json.load(open(sys.argv[1])):
    try:
        net = cv2.dnn.readNetFromCaffe(job["prototxt"], job["caffemodel"])
        net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
        if hasattr(net, "enableWinograd"):
            net.enableWinograd(False)
        for name, path in job["inputs"].items():
            net.setInput(np.load(path), name)
        names = list(job["outputs"])
        got = net.forward(names)
        worst = 0.0
        for name, value in zip(names, got):
            ref = np.load(job["outputs"][name])
            value = np.asarray(value)
            if value.shape != ref.shape:
                # OpenCV gives 1-D and 2-D blobs as 2-D or 4-D matrices.
                if value.size != ref.size:
                    raise ValueError(f"{name}: OpenCV shape {value.shape}, expected {ref.shape}")
                value = value.reshape(ref.shape)
            scale = float(np.abs(ref).max())
            err = float(np.abs(value - ref).max())
            worst = max(worst, 0.0 if err == 0 else err / scale if scale > 0 else float("inf"))
        results[job["case"]] = {"rel": worst}
    except Exception as e:
        results[job["case"]] = {"error": str(e)[:400]}
print(json.dumps(results))
