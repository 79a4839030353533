"""Every exporter x opset x architecture family imports with parity.

torch.onnx's dynamo and legacy exporters at opsets 17-21 and tf2onnx at opsets 13-18, for
ResNet, VGG, MobileNet, Inception, DenseNet, EfficientNet and an encoder-decoder. Besides
the importer's own onnxruntime parity check, the converted graph is compared against the
native framework model it was exported from.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.model.export.pytorch import export_torch
from harness.model.card import load_card
from harness.model.importer import import_card
from tests.archs import torch_archs
from tests.conftest import requires_tf
from tests.helpers import last_node, write_card

TORCH_OPSETS = (17, 18, 19, 20, 21)
TF_OPSETS = (13, 14, 15, 16, 17, 18)
FAMILIES = tuple(torch_archs.FAMILIES)
TOLERANCE = 1e-4


def _check_native(model, native_out: np.ndarray, x_nchw: torch.Tensor) -> float:
    with torch.no_grad():
        converted = model.module()(x_nchw).numpy()
    err = float(np.max(np.abs(converted - native_out)))
    assert converted.shape == native_out.shape
    assert err <= TOLERANCE * max(1.0, float(np.max(np.abs(native_out))))
    return err


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("opset", TORCH_OPSETS)
@pytest.mark.parametrize("exporter", ("dynamo", "legacy"))
def test_torch_export_imports_with_parity(tmp_path, exporter, opset, family):
    native = torch_archs.build(family)
    path = export_torch(native, torch.rand(1, 3, 32, 32), tmp_path / "model.onnx", opset=opset, exporter=exporter)
    card = load_card(write_card(tmp_path, f"{family}-{exporter}-{opset}", "model.onnx", last_node(path)))

    model = import_card(card)

    assert model.parity.max_abs_err <= TOLERANCE, model.parity
    assert model.fixed_batch is None  # exported with a dynamic batch
    x = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        native_out = native(x).numpy()
    _check_native(model, native_out, x)
    # the probe layer computes a real intermediate value with the recorded shape
    with torch.no_grad():
        probe = model.probe_module()(x)
    assert tuple(probe.shape[1:]) == model.probe.shape[1:]
    assert probe.shape[0] == 3


@requires_tf
@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("opset", TF_OPSETS)
def test_tf2onnx_export_imports_with_parity(tmp_path, opset, family):
    from harness.model.export.tensorflow import export_keras
    from tests.archs import keras_archs

    native = keras_archs.build(family)
    path = export_keras(native, tmp_path / "model.onnx", opset=opset)
    probe = last_node(path, op_types=("Relu", "Relu6", "Clip", "Concat", "Mul", "Conv", "Sigmoid"), contains="/probe")
    card = load_card(write_card(tmp_path, f"{family}-tf-{opset}", "model.onnx", probe, framework="tensorflow", layout="NHWC"))

    model = import_card(card)

    assert model.parity.max_abs_err <= TOLERANCE, model.parity
    x = torch.rand(3, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    native_out = np.asarray(native(x.permute(0, 2, 3, 1).numpy(), training=False))
    _check_native(model, native_out, x)
    # probe: the Keras layer named "probe", compared with the native sub-model's output
    import keras

    probe_layer = native.get_layer("probe")
    sub = keras.Model(native.inputs, probe_layer.output)
    native_probe = np.asarray(sub(x.permute(0, 2, 3, 1).numpy(), training=False))
    with torch.no_grad():
        converted_probe = model.probe_module()(x).numpy()
    # tf2onnx computes convolutions in NCHW, so an inner 4-D tensor may be the NHWC value transposed.
    candidates = [converted_probe] + ([converted_probe.transpose(0, 2, 3, 1)] if converted_probe.ndim == 4 else [])
    scale = max(1.0, float(np.abs(native_probe).max()))
    errors = [float(np.max(np.abs(c - native_probe))) for c in candidates if c.shape == native_probe.shape]
    assert errors and min(errors) <= TOLERANCE * scale, errors


@requires_tf
def test_tensorflow_saved_model_export_imports_with_parity(tmp_path):
    import tensorflow as tf

    from harness.model.export.tensorflow import export_saved_model
    from tests.archs import keras_archs

    native = keras_archs.build("mobilenet")
    module = tf.Module()
    module.model = native
    module.serve = tf.function(lambda x: native(x, training=False), input_signature=[tf.TensorSpec((None, 32, 32, 3), tf.float32, name="x")])
    tf.saved_model.save(module, str(tmp_path / "saved"), signatures={"serving_default": module.serve})
    path = export_saved_model(tmp_path / "saved", tmp_path / "model.onnx", opset=15)
    probe = last_node(path, op_types=("Relu", "Relu6", "Clip"), contains="probe")
    card = load_card(write_card(tmp_path, "mobilenet-savedmodel", "model.onnx", probe, framework="tensorflow", layout="NHWC"))
    model = import_card(card)
    assert model.parity.max_abs_err <= TOLERANCE
    x = torch.rand(2, 3, 32, 32)
    _check_native(model, np.asarray(native(x.permute(0, 2, 3, 1).numpy(), training=False)), x)
