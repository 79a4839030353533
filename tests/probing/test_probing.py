"""Per-model probing: fixed-batch graphs, feature pooling, capture hooks that always go away."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from harness.model.export.pytorch import export_torch
from harness.model.card import load_card
from harness.probing.features import flatten_features
from harness.model.importer import import_card
from harness.probing.loop import ProbeSettings, probe_model
from harness.probes.base import ProbeSet
from tests.archs import torch_archs
from tests.helpers import last_node, write_card


def probe_set(n: int = 3, size: int = 40) -> ProbeSet:
    rng = np.random.default_rng(0)
    images = rng.integers(0, 255, (n, 3, size, size), dtype=np.uint8)
    return ProbeSet("random", images, tuple(str(i) for i in range(n)))


def imported(tmp_path, dynamic_batch: bool):
    net = torch_archs.build("resnet")
    folder = tmp_path / ("dynamic" if dynamic_batch else "fixed")
    folder.mkdir()
    path = export_torch(net, torch.rand(1, 3, 32, 32), folder / "m.onnx", opset=17, exporter="legacy", dynamic_batch=dynamic_batch)
    return import_card(load_card(write_card(folder, "m", "m.onnx", last_node(path))))


def test_fixed_batch_graph_is_probed_image_by_image(tmp_path):
    fixed, dynamic = imported(tmp_path, False), imported(tmp_path, True)
    assert fixed.fixed_batch == 1 and dynamic.fixed_batch is None
    settings = ProbeSettings(methods=("saliency", "gradxinput", "elrp"), map_size=8, batch_size=2)
    a = probe_model(fixed, probe_set(), settings, torch.device("cpu")).artifacts
    b = probe_model(dynamic, probe_set(), settings, torch.device("cpu")).artifacts
    assert a.features.shape == b.features.shape and a.features.shape[0] == 3
    np.testing.assert_allclose(a.features, b.features, rtol=1e-4, atol=1e-5)
    for method in settings.methods:
        assert a.maps[method].shape == (3, 64)
        np.testing.assert_allclose(a.maps[method], b.maps[method], rtol=1e-3, atol=1e-6)


def test_wide_features_are_pooled_to_the_bound():
    out = torch.rand(2, 16, 32, 32)
    flat, pooled = flatten_features(out, max_units=1024)
    assert pooled and flat.shape[0] == 2 and flat.shape[1] <= 1024
    flat, pooled = flatten_features(out, max_units=16 * 32 * 32)
    assert not pooled and flat.shape == (2, 16 * 32 * 32)


def test_capture_hooks_are_removed_even_on_error(tmp_path):
    model = imported(tmp_path, True)
    module = model.graph.get_submodule(model.probe.module)
    with pytest.raises(RuntimeError):
        with model.capture() as captured:
            model.module()(torch.rand(2, 3, 32, 32))
            assert captured[model.probe.tensor].shape[0] == 2
            raise RuntimeError("boom")
    assert not module._forward_hooks


def test_truncated_probe_module_matches_captured_features(tmp_path):
    model = imported(tmp_path, True)
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad(), model.capture() as captured:
        model.module()(x)
        direct = model.probe_module()(x)
    torch.testing.assert_close(direct, captured[model.probe.tensor])


def test_features_reused_from_the_attribution_forward_equal_a_plain_forward(tmp_path):
    """Probing takes the features from attribution's own forward pass: same values as a separate one."""
    from harness.probing.loop import MemorySink

    model = imported(tmp_path, True)
    probe = probe_set(n=5, size=32)
    settings = ProbeSettings(methods=("saliency", "gradxinput", "elrp"), batch_size=2)
    sink = MemorySink()
    net = model.probe_module()
    outcome = probe_model(model, probe, settings, torch.device("cpu"), sink=sink)
    assert outcome.artifacts.features is None  # the sink owns the arrays
    arrays = sink.arrays()
    x = torch.from_numpy(probe.images.astype(np.float32) / 255.0)
    with torch.no_grad():
        plain = flatten_features(net(x), settings.max_feature_units)[0].numpy()
    np.testing.assert_allclose(arrays["features"], plain, rtol=1e-5, atol=1e-6)
    assert set(arrays) == {"maps.saliency", "maps.gradxinput", "maps.elrp", "features"}
    assert arrays["maps.saliency"].shape == (5, 32 * 32) and outcome.map_shape == (32, 32)
