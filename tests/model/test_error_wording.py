"""Import failures are one line in the harness's words: no onnx2torch/onnx/onnxruntime text, no traceback.

The third-party exception stays attached as the cause (``--debug`` shows it).
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from harness.common.errors import ImportFailure
from harness.model.card import load_card
from harness.model.importer import import_card
from harness.model.onnx_io import checker_problem
from tests.helpers import write_card
from tests.hostile_helpers import assert_one_line, cli


def _conv_then(node: onnx.NodeProto, extra_inits=(), output_shape=(1, 4, 8, 8), opset: int = 18) -> onnx.ModelProto:
    w = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "w")
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]), node]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(output_shape))], [w, *extra_inits])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


def _card(tmp_path, model: onnx.ModelProto):
    onnx.save(model, tmp_path / "m.onnx")
    return write_card(tmp_path, "m", "m.onnx", "conv", size=(16, 16), framework="onnx")


def test_an_attribute_onnx2torch_refuses_is_named_in_our_words(tmp_path, capsys):
    """MaxPool with storage_order=1 (column-major indices): onnx2torch refuses it with its own text."""
    pool = helper.make_node("MaxPool", ["c"], ["y"], name="pool", kernel_shape=[2, 2], strides=[2, 2], storage_order=1)
    card = _card(tmp_path, _conv_then(pool))
    with pytest.raises(ImportFailure) as info:
        import_card(load_card(card))
    message = str(info.value)
    assert "node 'pool'" in message and "op MaxPool" in message and "storage_order=1" in message
    assert "re-export" in message and "--debug" in message
    assert "row major" not in message  # onnx2torch's own wording stays in the cause
    assert info.value.__cause__ is not None and "row major" in str(info.value.__cause__)
    code, err = cli(capsys, "import", str(card))
    assert_one_line(code, err, 3, "m.yaml", "node 'pool'", "storage_order=1")


def test_a_harness_converter_refusal_keeps_its_own_words(tmp_path):
    """Col2Im whose image_shape is computed (Slice of Shape at a dynamic batch): our converter says what it needs."""
    col2im = helper.make_node("Col2Im", ["columns", "image_shape", "block"], ["y"], name="col2im")
    model = _conv_then(col2im, [numpy_helper.from_array(np.array([2, 2], np.int64), "block"),
                                numpy_helper.from_array(np.array([0, 16, 64], np.int64), "cols"),
                                numpy_helper.from_array(np.array([2], np.int64), "two"),
                                numpy_helper.from_array(np.array([4], np.int64), "four")], output_shape=(1, 4, 16, 16))
    model.graph.node.insert(1, helper.make_node("Slice", ["shape", "two", "four"], ["image_shape"]))
    model.graph.node.insert(1, helper.make_node("Shape", ["c"], ["shape"]))
    model.graph.node.insert(1, helper.make_node("Reshape", ["c", "cols"], ["columns"]))
    for value in (model.graph.input[0], model.graph.output[0]):
        value.type.tensor_type.shape.dim[0].dim_param = "N"
    with pytest.raises(ImportFailure, match=r"node 'col2im'.*image_shape and block_shape must be constant"):
        import_card(load_card(_card(tmp_path, model)))


def test_checker_problems_are_worded_without_the_checker_text():
    text = ("Field 'shape' of 'type' is required but missing.\n\n==> Context: Bad node spec for node. "
            "Name: conv1 OpType: Conv")
    assert checker_problem(text) == "a type in node 'conv1' (Conv) lacks its required field 'shape'"
    assert "Bad node spec" not in checker_problem("Bad node spec for node. Name: n OpType: Relu; unknown attribute alpha")
