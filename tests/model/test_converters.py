"""Every converter of harness.model.converters against onnxruntime on random inputs.

Each case is a one-node ONNX graph at the op version under test; the converted torch module
must give onnxruntime's outputs (float32 tolerances) for every output of the node.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from harness.model.converters import register_all
from harness.model.parity import ort_session
from harness.model.converters.compat import onnx2torch_module

RNG = np.random.default_rng(0)


def _randn(*shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def single_node(op, inputs: dict, consts: dict, attrs: dict | None = None, opset: int = 18, outputs=("y",),
                domain_opsets=()) -> onnx.ModelProto:
    """A graph with one ``op`` node; ``inputs`` are fed, ``consts`` are initializers ('' = absent)."""
    names = list(inputs) + list(consts)
    order = attrs.pop("_order") if attrs and "_order" in attrs else names
    node = helper.make_node(op, order, list(outputs), name=f"{op.lower()}_node", **(attrs or {}))
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info(k, helper.np_dtype_to_tensor_dtype(v.dtype), list(v.shape)) for k, v in inputs.items()],
        [helper.make_empty_tensor_value_info(o) for o in outputs if o],
        initializer=[numpy_helper.from_array(v, k) for k, v in consts.items() if k],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset), *domain_opsets])
    model.ir_version = 10 if opset >= 21 else 8
    return model


def check(model: onnx.ModelProto, feeds: dict, atol=1e-5, rtol=1e-4):
    register_all()
    onnx2torch = onnx2torch_module()
    session = ort_session(model, [])
    names = [o.name for o in session.get_outputs()]
    expected = session.run(names, feeds)
    graph = onnx2torch.convert(model).eval()
    with torch.no_grad():
        got = graph(*[torch.from_numpy(v) for v in feeds.values()])
    got = got if isinstance(got, (tuple, list)) else (got,)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g.numpy().astype(np.float64), e.astype(np.float64), atol=atol, rtol=rtol)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_20(approximate):
    x = _randn(2, 5, 7, scale=3)
    check(single_node("Gelu", {"x": x}, {}, {"approximate": approximate}, opset=20), {"x": x})


def test_mish_18():
    x = _randn(2, 3, 4, scale=3)
    check(single_node("Mish", {"x": x}, {}, opset=18), {"x": x})


@pytest.mark.parametrize("opset,mode,pads,axes", [
    (18, "constant", [0, 0, 1, 2, 0, 0, 3, 0], None),
    (18, "constant", [1, 2, 3, 0], [2, 3]),
    (18, "reflect", [0, 0, 2, 1, 0, 0, 1, 2], None),
    (18, "edge", [1, 1, 2, 0], [-2, -1]),
    (19, "wrap", [0, 0, 1, 2, 0, 0, 2, 1], None),
    (21, "constant", [0, 0, -1, 1, 0, 0, 1, -1], None),
])
def test_pad_18_plus(opset, mode, pads, axes):
    x = _randn(2, 3, 5, 6)
    consts = {"pads": np.array(pads, np.int64), "value": np.array(0.5, np.float32)}
    if axes is not None:
        consts["axes"] = np.array(axes, np.int64)
    check(single_node("Pad", {"x": x}, consts, {"mode": mode}, opset=opset), {"x": x})


@pytest.mark.parametrize("sizes", [None, [2, 2, 3]])
def test_split_18(sizes):
    x = _randn(2, 7, 3)
    consts = {"split": np.array(sizes, np.int64)} if sizes else {}
    attrs = {"axis": 1} if sizes else {"axis": 1, "num_outputs": 3}
    check(single_node("Split", {"x": x}, consts, attrs, opset=18, outputs=("a", "b", "c")), {"x": x})


@pytest.mark.parametrize("op", ["ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
                                "ReduceLogSumExp", "ReduceSumSquare"])
@pytest.mark.parametrize("keepdims", [0, 1])
def test_reduce_18(op, keepdims):
    x = _randn(2, 3, 4, 5)
    check(single_node(op, {"x": x}, {"axes": np.array([1, -1], np.int64)}, {"keepdims": keepdims}, opset=18), {"x": x})


def test_reduce_20_without_axes():
    x = _randn(2, 3, 4)
    check(single_node("ReduceMax", {"x": x}, {}, {"keepdims": 0}, opset=20), {"x": x})
    check(single_node("ReduceMean", {"x": x}, {}, {"noop_with_empty_axes": 1}, opset=18), {"x": x})


RESIZE_CASES = [
    ("nearest", "asymmetric", "floor", [1, 1, 2, 2]),
    ("nearest", "half_pixel", "round_prefer_floor", [1, 1, 2.5, 1.5]),
    ("nearest", "align_corners", "round_prefer_ceil", [1, 1, 0.6, 2]),
    ("nearest", "pytorch_half_pixel", "ceil", [1, 1, 0.5, 3]),
    ("linear", "half_pixel", None, [1, 1, 2, 2]),
    ("linear", "align_corners", None, [1, 1, 1.7, 0.5]),
    ("linear", "asymmetric", None, [1, 1, 3, 2]),
    ("linear", "pytorch_half_pixel", None, [1, 1, 2, 1]),
    ("cubic", "half_pixel", None, [1, 1, 2, 2]),
    ("cubic", "asymmetric", None, [1, 1, 1.5, 0.75]),
]


@pytest.mark.parametrize("mode,coordinates,nearest,scales", RESIZE_CASES)
def test_resize_18_matches_onnxruntime(mode, coordinates, nearest, scales):
    x = _randn(2, 3, 6, 8)
    attrs = {"mode": mode, "coordinate_transformation_mode": coordinates}
    if nearest:
        attrs["nearest_mode"] = nearest
    consts = {"roi": np.zeros(0, np.float32), "scales": np.array(scales, np.float32)}
    check(single_node("Resize", {"x": x}, consts, attrs, opset=18), {"x": x}, atol=1e-4)


def test_resize_sizes_axes_and_symmetric():
    x = _randn(1, 2, 5, 7)
    attrs = {"mode": "linear", "coordinate_transformation_mode": "half_pixel_symmetric", "axes": [2, 3]}
    model = single_node("Resize", {"x": x}, {"roi": np.zeros(0, np.float32), "scales": np.zeros(0, np.float32),
                                             "sizes": np.array([9, 4], np.int64)}, attrs, opset=19)
    check(model, {"x": x}, atol=1e-4)
    attrs = {"mode": "cubic", "exclude_outside": 1, "cubic_coeff_a": -0.5}
    model = single_node("Resize", {"x": x}, {"roi": np.zeros(0, np.float32), "scales": np.zeros(0, np.float32),
                                             "sizes": np.array([1, 2, 8, 11], np.int64)}, attrs, opset=18)
    check(model, {"x": x}, atol=1e-4)


@pytest.mark.parametrize("mode", ["nearest", "linear"])
def test_upsample_9(mode):
    x = _randn(1, 2, 4, 5)
    model = single_node("Upsample", {"x": x}, {"scales": np.array([1, 1, 2, 3], np.float32)}, {"mode": mode}, opset=9)
    model.ir_version = 4
    check(model, {"x": x}, atol=1e-4)


def test_upsample_7_attribute():
    x = _randn(1, 2, 3, 4)
    model = single_node("Upsample", {"x": x}, {}, {"mode": "nearest", "scales": [1.0, 1.0, 2.0, 2.0]}, opset=7)
    model.ir_version = 3
    check(model, {"x": x})


def test_global_max_pool_and_average_pool_19():
    x = _randn(2, 3, 7, 6)
    check(single_node("GlobalMaxPool", {"x": x}, {}, opset=18), {"x": x})
    attrs = {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1], "count_include_pad": 0, "dilations": [1, 1]}
    check(single_node("AveragePool", {"x": x}, {}, attrs, opset=19), {"x": x})


@pytest.mark.parametrize("opset", [18, 21])
def test_group_normalization(opset):
    x = _randn(2, 6, 4, 5, scale=2)
    groups = 3
    count = groups if opset == 18 else 6
    consts = {"scale": _randn(count), "bias": _randn(count)}
    check(single_node("GroupNormalization", {"x": x}, consts, {"num_groups": groups, "epsilon": 1e-5}, opset=opset),
          {"x": x}, atol=1e-4)


@pytest.mark.parametrize("opset", [13, 19, 21])
def test_quantize_dequantize_in_float(opset):
    x = _randn(2, 4, 3, 3, scale=2)
    q = single_node("QuantizeLinear", {"x": x}, {"s": np.array([0.02, 0.05, 0.01, 0.03], np.float32),
                                                 "zp": np.array([0, 3, -5, 10], np.int8)}, {"axis": 1}, opset=opset)
    check(q, {"x": x})
    # QDQ round trip, per-tensor uint8 (the default type)
    node_q = helper.make_node("QuantizeLinear", ["x", "s", "zp"], ["q"], name="q")
    node_dq = helper.make_node("DequantizeLinear", ["q", "s", "zp"], ["y"], name="dq")
    graph = helper.make_graph([node_q, node_dq], "qdq", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x.shape))],
                              [helper.make_empty_tensor_value_info("y")],
                              initializer=[numpy_helper.from_array(np.array(0.017, np.float32), "s"),
                                           numpy_helper.from_array(np.array(128, np.uint8), "zp")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    check(model, {"x": x})


def test_dequantize_blocked_21():
    w = RNG.integers(-128, 127, size=(4, 6)).astype(np.int8)
    model = single_node("DequantizeLinear", {"w": w}, {"s": np.abs(_randn(4, 2)) + 0.01, "zp": np.zeros((4, 2), np.int8)},
                        {"axis": 1, "block_size": 3}, opset=21)
    check(model, {"w": w})


def test_dynamic_quantize_and_matmul_integer():
    x = _randn(5, 8, scale=3)
    b = RNG.integers(0, 255, size=(8, 4)).astype(np.uint8)
    nodes = [
        helper.make_node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"], name="dql"),
        helper.make_node("MatMulInteger", ["xq", "b", "xz", "bz"], ["acc"], name="mmi"),
        helper.make_node("Cast", ["acc"], ["accf"], to=TensorProto.FLOAT, name="cast"),
        helper.make_node("Mul", ["accf", "xs"], ["y"], name="scale"),
    ]
    graph = helper.make_graph(nodes, "dyn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [5, 8])],
                              [helper.make_empty_tensor_value_info("y")],
                              initializer=[numpy_helper.from_array(b, "b"), numpy_helper.from_array(np.array(7, np.uint8), "bz")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    check(model, {"x": x}, atol=1e-3)


def _recurrent_model(op, opset, direction, layout, extra_attrs, with_state=True, peephole=False):
    hidden, inp, seq, batch = 5, 4, 6, 3
    dirs = 2 if direction == "bidirectional" else 1
    gates = 4 if op == "LSTM" else 3
    x = _randn(seq, batch, inp) if layout == 0 else _randn(batch, seq, inp)
    consts = {"W": _randn(dirs, gates * hidden, inp, scale=0.5), "R": _randn(dirs, gates * hidden, hidden, scale=0.5),
              "B": _randn(dirs, 2 * gates * hidden, scale=0.5), "seq": ""}
    state_shape = (dirs, batch, hidden) if layout == 0 else (batch, dirs, hidden)
    if with_state:
        consts["h0"] = _randn(*state_shape)
        if op == "LSTM":
            consts["c0"] = _randn(*state_shape)
    if peephole:
        consts["P"] = _randn(dirs, 3 * hidden, scale=0.5)
    order = ["x"] + ["" if isinstance(v, str) else k for k, v in consts.items()]
    consts = {k: v for k, v in consts.items() if not isinstance(v, str)}
    attrs = {"hidden_size": hidden, "direction": direction, "_order": order, **extra_attrs}
    if opset >= 14:
        attrs["layout"] = layout
    outputs = ("y", "y_h", "y_c") if op == "LSTM" else ("y", "y_h")
    inputs = {"x": x}
    return single_node(op, inputs, consts, attrs, opset=opset, outputs=outputs), {"x": x}


@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
def test_lstm(direction):
    check(*_recurrent_model("LSTM", 14, direction, 0, {}), atol=1e-5)


def test_lstm_peephole_clip_layout_and_single_output():
    check(*_recurrent_model("LSTM", 14, "bidirectional", 0, {"clip": 1.5}, peephole=True), atol=1e-5)
    # onnxruntime has no layout=1 kernel: batch-first must equal the transposed time-first result
    from harness.model.converters.recurrent import OnnxLSTM

    x = torch.from_numpy(_randn(6, 3, 4))
    w, r, b = (torch.from_numpy(_randn(2, 20, 4)), torch.from_numpy(_randn(2, 20, 5)), torch.from_numpy(_randn(2, 40)))
    args = (5, "bidirectional", None, ["Sigmoid", "Tanh", "Tanh"] * 2, [], [])
    y0, h0, c0 = OnnxLSTM(5, "bidirectional", 0, *args[2:])(x, w, r, b)
    y1, h1, c1 = OnnxLSTM(5, "bidirectional", 1, *args[2:])(x.transpose(0, 1), w, r, b)
    torch.testing.assert_close(y1, y0.permute(2, 0, 1, 3))
    torch.testing.assert_close(h1, h0.transpose(0, 1))
    torch.testing.assert_close(c1, c0.transpose(0, 1))
    model, feeds = _recurrent_model("LSTM", 7, "forward", 0, {}, with_state=False)
    del model.graph.node[0].output[1:]
    del model.graph.output[1:]
    check(model, feeds, atol=1e-5)


@pytest.mark.parametrize("linear_before_reset", [0, 1])
@pytest.mark.parametrize("direction", ["forward", "bidirectional"])
def test_gru(direction, linear_before_reset):
    check(*_recurrent_model("GRU", 14, direction, 0, {"linear_before_reset": linear_before_reset}), atol=1e-5)


def test_type_only_aliases_and_cast_like():
    x = _randn(2, 3, 4)
    check(single_node("Identity", {"x": x}, {}, opset=21), {"x": x})
    check(single_node("Reshape", {"x": x}, {"shape": np.array([6, -1], np.int64)}, opset=21), {"x": x})
    check(single_node("Flatten", {"x": x}, {}, {"axis": 2}, opset=21), {"x": x})
    check(single_node("CastLike", {"x": x}, {"like": np.zeros(1, np.float64)}, opset=19), {"x": x})
