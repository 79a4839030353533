"""The exact 2ndG term against an explicit Hessian (float64), on piecewise-linear and smooth heads."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from harness.attribution.hessian import (
    PL_RTOL,
    gauss_newton_error,
    output_maps,
    quadratic_gauss_newton,
    quadratic_hvp,
    quadratic_loop,
    second_order_quadratic,
    score_hessian,
)
from harness.analyses.explain.scores import SCORES


def _head(kind: str) -> nn.Module:
    torch.manual_seed(3)
    if kind == "relu":  # piecewise linear: conv, ReLU, max and average pooling, linear
        net = nn.Sequential(nn.Conv2d(3, 5, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(5, 4, 1),
                            nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 6))
    elif kind == "gelu":  # a smooth nonlinearity after the layer
        net = nn.Sequential(nn.Conv2d(3, 5, 3, padding=1), nn.GELU(), nn.Flatten(), nn.Linear(5 * 16, 8),
                            nn.Tanh(), nn.Linear(8, 6))
    else:
        raise ValueError(kind)
    return net.double().eval()


def explicit_quadratic(net: nn.Module, score, a: torch.Tensor) -> torch.Tensor:
    """Textbook: the full Hessian per image (torch.autograd.functional.hessian), then a_l^T H_ll a_l."""
    n, c, h, w = a.shape
    out = torch.zeros(n, h, w, dtype=a.dtype)
    for i in range(n):
        hess = torch.autograd.functional.hessian(lambda t: score(net(t[None]))[0], a[i])  # (C,H,W,C,H,W)
        for y in range(h):
            for x in range(w):
                out[i, y, x] = a[i, :, y, x] @ hess[:, y, x, :, y, x] @ a[i, :, y, x]
    return out


def _inputs() -> torch.Tensor:
    return 2.0 * torch.randn(3, 3, 4, 4, generator=torch.Generator().manual_seed(7), dtype=torch.float64)


@pytest.mark.parametrize("score_name", ["softmax", "entropy"])
def test_piecewise_linear_head_all_methods_equal_the_explicit_hessian(score_name):
    net, score, a = _head("relu"), SCORES.get(score_name).fn, _inputs()
    head = lambda _x, t: net(t)  # noqa: E731
    expected = explicit_quadratic(net, score, a)
    assert expected.abs().max() > 1e-4  # a real second-order term, not zeros
    assert gauss_newton_error(head, score, None, a) < 1e-10
    for fn in (quadratic_gauss_newton, quadratic_hvp, quadratic_loop):
        torch.testing.assert_close(fn(head, score, None, a), expected, rtol=1e-9, atol=1e-12)
    q, used = second_order_quadratic(head, score, None, a)
    assert used == "gauss_newton"
    torch.testing.assert_close(q, expected, rtol=1e-9, atol=1e-12)


def test_smooth_head_auto_detects_curvature_and_uses_exact_hvp():
    net, score, a = _head("gelu"), SCORES.get("entropy").fn, _inputs()
    head = lambda _x, t: net(t)  # noqa: E731
    expected = explicit_quadratic(net, score, a)
    assert gauss_newton_error(head, score, None, a) > PL_RTOL  # the head's own curvature is seen
    gauss_newton = quadratic_gauss_newton(head, score, None, a)
    assert (gauss_newton - expected).abs().max() > 1e-3 * expected.abs().max()  # and it matters
    q, used = second_order_quadratic(head, score, None, a)
    assert used == "hvp"
    torch.testing.assert_close(q, expected, rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(quadratic_loop(head, score, None, a), expected, rtol=1e-9, atol=1e-12)
    for vectorise in (True, False):  # the vmapped second backward (CUDA default) and one backward per location
        q = quadratic_hvp(head, score, None, a, max_batch=7, vectorise=vectorise)
        torch.testing.assert_close(q, expected, rtol=1e-9, atol=1e-12)


def test_hardness_score_on_one_logit():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 1), nn.ReLU(), nn.Flatten(), nn.Linear(64, 1)).double().eval()
    score, a = SCORES.get("hardness").fn, _inputs()
    expected = explicit_quadratic(net, score, a)
    torch.testing.assert_close(quadratic_gauss_newton(lambda _x, t: net(t), score, None, a), expected, rtol=1e-9, atol=1e-12)


def test_output_maps_are_activation_times_gradient_per_class():
    net, a = _head("relu"), _inputs()
    classes = torch.tensor([[0, 5], [2, 1], [3, 3]])
    maps = output_maps(lambda _x, t: net(t), None, a, classes)
    for i in range(a.shape[0]):
        for j in range(classes.shape[1]):
            t = a[i : i + 1].clone().requires_grad_(True)
            (g,) = torch.autograd.grad(net(t)[0, classes[i, j]], t)
            torch.testing.assert_close(maps[j, i], (t.detach() * g)[0].sum(0))


@pytest.mark.parametrize("score_name", ["softmax", "entropy", "hardness"])
def test_vectorised_score_hessian_equals_double_backward(score_name):
    """The one-call ``vmap(hessian)`` form against K double-backward passes, per image."""
    score = SCORES.get(score_name).fn
    z = torch.randn(7, 1 if score_name == "hardness" else 5, dtype=torch.float64)
    fast = score_hessian(score, z, vectorised=True)
    slow = score_hessian(score, z, vectorised=False)
    assert fast.shape == (7, z.shape[1], z.shape[1])
    torch.testing.assert_close(fast, slow, rtol=1e-10, atol=1e-12)
    assert float(slow.abs().max()) > 1e-3  # a curved score: the check compares non-trivial blocks
