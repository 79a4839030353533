"""Models quantized by onnxruntime's own quantizer, in its three formats, import with parity.

QDQ (QuantizeLinear/DequantizeLinear around float ops), QOperator (QLinearConv, QGemm,
QLinearGlobalAveragePool, ...) and dynamic quantization (ConvInteger, MatMulInteger,
DynamicQuantizeLinear); gradients pass the rounding straight through, so attribution maps
of a quantized model are not zero.
"""

from __future__ import annotations

import onnx
import pytest
import torch

from harness.model.card import load_card
from harness.model.importer import import_card
from tests.helpers import write_card
from devkit.compressed import calibration_reader, convnet

quantization = pytest.importorskip("onnxruntime.quantization")


@pytest.fixture(scope="module")
def quantized(tmp_path_factory):
    folder = tmp_path_factory.mktemp("quantized")
    model = convnet()
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 1
    onnx.save(model, folder / "float.onnx")
    q = quantization
    q.quantize_static(str(folder / "float.onnx"), str(folder / "qdq.onnx"), calibration_reader(), quant_format=q.QuantFormat.QDQ,
                      activation_type=q.QuantType.QUInt8, weight_type=q.QuantType.QInt8)
    q.quantize_static(str(folder / "float.onnx"), str(folder / "qoperator.onnx"), calibration_reader(),
                      quant_format=q.QuantFormat.QOperator, activation_type=q.QuantType.QUInt8, weight_type=q.QuantType.QInt8)
    q.quantize_dynamic(str(folder / "float.onnx"), str(folder / "dynamic.onnx"), weight_type=q.QuantType.QUInt8)
    return folder


@pytest.mark.parametrize("name,ops,probe", [
    ("qdq", {"QuantizeLinear", "DequantizeLinear"}, "c2"),
    ("qoperator", {"QLinearConv", "QGemm"}, "conv2_quant"),
    ("dynamic", {"ConvInteger", "DynamicQuantizeLinear"}, "r1"),
])
def test_onnxruntime_quantized_models_import_with_parity(quantized, name, ops, probe):
    source = onnx.load(quantized / f"{name}.onnx")
    assert ops <= {n.op_type for n in source.graph.node}
    probe = probe if probe != "conv2_quant" else next(n.output[0] for n in source.graph.node if n.op_type == "QLinearConv")
    model = import_card(load_card(write_card(quantized, name, f"{name}.onnx", probe, size=(16, 16), framework="onnx")))
    assert model.parity.precision == "quantized" and model.parity.passed(model.card.parity.atol), model.parity
    x = torch.rand(1, 3, 16, 16, requires_grad=True)
    out = model.graph(x)
    (out[0] if isinstance(out, tuple) else out).sum().backward()
    assert x.grad is not None and float(x.grad.abs().sum()) > 0  # straight-through rounding
