"""float16 graphs (float16 weights, with float16 or float32 inputs/outputs) import and compute in float32.

onnxruntime runs the original float16 file; the harness's graph is widened to float32
(``float16_to_float32``), and parity is judged at float16 precision.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from harness.model.card import load_card
from harness.model.importer import import_card
from harness.model.parity import SCALED_TOLERANCE
from tests.helpers import write_card


def half_model(half_io: bool) -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.normal(size=shape).astype(np.float16), name)
             for name, shape in (("w", (8, 3, 3, 3)), ("b", (8,)), ("wd", (8, 5)))]
    nodes, data = [], "x"
    if not half_io:
        nodes.append(helper.make_node("Cast", ["x"], ["xh"], to=TensorProto.FLOAT16))
        data = "xh"
    nodes += [helper.make_node("Conv", [data, "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
              helper.make_node("Relu", ["c"], ["r"], name="relu"), helper.make_node("GlobalAveragePool", ["r"], ["p"]),
              helper.make_node("Flatten", ["p"], ["f"]), helper.make_node("MatMul", ["f", "wd"], ["yh"])]
    if not half_io:
        nodes.append(helper.make_node("Cast", ["yh"], ["y"], to=TensorProto.FLOAT))
    io = TensorProto.FLOAT16 if half_io else TensorProto.FLOAT
    graph = helper.make_graph(nodes, "half", [helper.make_tensor_value_info("x", io, [None, 3, 16, 16])],
                              [helper.make_tensor_value_info("yh" if half_io else "y", io, [None, 5])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


@pytest.mark.parametrize("half_io", [True, False], ids=["float16 I/O", "float32 I/O"])
def test_float16_graphs_import_with_parity_at_float16_precision(tmp_path, half_io):
    onnx.save(half_model(half_io), tmp_path / "m.onnx")
    model = import_card(load_card(write_card(tmp_path, "m", "m.onnx", "relu", size=(16, 16), framework="onnx")))
    assert model.parity.precision == "float16" and model.parity.scaled_tolerance == SCALED_TOLERANCE["float16"]
    assert model.parity.passed(model.card.parity.atol)
    assert 0 < model.parity.max_rel_err < 5e-3  # float16 rounding of the reference, not a conversion error
    assert all(p.dtype == torch.float32 for p in model.graph.parameters())
