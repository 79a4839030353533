"""``Col2Im``-18 against onnxruntime: strides, dilations, symmetric and asymmetric pads, and in an imported graph."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from harness.model.card import load_card
from harness.model.importer import import_card
from tests.helpers import write_card
from tests.model.test_converters import check, single_node


def _blocks(image, block, dilations, pads, strides) -> int:
    count = 1
    for i in range(2):
        span = image[i] + pads[i] + pads[i + 2] - dilations[i] * (block[i] - 1) - 1
        count *= span // strides[i] + 1
    return count


@pytest.mark.parametrize("image,block,dilations,pads,strides", [
    ((5, 5), (2, 2), (1, 1), (0, 0, 0, 0), (1, 1)),
    ((6, 7), (3, 2), (1, 1), (0, 0, 0, 0), (2, 1)),
    ((7, 6), (2, 3), (2, 1), (1, 1, 1, 1), (1, 2)),
    ((6, 6), (3, 3), (1, 2), (1, 0, 2, 1), (2, 2)),  # asymmetric pads
])
def test_col2im_18(image, block, dilations, pads, strides):
    channels = 2
    x = np.random.default_rng(1).standard_normal(
        (2, channels * block[0] * block[1], _blocks(image, block, dilations, pads, strides))).astype(np.float32)
    model = single_node("Col2Im", {"x": x}, {"image_shape": np.array(image, np.int64), "block_shape": np.array(block, np.int64)},
                        {"dilations": list(dilations), "pads": list(pads), "strides": list(strides)})
    check(model, {"x": x})


def test_col2im_overlap_add_graph_imports_with_parity(tmp_path):
    """Conv to per-pixel 2x2 blocks -> Reshape to (N, C*4, L) -> Col2Im with stride 2 (a learned upsampling)."""
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array((rng.standard_normal((3 * 4, 3, 3, 3)) * 0.3).astype(np.float32), "w"),
             numpy_helper.from_array(np.array([0, 12, 64], np.int64), "cols"),
             numpy_helper.from_array(np.array([16, 16], np.int64), "image_shape"),
             numpy_helper.from_array(np.array([2, 2], np.int64), "block_shape")]
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1], strides=[2, 2]),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("Reshape", ["r", "cols"], ["cols_out"], name="to_columns"),
             helper.make_node("Col2Im", ["cols_out", "image_shape", "block_shape"], ["y"], name="col2im", strides=[2, 2])]
    graph = helper.make_graph(nodes, "overlap_add", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, 16, 16])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=8), tmp_path / "m.onnx")
    model = import_card(load_card(write_card(tmp_path, "m", "m.onnx", "col2im", size=(16, 16), framework="onnx")))
    assert model.parity.passed(model.card.parity.atol) and model.parity.max_rel_err < 1e-6, model.parity
