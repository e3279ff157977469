"""Single-op ONNX graphs over attribute grids, with onnxruntime's outputs, for
tests/it/to_caffe.rs: pooling (kernel, stride, pads, ceil_mode,
count_include_pad), Conv (pads incl. asymmetric, auto_pad, strides,
dilations, groups), ConvTranspose (strides, pads, output_padding, groups),
nearest Resize/Upsample (every opset form, coordinate modes, nearest modes),
linear and cubic Resize (scales up, down and fractional, sizes, axes,
keep_aspect_ratio_policy, cubic_coeff_a, exclude_outside, antialias),
and the opset forms of Softmax, Clip, Squeeze/Unsqueeze, Split, Slice,
ReduceMean, Pad. Written with onnx.helper from fixed seeds; the references are
onnxruntime's (an oracle independent of netsurgeon).

usage: python grid.py OUT_DIR  -> OUT_DIR/<case>/{model.onnx,input_x.npy,output_y.npy,case.json}, index.json
"""
import itertools, json, os, sys
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
import onnxruntime as ort

ort.set_default_logger_severity(3)
OUT = sys.argv[1]
cases = []
rng = np.random.RandomState(7)


def emit(name, family, opset, nodes, x_shape, inits=(), extra_inputs=(), ties=False, outputs=("y",)):
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs],
        [numpy_helper.from_array(np.asarray(v), k) for k, v in inits],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="grid.py")
    model.ir_version = 7
    x = rng.uniform(-2, 2, x_shape).astype(np.float32)
    if ties:  # few distinct values, so that orders among equal values count
        x = np.round(x).astype(np.float32)
    try:
        so = ort.SessionOptions()
        so.log_severity_level = 3
        sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
        ys = sess.run(None, {"x": x})
    except Exception as e:  # a combination ONNX itself rejects
        return
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    shapes = {}
    for i, (o, y) in enumerate(zip(outputs, ys)):
        y = np.asarray(y, np.float32)
        shapes[o] = list(y.shape)
        model.graph.output[i].type.tensor_type.shape.dim.extend(
            [onnx.TensorShapeProto.Dimension(dim_value=d) for d in y.shape])
        np.save(os.path.join(d, f"output_{o}.npy"), y)
    onnx.save(model, os.path.join(d, "model.onnx"))
    np.save(os.path.join(d, "input_x.npy"), x)
    case = {"case": name, "family": family, "opset": opset, "inputs": {"x": list(x_shape)}, "outputs": shapes}
    json.dump(case, open(os.path.join(d, "case.json"), "w"))
    cases.append(case)


def w(*shape):
    return (rng.standard_normal(shape) * 0.5).astype(np.float32)


PADS = [(0, 0, 0, 0), (1, 1, 1, 1), (0, 1, 0, 1), (1, 0, 1, 0), (1, 0, 0, 1)]
# Pooling.
for kind, k, s, pads, ceil, size in itertools.product(["max", "avg_incl", "avg_excl"], [2, 3], [1, 2], PADS, [0, 1], [7, 8]):
    if max(pads) >= k:
        continue
    attrs = dict(kernel_shape=[k, k], strides=[s, s], pads=list(pads), ceil_mode=ceil)
    op = "MaxPool" if kind == "max" else "AveragePool"
    if kind != "max":
        attrs["count_include_pad"] = int(kind == "avg_incl")
    name = f"pool_{kind}_k{k}s{s}_p{''.join(map(str, pads))}_c{ceil}_{size}"
    emit(name, "pool", 13, [helper.make_node(op, ["x"], ["y"], name="pool", **attrs)], [1, 2, size, size + 1])

