"""The gradient_field pass (ModelGiF) against an explicit loop of autograd calls, and the modelgif estimator."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from harness.attribution import AttributionParams, attribute
from harness.estimators import estimate
from harness.probing.artifacts import ModelArtifacts
from harness.probing.maps import channel_mean_maps

DT = torch.float64


def tiny_net(seed: int) -> nn.Module:
    """(B,2,5,5) -> (B,3), smooth, so the field varies along the path."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(2, 3, 3), nn.Softplus(), nn.Flatten(), nn.Linear(27, 3), nn.Tanh()).to(DT).eval()


class Negated(nn.Module):
    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -self.inner(x)


def images(batch: int = 3, seed: int = 7) -> torch.Tensor:
    return torch.randn(batch, 2, 5, 5, generator=torch.Generator().manual_seed(seed), dtype=DT)


def explicit_field(model: nn.Module, x: torch.Tensor, steps: int, base: torch.Tensor) -> torch.Tensor:
    """One autograd call per path point and per image, trapezoid weights, no (x - b) factor."""
    field = torch.zeros_like(x)
    for b in range(x.shape[0]):
        for k in range(steps + 1):
            point = (base[b] + k / steps * (x[b] - base[b])).unsqueeze(0).requires_grad_(True)
            (g,) = torch.autograd.grad(model(point).sum(), point)
            field[b] += g[0] * (0.5 if k in (0, steps) else 1.0) / steps
    return field


@pytest.mark.parametrize("chunk", [1, 4, 1000])  # one path point per pass, a ragged last chunk, all at once
def test_fast_pass_equals_explicit_autograd_loop(chunk: int) -> None:
    model, x, steps, baseline = tiny_net(0), images(), 6, (0.25, -0.5)
    base = torch.tensor(baseline, dtype=DT).view(1, 2, 1, 1).expand_as(x)
    params = AttributionParams(ig_steps=steps, ig_batch=chunk, ig_baseline=baseline)
    got = attribute(model, x, ["gradient_field"], params=params)["gradient_field"]
    expected = explicit_field(model, x, steps, base)
    assert (got - expected).abs().max().item() < 1e-13
    ig = attribute(model, x, ["integrated_gradients"], params=params)["integrated_gradients"]
    torch.testing.assert_close(ig, (x - base) * got, rtol=1e-12, atol=1e-14)  # IG = (x - b) * field, field is not IG


def _artifacts(name: str, model: nn.Module, x: torch.Tensor) -> ModelArtifacts:
    field = attribute(model, x, ["gradient_field"], params=AttributionParams(ig_steps=8))["gradient_field"]
    return ModelArtifacts(model_id=name, task=name, maps={"gradient_field": channel_mean_maps(field).numpy()})


def test_modelgif_identical_one_negated_minus_one() -> None:
    x = images(4)
    base = tiny_net(0)
    twin = tiny_net(0)
    models = [_artifacts("a", base, x), _artifacts("twin", twin, x), _artifacts("neg", Negated(base), x),
              _artifacts("other", tiny_net(1), x)]
    a = estimate("modelgif", models).matrix
    assert a[0, 1] == pytest.approx(1.0, abs=1e-12)
    assert a[0, 2] == pytest.approx(-1.0, abs=1e-12)
    assert -1.0 < a[0, 3] < 1.0 and abs(a[0, 3]) < 0.999
    np.testing.assert_allclose(a, a.T, atol=1e-14)
    np.testing.assert_allclose(np.diag(a), 1.0)
