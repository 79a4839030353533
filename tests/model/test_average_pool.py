"""AveragePool with asymmetric pads (Caffe2-era Inception) imports with parity, counting pads or not."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from harness.model.card import load_card
from harness.model.importer import import_card
from tests.helpers import write_card


@pytest.mark.parametrize("count_include_pad", [0, 1])
@pytest.mark.parametrize("ceil_mode", [0, 1])
def test_asymmetric_average_pool_matches_onnxruntime(tmp_path, count_include_pad, ceil_mode):
    w = numpy_helper.from_array(np.random.default_rng(0).normal(size=(4, 3, 3, 3)).astype(np.float32), "w")
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("AveragePool", ["r"], ["y"], name="pool", kernel_shape=[3, 3], strides=[2, 2], pads=[0, 0, 1, 1],
                              count_include_pad=count_include_pad, ceil_mode=ceil_mode)]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3, 16, 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 4, None, None])], [w])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8), tmp_path / "m.onnx")
    model = import_card(load_card(write_card(tmp_path, "m", "m.onnx", "relu", size=(16, 16), framework="onnx")))
    assert model.parity.allclose(model.card.parity.atol), model.parity