# Conv.
for k, s, d, g, pads, auto in itertools.product([1, 3], [1, 2], [1, 2], [1, 2], PADS + [(2, 0, 1, 1)], ["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"]):
    if auto != "NOTSET" and pads != (0, 0, 0, 0):
        continue
    if auto.startswith("SAME") and d != 1:
        continue
    attrs = dict(kernel_shape=[k, k], strides=[s, s], dilations=[d, d], group=g)
    if auto == "NOTSET":
        attrs["pads"] = list(pads)
    else:
        attrs["auto_pad"] = auto
    name = f"conv_k{k}s{s}d{d}g{g}_{auto.lower()}_p{''.join(map(str, pads))}"
    emit(name, "conv", 13, [helper.make_node("Conv", ["x", "W", "B"], ["y"], name="conv", **attrs)],
         [1, 4, 9, 8], inits=[("W", w(6, 4 // g, k, k)), ("B", w(6))])

# ConvTranspose.
for k, s, p, op, g in itertools.product([2, 3, 4], [1, 2, 3], [(0, 0), (1, 1), (1, 0), (0, 1)], [0, 1], [1, 2]):
    if op >= s or max(p) >= k:
        continue
    attrs = dict(kernel_shape=[k, k], strides=[s, s], pads=[p[0], p[0], p[1], p[1]], output_padding=[op, op], group=g)
    name = f"deconv_k{k}s{s}_p{p[0]}{p[1]}_op{op}_g{g}"
    emit(name, "deconv", 13, [helper.make_node("ConvTranspose", ["x", "W"], ["y"], name="deconv", **attrs)],
         [1, 4, 5, 6], inits=[("W", w(4, 6 // g, k, k))])

# Nearest Resize (opsets 10, 11, 13, 18) and Upsample (7, 9).
for opset, f, transform, nmode in itertools.product(
        [11, 13, 18], [2, 3], ["half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel", "tf_half_pixel_for_nn"],
        ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"]):
    scales = np.array([1, 1, f, f], np.float32)
    node = helper.make_node("Resize", ["x", "", "scales"], ["y"], name="resize", mode="nearest",
                            coordinate_transformation_mode=transform, nearest_mode=nmode)
    emit(f"resize{opset}_x{f}_{transform}_{nmode}", "resize", opset, [node], [1, 3, 4, 5], inits=[("scales", scales)])
for f in [2, 3]:
    emit(f"resize10_x{f}", "resize", 10, [helper.make_node("Resize", ["x", "scales"], ["y"], name="resize", mode="nearest")],
         [1, 3, 4, 5], inits=[("scales", np.array([1, 1, f, f], np.float32))])
    emit(f"upsample9_x{f}", "resize", 9, [helper.make_node("Upsample", ["x", "scales"], ["y"], name="up", mode="nearest")],
         [1, 3, 4, 5], inits=[("scales", np.array([1, 1, f, f], np.float32))])
    emit(f"upsample7_x{f}", "resize", 7, [helper.make_node("Upsample", ["x"], ["y"], name="up", mode="nearest", scales=[1.0, 1.0, float(f), float(f)])],
         [1, 3, 4, 5])
emit("resize13_sizes", "resize", 13, [helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], name="resize", mode="nearest",
     coordinate_transformation_mode="asymmetric", nearest_mode="floor")], [1, 3, 4, 5], inits=[("sizes", np.array([1, 3, 8, 15], np.int64))])

# Linear and cubic Resize (opsets 11, 13, 18, 19) and linear Upsample (7, 9):
# upscaling, downscaling and fractional scales, every coordinate mode,
# cubic_coeff_a and exclude_outside; sizes, opset 18's axes and
# keep_aspect_ratio_policy; tf_crop_and_resize and antialias (refused).
TRANSFORMS = ["half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel"]
for opset, f, transform in itertools.product([11, 13, 19], [2.0, 3.0, 0.5, 1.5], TRANSFORMS + ["half_pixel_symmetric"]):
    if transform == "half_pixel_symmetric" and opset < 19:
        continue
    node = helper.make_node("Resize", ["x", "", "scales"], ["y"], name="resize", mode="linear",
                            coordinate_transformation_mode=transform)
    emit(f"linear{opset}_x{f}_{transform}", "interp", opset, [node], [1, 2, 5, 6],
         inits=[("scales", np.array([1, 1, f, f], np.float32))])
for f, transform, a, excl in itertools.product([2.0, 0.5, 1.5], TRANSFORMS, [-0.75, -0.5], [0, 1]):
    node = helper.make_node("Resize", ["x", "", "scales"], ["y"], name="resize", mode="cubic",
                            coordinate_transformation_mode=transform, cubic_coeff_a=a, exclude_outside=excl)
    emit(f"cubic13_x{f}_{transform}_a{a}_e{excl}", "interp", 13, [node], [1, 2, 5, 6],
         inits=[("scales", np.array([1, 1, f, f], np.float32))])
for mode, transform in itertools.product(["linear", "cubic", "nearest"], ["half_pixel", "align_corners"]):
    emit(f"{mode}13_sizes_{transform}", "interp", 13,
         [helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], name="resize", mode=mode,
                           coordinate_transformation_mode=transform)],
         [1, 2, 5, 6], inits=[("sizes", np.array([1, 2, 7, 4], np.int64))])
emit("linear18_axes", "interp", 18,
     [helper.make_node("Resize", ["x", "", "scales"], ["y"], name="resize", mode="linear", axes=[2, 3])],
     [1, 2, 5, 6], inits=[("scales", np.array([2.0, 1.5], np.float32))])
emit("linear18_axes_w_only", "interp", 18,
     [helper.make_node("Resize", ["x", "", "scales"], ["y"], name="resize", mode="linear", axes=[3])],
     [1, 2, 5, 6], inits=[("scales", np.array([2.0], np.float32))])
for policy in ["not_larger", "not_smaller"]:
    emit(f"linear18_{policy}", "interp", 18,
         [helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], name="resize", mode="linear", axes=[2, 3],
                           keep_aspect_ratio_policy=policy)],
         [1, 2, 5, 6], inits=[("sizes", np.array([9, 8], np.int64))])
for opset in [7, 9]:
    if opset == 7:
        node = helper.make_node("Upsample", ["x"], ["y"], name="up", mode="linear", scales=[1.0, 1.0, 2.0, 3.0])
        emit("upsample7_linear", "interp", 7, [node], [1, 2, 5, 6])
    else:
        node = helper.make_node("Upsample", ["x", "scales"], ["y"], name="up", mode="linear")
        emit("upsample9_linear", "interp", 9, [node], [1, 2, 5, 6], inits=[("scales", np.array([1, 1, 2, 3], np.float32))])
emit("resize10_linear", "interp", 10, [helper.make_node("Resize", ["x", "scales"], ["y"], name="resize", mode="linear")],
     [1, 2, 5, 6], inits=[("scales", np.array([1, 1, 2, 2], np.float32))])
emit("linear13_crop_and_resize", "interp", 13,
     [helper.make_node("Resize", ["x", "roi", "scales"], ["y"], name="resize", mode="linear",
                       coordinate_transformation_mode="tf_crop_and_resize")],
     [1, 2, 5, 6], inits=[("roi", np.array([0, 0, 0.1, 0.2, 1, 1, 0.9, 0.8], np.float32)),
                          ("scales", np.array([1, 1, 2, 2], np.float32))])
emit("linear18_antialias_down", "interp", 18,
     [helper.make_node("Resize", ["x", "", "scales"], ["y"], name="resize", mode="linear", antialias=1)],
     [1, 2, 5, 6], inits=[("scales", np.array([1, 1, 0.5, 0.5], np.float32))])
emit("linear18_antialias_up", "interp", 18,
     [helper.make_node("Resize", ["x", "", "scales"], ["y"], name="resize", mode="linear", antialias=1)],
     [1, 2, 5, 6], inits=[("scales", np.array([1, 1, 2, 2], np.float32))])

# Layout ops: strided Slice (YOLOv5's Focus, channel flips, reversed rows),
# SpaceToDepth, DepthToSpace (DCR, CRD), channel shuffle, Transposes that
# keep the batch and trailing axes.
def const(name, values):
    return (name, np.array(values, np.int64))
focus = [helper.make_node("Slice", ["x", f"s{i}", "e", "ax", "st"], [f"p{i}"], name=f"slice{i}") for i in range(4)]
focus.append(helper.make_node("Concat", [f"p{i}" for i in range(4)], ["y"], name="concat", axis=1))
emit("focus", "layout", 13, focus, [1, 3, 8, 6],
     inits=[const("s0", [0, 0]), const("s1", [1, 0]), const("s2", [0, 1]), const("s3", [1, 1]),
            const("e", [1 << 30, 1 << 30]), const("ax", [2, 3]), const("st", [2, 2])])
for starts, ends, axes, steps in [
        ([0], [100], [2], [3]), ([1], [-1], [3], [2]), ([-1], [-100], [1], [-1]), ([4], [0], [2], [-2]),
        ([-1, 0], [-100, 100], [3, 2], [-1, 2]), ([2, 1], [0, 5], [1, 3], [-1, 3]), ([0], [7], [-1], [4])]:
    tag = "_".join(f"a{a}s{b}e{e}st{t}" for a, b, e, t in zip(axes, starts, ends, steps)).replace("-", "m")
    emit(f"slice_{tag}", "layout", 13, [helper.make_node("Slice", ["x", "s", "e", "a", "t"], ["y"], name="slice")],
         [1, 3, 7, 8], inits=[const("s", starts), const("e", ends), const("a", axes), const("t", steps)])
emit("slice_batch_step", "layout", 13, [helper.make_node("Slice", ["x", "s", "e", "a", "t"], ["y"], name="slice")],
     [4, 3, 5, 5], inits=[const("s", [0]), const("e", [4]), const("a", [0]), const("t", [2])])
for b in [2, 3]:
    emit(f"space_to_depth_b{b}", "layout", 13, [helper.make_node("SpaceToDepth", ["x"], ["y"], name="s2d", blocksize=b)], [1, 3, 6, 12])
    for mode in ["DCR", "CRD"]:
        emit(f"depth_to_space_{mode}_b{b}", "layout", 13,
             [helper.make_node("DepthToSpace", ["x"], ["y"], name="d2s", blocksize=b, mode=mode)], [1, 2 * b * b, 3, 4])
for g in [2, 3, 4]:
    c = 12
    emit(f"channel_shuffle_g{g}", "layout", 13, [
        helper.make_node("Reshape", ["x", "s5"], ["r"], name="split_groups"),
        helper.make_node("Transpose", ["r"], ["t"], name="shuffle", perm=[0, 2, 1, 3, 4]),
        helper.make_node("Reshape", ["t", "s4"], ["y"], name="merge_groups")],
        [1, c, 4, 5], inits=[const("s5", [1, g, c // g, 4, 5]), const("s4", [1, c, 4, 5])])
for perm in [[0, 2, 1, 3], [0, 3, 1, 2], [0, 1, 3, 2]]:
    emit(f"transpose_{''.join(map(str, perm))}", "layout", 13,
         [helper.make_node("Transpose", ["x"], ["y"], name="transpose", perm=perm)], [2, 3, 4, 5])

# ArgMax, ArgMin, TopK, on inputs with ties (the order among equal values).
for op, axis, keep, last in itertools.product(["ArgMax", "ArgMin"], [1, 3, -2], [0, 1], [0, 1]):
    node = helper.make_node(op, ["x"], ["i"], name="arg", axis=axis, keepdims=keep, select_last_index=last)
    cast = helper.make_node("Cast", ["i"], ["y"], name="cast", to=TensorProto.FLOAT)
    emit(f"{op.lower()}_a{axis}_k{keep}_l{last}", "argmax", 13, [node, cast], [2, 6, 3, 5], ties=True)
for k, axis, largest in itertools.product([1, 3], [1, -1], [1, 0]):
    node = helper.make_node("TopK", ["x", "k"], ["v", "i"], name="topk", axis=axis, largest=largest)
    cast = helper.make_node("Cast", ["i"], ["y"], name="cast", to=TensorProto.FLOAT)
    emit(f"topk_k{k}_a{axis}_l{largest}", "argmax", 13, [node, cast], [2, 6, 3, 5], ties=True,
         inits=[const("k", [k])], outputs=("v", "y"))

# Reductions over any axes (Pooling over the axis, or a Convolution of
# ones), at opsets 13 (ReduceSum's axes an input) and 18 (all of them).
for op, axes, keep, opset in itertools.product(
        ["ReduceMean", "ReduceMax", "ReduceMin", "ReduceSum", "ReduceSumSquare", "ReduceL1", "ReduceL2"],
        [[1], [3], [1, 2], [0, 2, 3], [-1, 1]], [0, 1], [13, 18]):
    as_input = opset >= 18 or (op == "ReduceSum" and opset >= 13)
    if as_input:
        node = helper.make_node(op, ["x", "axes"], ["y"], name="reduce", keepdims=keep)
        inits = [const("axes", axes)]
    else:
        node = helper.make_node(op, ["x"], ["y"], name="reduce", keepdims=keep, axes=axes)
        inits = []
    tag = "_".join(map(str, axes)).replace("-", "m")
    emit(f"{op.lower()}{opset}_a{tag}_k{keep}", "reduce", opset, [node], [2, 3, 4, 5], inits=inits)

# Blob-by-blob broadcasts (no constant operand): SSD's L2 norm spelled out as
# ssd.pytorch exports it, and each arithmetic op with the broadcast operand
# on either side.
l2 = [helper.make_node("Pow", ["x", "two"], ["sq"], name="square"),
      helper.make_node("ReduceSum", ["sq", "ax1"], ["s"], name="sum", keepdims=1),
      helper.make_node("Sqrt", ["s"], ["n"], name="norm"),
      helper.make_node("Add", ["n", "eps"], ["ne"], name="plus_eps"),
      helper.make_node("Div", ["x", "ne"], ["d"], name="normalize"),
      helper.make_node("Mul", ["d", "w"], ["y"], name="scale")]
emit("l2norm_ssd_pytorch", "broadcast", 13, l2, [1, 4, 5, 6],
     inits=[("two", np.array(2.0, np.float32)), const("ax1", [1]), ("eps", np.array(1e-10, np.float32)),
            ("w", (rng.uniform(1, 20, (1, 4, 1, 1))).astype(np.float32))])
for op, shape_axes, left in itertools.product(["Add", "Sub", "Mul", "Div"], [[1], [2, 3], [0, 1, 3]], [0, 1]):
    reduce = helper.make_node("ReduceMax", ["x"], ["r"], name="reduce", axes=shape_axes, keepdims=1)
    pos = helper.make_node("Sigmoid", ["r"], ["p"], name="positive")  # keeps Div away from 0
    ins = ["p", "x"] if left else ["x", "p"]
    tag = "".join(map(str, shape_axes))
    emit(f"{op.lower()}_blob_by_r{tag}_{'left' if left else 'right'}", "broadcast", 13,
         [reduce, pos, helper.make_node(op, ins, ["y"], name="op")], [2, 3, 4, 5])
both = [helper.make_node("ReduceMean", ["x"], ["a"], name="rows", axes=[1, 3], keepdims=1),
        helper.make_node("ReduceMean", ["x"], ["b"], name="cols", axes=[1, 2], keepdims=1),
        helper.make_node("Add", ["a", "b"], ["y"], name="outer")]
emit("add_both_ways", "broadcast", 13, both, [2, 3, 4, 5])
bn_pow = [helper.make_node("Add", ["var", "eps"], ["ve"], name="var_eps"),
          helper.make_node("Pow", ["ve", "half"], ["sd"], name="std"),
          helper.make_node("Div", ["x", "sd"], ["y"], name="normalize")]
emit("pow_of_constants_folds", "broadcast", 13, bn_pow, [1, 3, 4, 5],
     inits=[("var", rng.uniform(0.5, 2, (1, 3, 1, 1)).astype(np.float32)), ("eps", np.array(1e-5, np.float32)),
            ("half", np.array(0.5, np.float32))])

# Approximations (refused unless --allow-approximate): Erf, and GELU as
# PyTorch spells it out (x * 0.5 * (1 + erf(x / sqrt 2))).
emit("erf", "approx", 13, [helper.make_node("Erf", ["x"], ["y"], name="erf")], [1, 3, 8, 9])
gelu = [helper.make_node("Div", ["x", "sqrt2"], ["s"], name="scale"),
        helper.make_node("Erf", ["s"], ["e"], name="erf"),
        helper.make_node("Add", ["e", "one"], ["p"], name="plus_one"),
        helper.make_node("Mul", ["x", "p"], ["m"], name="times_x"),
        helper.make_node("Mul", ["m", "half"], ["y"], name="half")]
emit("gelu_erf", "approx", 13, gelu, [1, 3, 8, 9],
     inits=[("sqrt2", np.array(np.sqrt(2.0), np.float32)), ("one", np.array(1.0, np.float32)),
            ("half", np.array(0.5, np.float32))])

# InstanceNormalization, LayerNormalization (opset 17) and LayerNorm as
# PyTorch spells it out before 17.
for shape in [[2, 3, 4, 5], [1, 4, 6]]:
    c = shape[1]
    emit(f"instance_norm_{len(shape)}d", "norm", 13,
         [helper.make_node("InstanceNormalization", ["x", "s", "b"], ["y"], name="in", epsilon=1e-3)], shape,
         inits=[("s", rng.uniform(0.5, 2, c).astype(np.float32)), ("b", rng.uniform(-1, 1, c).astype(np.float32))])
for shape, axis, bias in [([2, 3, 8], -1, True), ([2, 3, 4, 5], 1, True), ([2, 3, 4, 5], -2, False)]:
    trailing = shape[axis:] if axis < 0 else shape[axis:]
    ins = ["x", "s", "b"] if bias else ["x", "s"]
    inits = [("s", rng.uniform(0.5, 2, trailing).astype(np.float32))]
    if bias:
        inits.append(("b", rng.uniform(-1, 1, trailing).astype(np.float32)))
    emit(f"layer_norm_{len(shape)}d_axis{axis}".replace("-", "m"), "norm", 17,
         [helper.make_node("LayerNormalization", ins, ["y"], name="ln", axis=axis, epsilon=1e-5)], shape, inits=inits)
spelled = [helper.make_node("ReduceMean", ["x"], ["m"], name="mean", axes=[-1]),
           helper.make_node("Sub", ["x", "m"], ["d"], name="centre"),
           helper.make_node("Pow", ["d", "two"], ["d2"], name="square"),
           helper.make_node("ReduceMean", ["d2"], ["v"], name="var", axes=[-1]),
           helper.make_node("Add", ["v", "eps"], ["ve"], name="plus_eps"),
           helper.make_node("Sqrt", ["ve"], ["sd"], name="std"),
           helper.make_node("Div", ["d", "sd"], ["n"], name="normalize"),
           helper.make_node("Mul", ["n", "g"], ["ng"], name="gamma"),
           helper.make_node("Add", ["ng", "b"], ["y"], name="beta")]
emit("layer_norm_spelled_out", "norm", 13, spelled, [2, 3, 8],
     inits=[("two", np.array(2.0, np.float32)), ("eps", np.array(1e-5, np.float32)),
            ("g", rng.uniform(0.5, 2, 8).astype(np.float32)), ("b", rng.uniform(-1, 1, 8).astype(np.float32))])

# Opset forms.
for opset, axis in itertools.product([11, 13], [1, 2, 3, -1]):
    emit(f"softmax{opset}_axis{axis}", "forms", opset, [helper.make_node("Softmax", ["x"], ["y"], name="softmax", axis=axis)], [2, 3, 4, 5])
for opset in [7, 11, 13]:
    if opset < 11:
        clip = helper.make_node("Clip", ["x"], ["y"], name="clip", min=-0.5, max=1.5)
        emit(f"clip{opset}", "forms", opset, [clip], [1, 3, 4, 5])
    else:
        emit(f"clip{opset}", "forms", opset, [helper.make_node("Clip", ["x", "lo", "hi"], ["y"], name="clip")], [1, 3, 4, 5],
             inits=[("lo", np.array(-0.5, np.float32)), ("hi", np.array(1.5, np.float32))])
        emit(f"clip{opset}_max_only", "forms", opset, [helper.make_node("Clip", ["x", "", "hi"], ["y"], name="clip")], [1, 3, 4, 5],
             inits=[("hi", np.array(0.25, np.float32))])
for opset in [11, 13]:
    if opset < 13:
        nodes = [helper.make_node("ReduceMean", ["x"], ["m"], name="mean", axes=[2, 3], keepdims=1),
                 helper.make_node("Squeeze", ["m"], ["s"], name="squeeze", axes=[2, 3]),
                 helper.make_node("Unsqueeze", ["s"], ["u"], name="unsqueeze", axes=[0]),
                 helper.make_node("Split", ["u"], ["a", "b"], name="split", axis=2, split=[1, 2]),
                 helper.make_node("Concat", ["b", "a"], ["y"], name="concat", axis=2)]
        inits = []
    else:
        nodes = [helper.make_node("ReduceMean", ["x"], ["m"], name="mean", axes=[2, 3], keepdims=0),
                 helper.make_node("Unsqueeze", ["m", "ax0"], ["u"], name="unsqueeze"),
                 helper.make_node("Split", ["u", "sp"], ["a", "b"], name="split", axis=2),
                 helper.make_node("Concat", ["b", "a"], ["y"], name="concat", axis=2)]
        inits = [("ax0", np.array([0], np.int64)), ("sp", np.array([1, 2], np.int64))]
    emit(f"reduce_squeeze_split{opset}", "forms", opset, nodes, [2, 3, 4, 5], inits=inits)
for opset in [9, 13]:
    if opset < 10:
        node = helper.make_node("Slice", ["x"], ["y"], name="slice", starts=[1, -3], ends=[3, 100], axes=[1, 3])
        emit(f"slice{opset}", "forms", opset, [node], [1, 4, 5, 6])
    else:
        node = helper.make_node("Slice", ["x", "st", "en", "ax"], ["y"], name="slice")
        emit(f"slice{opset}", "forms", opset, [node], [1, 4, 5, 6],
             inits=[("st", np.array([1, -3], np.int64)), ("en", np.array([3, 100], np.int64)), ("ax", np.array([1, 3], np.int64))])
for opset in [7, 13]:
    # Shape arithmetic PyTorch exports: Shape -> Gather -> Unsqueeze -> Concat -> Reshape.
    if opset < 13:
        continue
    nodes = [helper.make_node("Shape", ["x"], ["shape"], name="shape"),
             helper.make_node("Gather", ["shape", "zero"], ["n"], name="gather", axis=0),
             helper.make_node("Unsqueeze", ["n", "ax0"], ["n1"], name="unsqueeze"),
             helper.make_node("Concat", ["n1", "minus1"], ["target"], name="concat", axis=0),
             helper.make_node("Reshape", ["x", "target"], ["y"], name="reshape")]
    emit("shape_arith_reshape", "forms", opset, nodes, [2, 3, 4, 5],
         inits=[("zero", np.array(0, np.int64)), ("ax0", np.array([0], np.int64)), ("minus1", np.array([-1], np.int64))])
for opset in [9, 11]:
    if opset < 11:
        pad = helper.make_node("Pad", ["x"], ["p"], name="pad", pads=[0, 0, 1, 2, 0, 0, 2, 1])
        inits = [("W", w(5, 3, 3, 3))]
    else:
        pad = helper.make_node("Pad", ["x", "pads"], ["p"], name="pad")
        inits = [("W", w(5, 3, 3, 3)), ("pads", np.array([0, 0, 1, 2, 0, 0, 2, 1], np.int64))]
    conv = helper.make_node("Conv", ["p", "W"], ["y"], name="conv", kernel_shape=[3, 3], strides=[2, 2])
    emit(f"pad_conv{opset}", "forms", opset, [pad, conv], [1, 3, 7, 8], inits=inits)
    avg = helper.make_node("AveragePool", ["p"], ["y"], name="avg", kernel_shape=[3, 3], count_include_pad=1)
    emit(f"pad_avgpool{opset}", "forms", opset, [pad, avg], [1, 3, 7, 8], inits=inits[1:])
emit("gemm7_broadcast", "forms", 7, [helper.make_node("Gemm", ["x", "B", "C"], ["y"], name="gemm", transB=1, alpha=0.5, beta=2.0)],
     [3, 6], inits=[("B", w(4, 6)), ("C", w(4))])
emit("batchnorm9", "forms", 9, [helper.make_node("BatchNormalization", ["x", "g", "b", "m", "v"], ["y"], name="bn", epsilon=1e-3)],
     [2, 3, 4, 5], inits=[("g", w(3)), ("b", w(3)), ("m", w(3)), ("v", np.abs(w(3)) + 0.5)])
emit("prelu_shared", "forms", 13, [helper.make_node("PRelu", ["x", "s"], ["y"], name="prelu")], [1, 3, 4, 5], inits=[("s", np.array([0.25], np.float32))])

json.dump(cases, open(os.path.join(OUT, "index.json"), "w"), indent=1)
print(len(cases), "cases")
