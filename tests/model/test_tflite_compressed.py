"""TFLite compressed models (full-integer int8/uint8 I/O, float16 weights, dynamic range) import with parity.

A small Keras convnet is converted by ``tf.lite.TFLiteConverter`` in each mode, then by
tf2onnx (``from_tflite``), and imported with ``framework: tflite``. Full-integer models take
integer images (quantized with the input's DequantizeLinear scale/zero point) and compute
Quantize/DequantizeLinear with per-axis weight scales in float; parity against onnxruntime
must be exact there. The converted graph is also compared with the TFLite interpreter itself.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

from harness.model.card import load_card
from harness.model.importer import import_card
from harness.model.preprocess import preprocess
from tests.conftest import requires_tf
from devkit.compressed import TFLITE_MODES, keras_convnet, tflite_bytes
from tests.helpers import write_card

pytestmark = requires_tf
MODES = TFLITE_MODES


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    import tf2onnx

    folder = tmp_path_factory.mktemp("tflite")
    model = keras_convnet()
    for mode in MODES:
        (folder / f"{mode}.tflite").write_bytes(tflite_bytes(model, mode))
        tf2onnx.convert.from_tflite(str(folder / f"{mode}.tflite"), opset=17, output_path=str(folder / f"{mode}.onnx"))
    return folder


def _interpreter_output(path, x_nhwc: np.ndarray) -> np.ndarray:
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(str(path))
    interpreter.allocate_tensors()
    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    interpreter.set_tensor(source["index"], x_nhwc.astype(source["dtype"]))
    interpreter.invoke()
    return interpreter.get_tensor(target["index"]).astype(np.float64)


@pytest.mark.parametrize("mode", MODES)
def test_tflite_compressed_models_import_with_parity(converted, mode):
    source = onnx.load(converted / f"{mode}.onnx")
    probe = [n.name for n in source.graph.node if n.op_type == "Relu"][-1]
    card = write_card(converted, mode, f"{mode}.onnx", probe, size=(16, 16), framework="tflite", layout="NHWC")
    model = import_card(load_card(card))
    parity = model.parity
    assert parity.passed(model.card.parity.atol), parity
    if mode in ("int8", "uint8"):
        assert model.card.input.dtype == mode and model.card.input.scale > 0
        assert parity.precision == "quantized" and parity.max_abs_err == 0.0, parity  # integer outputs: exact
    else:
        assert parity.max_rel_err < 1e-5, parity

    x = preprocess(torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(3)), model.card.input)
    with torch.no_grad():
        ours = model.module()(x).numpy().astype(np.float64)
    reference = _interpreter_output(converted / f"{mode}.tflite", x.permute(0, 2, 3, 1).numpy())
    # full integer: the same integers as TFLite's kernels; dynamic range: TFLite quantizes activations
    # on the fly (hybrid kernels) where the ONNX graph computes in float, a 1e-3-of-scale difference
    tolerance = 0.0 if mode in ("int8", "uint8") else 2e-3 * float(np.abs(reference).max())
    assert float(np.abs(ours - reference).max()) <= tolerance

    x.requires_grad_(True)
    model.module()(x).sum().backward()
    assert float(x.grad.abs().sum()) > 0  # straight-through rounding: attribution is not zero
