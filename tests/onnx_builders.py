"""Tiny ONNX graphs built directly with onnx.helper (fast, no exporter needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def conv_relu_model(size: int = 16, layout: str = "NCHW", extra_op: str | None = None, opset: int = 17) -> onnx.ModelProto:
    """input -> [Transpose if NHWC] -> Conv 'conv1' -> Relu 'relu1' -> [extra_op] -> GlobalAveragePool -> output."""
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.normal(size=(4, 3, 3, 3)).astype(np.float32), "conv1.weight")
    b = numpy_helper.from_array(rng.normal(size=(4,)).astype(np.float32), "conv1.bias")
    shape = [None, 3, size, size] if layout == "NCHW" else [None, size, size, 3]
    nodes = []
    x = "input"
    if layout == "NHWC":
        nodes.append(helper.make_node("Transpose", ["input"], ["nchw"], name="to_nchw", perm=[0, 3, 1, 2]))
        x = "nchw"
    nodes += [
        helper.make_node("Conv", [x, "conv1.weight", "conv1.bias"], ["conv1_out"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv1_out"], ["relu1_out"], name="relu1"),
    ]
    last = "relu1_out"
    if extra_op:
        nodes.append(helper.make_node(extra_op, [last], ["extra_out"], name="exotic_node"))
        last = "extra_out"
    nodes.append(helper.make_node("GlobalAveragePool", [last], ["output"], name="pool"))
    graph = helper.make_graph(
        nodes, "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [None, 4, 1, 1])],
        initializer=[w, b],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


def save(model: onnx.ModelProto, path: Path) -> Path:
    onnx.save(model, str(path))
    return path
