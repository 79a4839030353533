"""Weights, biases and shapes computed by constant subgraphs are folded into initializers.

Converters read them from initializers only; before the fold, such files failed with a raw
key error naming the weight (``cannot convert op Conv (...): 'conv1_w_0'``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from harness.model.card import load_card
from harness.model.importer import import_card
from tests.helpers import write_card

LIGHT = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"


def computed_weights_model() -> onnx.ModelProto:
    """Conv weight = Transpose(Cast(float16 weight)), bias = ConstantOfShape, dense weight = Reshape(flat)."""
    rng = np.random.default_rng(0)
    w_half = numpy_helper.from_array(rng.normal(size=(3, 4, 3, 3)).astype(np.float16), "w_half")  # (in, out, kh, kw)
    bias_shape = numpy_helper.from_array(np.array([4], np.int64), "bias_shape")
    flat = numpy_helper.from_array(rng.normal(size=(12,)).astype(np.float32), "dense_flat")
    dense_shape = numpy_helper.from_array(np.array([4, 3], np.int64), "dense_shape")
    nodes = [
        helper.make_node("Cast", ["w_half"], ["w_float"], to=TensorProto.FLOAT),
        helper.make_node("Transpose", ["w_float"], ["w"], perm=[1, 0, 2, 3]),
        helper.make_node("ConstantOfShape", ["bias_shape"], ["b"], value=numpy_helper.from_array(np.array([0.25], np.float32))),
        helper.make_node("Reshape", ["dense_flat", "dense_shape"], ["wd"]),
        helper.make_node("Conv", ["x", "w", "b"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("GlobalAveragePool", ["r"], ["p"]),
        helper.make_node("Flatten", ["p"], ["f"]),
        helper.make_node("MatMul", ["f", "wd"], ["y"], name="dense"),
    ]
    graph = helper.make_graph(nodes, "computed", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3, 16, 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 3])], [w_half, bias_shape, flat, dense_shape])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def test_weights_computed_by_cast_transpose_constantofshape_reshape_import(tmp_path):
    onnx.save(computed_weights_model(), tmp_path / "m.onnx")
    model = import_card(load_card(write_card(tmp_path, "m", "m.onnx", "relu", size=(16, 16), framework="onnx")))
    assert model.parity.passed(model.card.parity.atol) and model.parity.max_rel_err < 1e-5


@pytest.mark.skipif(not (LIGHT / "light_squeezenet.onnx").is_file(), reason="the onnx wheel ships no light test models")
def test_onnx_model_zoo_classic_file_with_constantofshape_weights_imports(tmp_path):
    """The onnx wheel's light SqueezeNet: IR 3, opset 9, every weight a ConstantOfShape fill."""
    source = onnx.load(LIGHT / "light_squeezenet.onnx")
    assert source.ir_version == 3 and sum(n.op_type == "ConstantOfShape" for n in source.graph.node) > 20
    (tmp_path / "squeezenet.onnx").write_bytes((LIGHT / "light_squeezenet.onnx").read_bytes())
    first_conv = next(n for n in source.graph.node if n.op_type == "Conv").output[0]
    card = write_card(tmp_path, "squeezenet", "squeezenet.onnx", first_conv, size=(224, 224), framework="onnx")
    model = import_card(load_card(card))
    assert model.parity.passed(model.card.parity.atol)


def test_tflite_custom_op_under_another_framework_names_the_right_one(tmp_path):
    from harness.common.errors import ImportFailure
    from harness.model.importer import check_supported_ops

    node = helper.make_node("TFL_Convolution2DTransposeBias", ["x", "w", "b"], ["y"], name="deconv", domain="")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 4, 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(ImportFailure, match="framework: tflite"):
        check_supported_ops(model, 17, "card.yaml")
