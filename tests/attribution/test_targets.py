"""Named attribution targets: statistics against numpy, maps against float64 references, invariances."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from harness.attribution import ATTRIBUTION_TARGETS, StatsAccumulator, attribute, map_key, split_key
from harness.attribution.named_targets import feature_axis, standardised_energy
from harness.common.errors import HarnessError


def test_registry_has_the_seed_default_and_invariant_targets():
    assert ATTRIBUTION_TARGETS.names()[:1] == ["sum"]
    assert {"energy", "sqnorm", "l1"} <= set(ATTRIBUTION_TARGETS.names())
    assert all(ATTRIBUTION_TARGETS.get(n).description for n in ATTRIBUTION_TARGETS)
    with pytest.raises(HarnessError, match="did you mean 'energy'"):
        ATTRIBUTION_TARGETS.get("enrgy")
    assert map_key("gradxinput", "sum") == "gradxinput" and map_key("gradxinput", "energy") == "gradxinput@energy"
    assert split_key("depara@energy") == ("depara", "energy") and split_key("rsa") == ("rsa", "sum")


@pytest.mark.parametrize("layout, axis", [("NCHW", 1), ("NHWC", 3)])
def test_streamed_channel_statistics_match_numpy(layout, axis):
    rng = np.random.default_rng(0)
    data = rng.normal(size=(11, 3, 4, 5)) * rng.uniform(0.1, 4, (1, 3, 1, 1)) + rng.normal(0, 3, (1, 3, 1, 1))
    data[:, 2] = 7.0  # a constant channel: sigma is taken as 1
    if layout == "NHWC":
        data = data.transpose(0, 2, 3, 1)
    acc = StatsAccumulator(layout)
    for chunk in np.array_split(data, [2, 3, 9]):  # uneven batches
        acc.update(torch.tensor(chunk, dtype=torch.float32))
    stats = acc.result()
    moved = np.moveaxis(data, axis, -1).reshape(-1, 3)
    assert stats.axis == axis and stats.count == moved.shape[0]
    np.testing.assert_allclose(stats.mean.numpy(), moved.mean(axis=0), rtol=1e-6, atol=1e-6)
    expected_std = moved.std(axis=0)
    expected_std[2] = 1.0
    np.testing.assert_allclose(stats.std.numpy(), expected_std, rtol=1e-5, atol=1e-6)


def test_feature_axis_follows_the_probe_layout():
    assert feature_axis(4, "NCHW") == 1 and feature_axis(4, "NHWC") == 3 and feature_axis(4, None) == 1
    assert feature_axis(2, None) == 1 and feature_axis(3, None) == 2


def _linear_probe(sign: float = 1.0) -> nn.Module:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 4, 1)).double()
    with torch.no_grad():  # flip the sign of every unit of the (linear) probe layer
        net[2].weight.mul_(sign)
        net[2].bias.mul_(sign)
    return net


def _stats(net: nn.Module, x: torch.Tensor):
    acc = StatsAccumulator("NCHW")
    with torch.no_grad():
        acc.update(net(x))
    return acc.result()


def test_energy_map_matches_a_float64_reference():
    net = _linear_probe()
    x = torch.rand(3, 3, 8, 8, dtype=torch.float64)
    stats = _stats(net, x)
    got = attribute(net, x, ["gradxinput"], target=standardised_energy(stats))["gradxinput"]
    leaf = x.clone().requires_grad_(True)
    f = net(leaf)
    mu, sd = stats.mean.view(1, -1, 1, 1), stats.std.view(1, -1, 1, 1)
    (0.5 * (((f - mu) / sd) ** 2).sum()).backward()
    torch.testing.assert_close(got, x * leaf.grad, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["energy", "sqnorm", "l1"])
def test_invariant_targets_ignore_the_sign_of_a_linear_probe_layer(name):
    """The seed's sum flips its map when the probe layer's units change sign; these do not."""
    x = torch.rand(3, 3, 8, 8, dtype=torch.float64)
    plus, minus = _linear_probe(1.0), _linear_probe(-1.0)
    spec = ATTRIBUTION_TARGETS.get(name)
    a = attribute(plus, x, ["gradxinput"], target=spec.build(_stats(plus, x)))["gradxinput"]
    b = attribute(minus, x, ["gradxinput"], target=spec.build(_stats(minus, x)))["gradxinput"]
    torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)
    s_plus = attribute(plus, x, ["gradxinput"])["gradxinput"]
    s_minus = attribute(minus, x, ["gradxinput"])["gradxinput"]
    torch.testing.assert_close(s_plus, -s_minus, rtol=1e-9, atol=1e-12)


def test_sqnorm_ignores_orthogonal_mixing_of_units():
    x = torch.rand(2, 3, 6, 6, dtype=torch.float64)
    net = _linear_probe()
    q, _ = torch.linalg.qr(torch.randn(4, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1)))
    mixed = nn.Sequential(net, nn.Conv2d(4, 4, 1, bias=False).double())
    with torch.no_grad():
        mixed[1].weight.copy_(q.view(4, 4, 1, 1))
    sq = ATTRIBUTION_TARGETS.get("sqnorm").build(None)
    torch.testing.assert_close(attribute(net, x, ["gradxinput"], target=sq)["gradxinput"],
                               attribute(mixed, x, ["gradxinput"], target=sq)["gradxinput"], rtol=1e-9, atol=1e-12)
