"""Graphs with integer (uint8/int8) inputs import: images are quantized into the input's integers.

The quantization comes from the first DequantizeLinear that reads the input (onnxruntime's
quantizer with an integer input, TFLite full-integer models) or from the card's
``input.scale``/``input.zero_point``; without either the import is refused in one line naming
those fields. Inside torch the graph computes on floats equal to the integers, so gradients
flow; onnxruntime gets the same integers as an integer tensor.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
import yaml
from onnx import TensorProto, helper, numpy_helper

from harness.common.errors import ImportFailure, ValidationError
from harness.model.card import InputSpec, load_card
from harness.model.importer import import_card
from harness.model.preprocess import preprocess, quantize
from tests.helpers import write_card

SCALE, ZERO = 1 / 255, 0


def integer_input_model(element: int = TensorProto.UINT8, dequantize: bool = True, per_channel: bool = False) -> onnx.ModelProto:
    """x (integer, NCHW) -> DequantizeLinear (or Cast) -> conv -> relu -> pool -> dense."""
    rng = np.random.default_rng(0)
    zero_type = np.uint8 if element == TensorProto.UINT8 else np.int8
    zero = ZERO if element == TensorProto.UINT8 else -128
    inits = [numpy_helper.from_array((rng.normal(size=(8, 3, 3, 3)) * 0.3).astype(np.float32), "w"),
             numpy_helper.from_array((rng.normal(size=(8, 5)) * 0.3).astype(np.float32), "wd"),
             numpy_helper.from_array(np.full(3 if per_channel else (), SCALE, np.float32), "x_scale"),
             numpy_helper.from_array(np.full(3 if per_channel else (), zero, zero_type), "x_zero")]
    first = (helper.make_node("DequantizeLinear", ["x", "x_scale", "x_zero"], ["xf"], name="dequantize_input")
             if dequantize else helper.make_node("Cast", ["x"], ["xf"], name="cast", to=TensorProto.FLOAT))
    nodes = [first,
             helper.make_node("Conv", ["xf", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("GlobalAveragePool", ["r"], ["p"]),
             helper.make_node("Flatten", ["p"], ["f"]),
             helper.make_node("MatMul", ["f", "wd"], ["y"], name="dense")]
    graph = helper.make_graph(nodes, "int_input", [helper.make_tensor_value_info("x", element, [1, 3, 16, 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def _card(tmp_path, model: onnx.ModelProto, **input_fields):
    onnx.save(model, tmp_path / "m.onnx")
    path = write_card(tmp_path, "m", "m.onnx", "relu", size=(16, 16), framework="onnx")
    data = yaml.safe_load(path.read_text())
    data["input"].update(input_fields)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize("element", [TensorProto.UINT8, TensorProto.INT8], ids=["uint8", "int8"])
def test_quantization_is_read_from_the_dequantize_of_the_input(tmp_path, element):
    model = import_card(load_card(_card(tmp_path, integer_input_model(element))))
    spec = model.card.input
    assert spec.dtype == ("uint8" if element == TensorProto.UINT8 else "int8")
    assert spec.scale == pytest.approx(SCALE) and spec.zero_point == (ZERO if element == TensorProto.UINT8 else -128)
    assert model.parity.passed(model.card.parity.atol) and model.parity.max_rel_err < 1e-5, model.parity
    # images become integers of the input's type; gradients reach them (straight through)
    x = preprocess(torch.rand(1, 3, 16, 16), spec).requires_grad_(True)
    low, high = (0, 255) if spec.dtype == "uint8" else (-128, 127)
    values = x.detach()
    assert torch.equal(values, values.round()) and low <= float(values.min()) and float(values.max()) <= high
    model.module()(x).sum().backward()
    assert float(x.grad.abs().sum()) > 0


def test_card_gives_the_quantization_of_an_input_no_dequantize_reads(tmp_path):
    card = _card(tmp_path, integer_input_model(dequantize=False), range=[0, 255], dtype="uint8", scale=1.0, zero_point=0)
    model = import_card(load_card(card))
    assert (model.card.input.scale, model.card.input.zero_point) == (1.0, 0)
    assert model.parity.passed(model.card.parity.atol) and model.parity.max_rel_err < 1e-5


def test_integer_input_without_quantization_is_refused_naming_the_card_fields(tmp_path):
    with pytest.raises(ImportFailure, match=r"graph input 'x' holds uint8 values.*set input\.scale and input\.zero_point") as info:
        import_card(load_card(_card(tmp_path, integer_input_model(dequantize=False))))
    assert "\n" not in str(info.value)


def test_per_channel_input_dequantization_is_refused_naming_the_card_fields(tmp_path):
    with pytest.raises(ImportFailure, match="per-channel.*input.scale"):
        import_card(load_card(_card(tmp_path, integer_input_model(per_channel=True))))


def test_card_dtype_must_match_the_graph(tmp_path):
    with pytest.raises(ImportFailure, match="field 'input.dtype': int8 does not match .* set input.dtype: uint8"):
        import_card(load_card(_card(tmp_path, integer_input_model(), dtype="int8")))


@pytest.mark.parametrize("fields,message", [
    ({"scale": 0.5}, "field 'input.zero_point': give input.scale and input.zero_point together"),
    ({"zero_point": 3}, "field 'input.scale': give input.scale and input.zero_point together"),
    ({"dtype": "float32", "scale": 0.5, "zero_point": 0}, "field 'input.scale': only an integer input.dtype"),
    ({"dtype": "int8", "scale": 0.5, "zero_point": 200}, r"field 'input.zero_point': expected an integer in \[-128, 127\]"),
    ({"dtype": "uint8", "scale": 0, "zero_point": 0}, "field 'input.scale': expected a finite number"),
    ({"dtype": "int4"}, "field 'input.dtype': expected one of"),
])
def test_card_quantization_fields_are_validated_in_one_line(tmp_path, fields, message):
    with pytest.raises(ValidationError, match=message) as info:
        load_card(_card(tmp_path, integer_input_model(), **fields))
    assert "\n" not in str(info.value)


def test_images_are_quantized_half_to_even_and_saturated():
    spec = InputSpec(size=(1, 4), range=(0.0, 1.0), dtype="int8", scale=0.5, zero_point=-1)
    # values/scale = 0.5, 1.5, 2.5 (ties to even: 0, 2, 2), and one far beyond the int8 range
    values = torch.tensor([0.25, 0.75, 1.25, 500.0]).view(1, 1, 1, 4).expand(1, 3, 1, 4)
    assert quantize(values, spec)[0, 0, 0].tolist() == [-1.0, 1.0, 1.0, 127.0]
