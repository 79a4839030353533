"""Probing bugs from issue #11, each with the behaviour that was wrong before the fix.

- Integrated gradients must start from a *black* image (raw pixels 0, then the card's
  preprocessing), not from 0 in preprocessed units (grey for range [-1, 1], a coloured image
  for mean/std normalisation).
- Pooling wide 4-D probe features must average positions, never channels, whatever the probe
  tensor's layout: the layout comes from the ONNX graph, not from the tensor's shape.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from harness.model.card import load_card
from harness.model.importer import import_card
from harness.model.preprocess import preprocess
from harness.probes.base import ProbeSet
from harness.probing.loop import ProbeSettings, probe_model
from tests.helpers import write_card
from tests.onnx_builders import conv_relu_model, save

SIZE = 16


def probe_set(n: int = 3) -> ProbeSet:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (n, 3, SIZE, SIZE), dtype=np.uint8)
    return ProbeSet("random", images, tuple(str(i) for i in range(n)))


def imported(folder: Path, model: onnx.ModelProto, probe: str, layout: str = "NCHW", **input_fields):
    folder.mkdir(parents=True, exist_ok=True)
    save(model, folder / "m.onnx")
    spec = {"size": [SIZE, SIZE], "layout": layout, "channels": "RGB", "range": [0, 1], **input_fields}
    return import_card(load_card(write_card(folder, "m", "m.onnx", probe, framework="onnx", input=spec)))


@pytest.mark.parametrize("input_fields", [
    {"range": [-1, 1]},
    {"range": [0, 1], "mean": [0.5, 0.4, 0.3], "std": [0.2, 0.25, 0.3]},
])
def test_integrated_gradients_start_from_a_black_image(tmp_path, input_fields):
    model = imported(tmp_path / "m", conv_relu_model(size=SIZE), "relu1", **input_fields)
    settings = ProbeSettings(methods=("integrated_gradients",), map_size=SIZE, ig_steps=64, batch_size=4)
    probes = probe_set()
    maps = probe_model(model, probes, settings, torch.device("cpu")).artifacts.maps["integrated_gradients"]
    net = model.probe_module()
    x = preprocess(torch.as_tensor(probes.images).float() / 255.0, model.card.input)
    black = preprocess(torch.zeros_like(x[:1]), model.card.input)
    with torch.no_grad():
        total = net(x).flatten(1).sum(1)
        from_black = total - net(black).flatten(1).sum()
        from_zero = total - net(torch.zeros_like(x[:1])).flatten(1).sum()
    got = torch.as_tensor(maps).double().sum(1) * 3  # channel mean at native size -> total attribution
    assert (from_black - from_zero).abs().min() > 0.2 * from_black.abs().max()  # the two references differ
    torch.testing.assert_close(got, from_black.double(), rtol=2e-2, atol=2e-2 * float(from_black.abs().max()))


def nhwc_probe_model() -> onnx.ModelProto:
    """input NHWC -> Transpose -> Conv (constant channels 1..4) -> Transpose back -> Relu 'probe' (NHWC)."""
    w = numpy_helper.from_array(np.zeros((4, 3, 3, 3), np.float32), "w")
    b = numpy_helper.from_array(np.array([1, 2, 3, 4], np.float32), "b")
    nodes = [
        helper.make_node("Transpose", ["input"], ["nchw"], name="to_nchw", perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["nchw", "w", "b"], ["conv"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Transpose", ["conv"], ["nhwc"], name="to_nhwc", perm=[0, 2, 3, 1]),
        helper.make_node("Relu", ["nhwc"], ["output"], name="probe"),
    ]
    graph = helper.make_graph(
        nodes, "nhwc-probe",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, SIZE, SIZE, 3])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [None, SIZE, SIZE, 4])],
        initializer=[w, b],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def test_pooling_an_nhwc_probe_tensor_keeps_channels_apart(tmp_path):
    model = imported(tmp_path / "nhwc", nhwc_probe_model(), "probe", layout="NHWC")
    settings = ProbeSettings(methods=(), max_feature_units=64)
    art = probe_model(model, probe_set(), settings, torch.device("cpu")).artifacts
    assert art.features_pooled and art.features.shape == (3, 64)
    # every pooled unit is one channel's value: 4 channels x 4 x 4 positions
    np.testing.assert_allclose(np.sort(art.features[0]), np.repeat([1.0, 2.0, 3.0, 4.0], 16), atol=1e-6)
    from harness.probing.loop import probe_layout

    assert probe_layout(model) == "NHWC"


def test_layout_follows_the_graph_not_the_input_layout(tmp_path):
    """tf2onnx transposes an NHWC input once; the Keras zoo models' probe layers are NCHW."""
    from harness.model.layout import tensor_layout
    from harness.model.zoo import default_zoo_dir

    zoo = default_zoo_dir()
    card = load_card(zoo / "cards" / "keras-rgb2depth.yaml")
    assert card.input.layout == "NHWC"
    assert tensor_layout(card.onnx, "zoo_rgb2depth_1/bottleneck_1/BiasAdd:0", "NHWC") == "NCHW"
    save(nhwc_probe_model(), tmp_path / "n.onnx")
    assert tensor_layout(tmp_path / "n.onnx", "output", "NHWC") == "NHWC"
    assert tensor_layout(tmp_path / "n.onnx", "conv", "NHWC") == "NCHW"
