"""Reference values for caffe-preprocess's tests, from pycaffe itself.

Not run by the tests: it documents where their numbers come from. Needs
numpy, scipy, scikit-image and Pillow (values recorded with numpy 2.4,
scipy 1.17, scikit-image 0.26, Pillow 13 / libjpeg-turbo 3) and BVLC Caffe's
python/caffe/io.py (commit 9b89154) saved as caffe_io.py beside this script,
with `as_grey=` replaced by `as_gray=` (skimage >= 0.16 dropped the old name).

    python3 reference.py            # prints the values pasted into tests/*.rs
    python3 reference.py --write    # rewrites tests/data/*.npy

pycaffe does not pass `anti_aliasing` to skimage.transform.resize; skimage
<= 0.14 does none, >= 0.15 does by default. `aa(False)` reproduces the former
(AntiAliasing::Off), `aa(True)` the latter (AntiAliasing::Gaussian).
"""
import functools
import os
import sys
import warnings

import numpy as np
import skimage.transform

warnings.simplefilter("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import caffe_io as cio  # noqa: E402

F = os.path.join(HERE, "../../../fixtures/")


def aa(flag):
    if flag:
        cio.resize = skimage.transform.resize
    else:
        cio.resize = functools.partial(skimage.transform.resize, anti_aliasing=False)


def checksum_u8(a):
    v = np.round(a.astype(np.float64) * 255).astype(np.int64).ravel()
    assert np.abs(a.astype(np.float64)*255 - v.reshape(a.shape)).max() < 1e-3
    w = (np.arange(v.size) % 1009) + 1
    return int(v.sum()), int((v * w).sum())
# A. load
for n in ["cat.jpg", "fish-bike.jpg"]:
    im = cio.load_image(F + "images/" + n)
    print("load", n, im.shape, im.dtype, checksum_u8(im))
g = cio.load_image(F + "images/cat.jpg", color=False)
print("gray of colour", g.shape, g.dtype, repr(float(g.astype(np.float64).sum())), [repr(float(g[y, x, 0])) for (y, x) in [(0, 0), (100, 200), (359, 479), (180, 240)]])
gi = cio.load_image(F + "images/cat_gray.jpg", color=False)
inp = np.load(F + "golden/designer/input.npy")
print("cat_gray exact", np.array_equal(gi[:, :, 0], inp[0, 0]))
# B. resize
pts2 = [(0, 0), (0, 226), (113, 113), (226, 0), (100, 50), (226, 226)]
for flag in [False, True]:
    aa(flag)
    r = cio.resize_image(gi, (227, 227))
    print("resize gray aa=%s" % flag, r.shape, r.dtype, repr(float(r.astype(np.float64).sum())), [repr(float(r[y, x, 0])) for y, x in pts2])
    c = cio.load_image(F + "images/cat.jpg")
    r = cio.resize_image(c, (451, 451))
    pts = [(0, 0, 0), (0, 450, 1), (225, 225, 2), (450, 0, 0), (300, 100, 1), (450, 450, 2)]
    print("resize cat451 aa=%s" % flag, r.shape, repr(float(r.astype(np.float64).sum())), [repr(float(r[p])) for p in pts])
# hand cases
aa(False)
a = np.array([[10, 20], [20, 20]], np.float32)[:, :, None]
print("2x2->4x4", cio.resize_image(a, (4, 4))[:, :, 0].tolist())
b = np.arange(16, dtype=np.float32).reshape(4, 4, 1)
print("4x4->2x2 off", cio.resize_image(b, (2, 2))[:, :, 0].tolist())
aa(True)
print("4x4->2x2 aa", [repr(float(v)) for v in cio.resize_image(b, (2, 2)).ravel()])
z = np.arange(16, dtype=np.float32).reshape(2, 2, 4)
print("zoom 2x2x4->3x3", cio.resize_image(z, (3, 3))[:, :, 0].tolist())
# C. transformer
aa(False)
mean = np.load(F + "models/ilsvrc_2012_mean.npy")
cm = mean.mean(1).mean(1)
print("channel mean", [repr(float(v)) for v in cm])
img = cio.load_image(F + "images/cat.jpg")
for kind in ["channel", "image"]:
    t = cio.Transformer({"data": (10, 3, 227, 227)})
    t.set_transpose("data", (2, 0, 1)); t.set_channel_swap("data", (2, 1, 0)); t.set_raw_scale("data", 255)
    t.set_mean("data", cm if kind == "channel" else mean)
    if kind == "image":
        t.set_input_scale("data", 0.5)
        m = t.mean["data"]; print("resized mean", m.shape, m.dtype, [repr(float(m[p])) for p in [(0,0,0),(1,113,113),(2,226,226),(0,50,200)]])
    x = t.preprocess("data", img)
    pts3 = [(0, 0, 0), (1, 113, 113), (2, 226, 226), (0, 50, 200), (2, 200, 10)]
    print("pre", kind, x.shape, x.dtype, repr(float(x.astype(np.float64).sum())), [repr(float(x[p])) for p in pts3])
    d = t.deprocess("data", x)
    print("  deproc", d.shape, repr(float(d.astype(np.float64).sum())))
# gray preprocess exactly
t = cio.Transformer({"data": (1, 1, 360, 480)}); t.set_transpose("data", (2, 0, 1))
print("gray pre exact", np.array_equal(t.preprocess("data", gi), inp[0]))
# oversample
o = cio.oversample([np.arange(5*6*1, dtype=np.float32).reshape(5, 6, 1)], (3, 4))
print("oversample", o.shape, o[4, :, :, 0].tolist(), o[9, :, :, 0].tolist())
o = cio.oversample([np.zeros((256, 256, 3), np.float32)], (227, 227)); print(o.shape)
# A random image whose range is not [0, 1], resized down and up at once.
rng = np.random.default_rng(1)
x = (0.1 + 0.6 * rng.random((37, 53, 3))).astype(np.float32)
outs = {}
for name, flag in [("off", False), ("gaussian", True)]:
    aa(flag)
    outs[name] = cio.resize_image(x, (20, 71))
if "--write" in sys.argv:
    data = os.path.join(HERE, "data")
    np.save(os.path.join(data, "resize_in_37x53x3.npy"), x)
    for name, out in outs.items():
        np.save(os.path.join(data, "resize_out_20x71_%s.npy" % name), out)
