"""Attribution methods checked against slow textbook references (float64, seeded models)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.autograd.functional import hessian

from harness.attribution import METHODS, AttributionParams, attribute, elrp_rules
from harness.common.errors import HarnessError

DT = torch.float64


def seeded(build, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return build().to(DT).eval()


def smooth_net() -> nn.Module:
    """(B,2,4,4) -> (B,3) with Softplus, Tanh, ELU and Sigmoid: nonzero Hessian everywhere."""
    return nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1), nn.Softplus(), nn.Conv2d(3, 2, 3), nn.Tanh(),
        nn.Flatten(), nn.Linear(8, 4), nn.ELU(), nn.Linear(4, 3), nn.Sigmoid(),
    )


def relu_cnn(bias: bool = True, last_relu: bool = False) -> nn.Module:
    """(B,2,6,6) -> (B,5)."""
    layers = [
        nn.Conv2d(2, 4, 3, padding=1, bias=bias), nn.ReLU(), nn.Conv2d(4, 3, 3, stride=2, bias=bias), nn.ReLU(),
        nn.Flatten(), nn.Linear(12, 5, bias=bias),
    ]
    return nn.Sequential(*layers, *([nn.ReLU()] if last_relu else []))


def relu_mlp(bias: bool = False, last_relu: bool = False) -> nn.Module:
    """(B,1,3,4) -> (B,3)."""
    layers = [nn.Flatten(), nn.Linear(12, 10, bias=bias), nn.ReLU(), nn.Linear(10, 8, bias=bias), nn.ReLU(),
              nn.Linear(8, 3, bias=bias)]
    return nn.Sequential(*layers, *([nn.ReLU()] if last_relu else []))


class ResidualNet(nn.Module):
    """Conv -> ReLU -> (Conv -> ReLU -> Conv) + skip -> ReLU: an Add that no Sequential has."""

    def __init__(self) -> None:
        super().__init__()
        self.stem, self.a, self.b = nn.Conv2d(2, 4, 3, padding=1), nn.Conv2d(4, 4, 3, padding=1), nn.Conv2d(4, 4, 3, padding=1)
        self.r1, self.r2, self.r3 = nn.ReLU(), nn.ReLU(), nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.r1(self.stem(x))
        return self.r3(h + self.b(self.r2(self.a(h))))


def data(*shape: int, seed: int = 1) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=DT)


def total(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """T per sample: sum of all output units."""
    with torch.no_grad():
        return model(x).reshape(x.shape[0], -1).sum(1)


# ---------------------------------------------------------------- saliency, gradient*input


def test_saliency_and_gradxinput_match_central_differences() -> None:
    model, x = seeded(smooth_net), data(3, 2, 4, 4)
    h, fd = 1e-5, torch.zeros(3, 32, dtype=DT)
    for i in range(32):
        step = torch.zeros(3, 32, dtype=DT)
        step[:, i] = h
        step = step.view_as(x)
        fd[:, i] = (total(model, x + step) - total(model, x - step)) / (2 * h)
    fd = fd.view_as(x)
    maps = attribute(model, x, ["saliency", "gradxinput"])
    torch.testing.assert_close(maps["saliency"], fd.abs(), rtol=1e-6, atol=1e-9)
    torch.testing.assert_close(maps["gradxinput"], x * fd, rtol=1e-6, atol=1e-9)


class _CountBackward(torch.autograd.Function):
    calls = 0

    @staticmethod
    def forward(ctx, out):  # type: ignore[override]
        return out.view_as(out)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        _CountBackward.calls += 1
        return grad


class Counting(nn.Module):
    """Counts forwards and backwards through the wrapped model."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner, self.forwards = inner, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.forwards += 1
        return _CountBackward.apply(self.inner(x))


def test_saliency_and_gradxinput_share_one_backward() -> None:
    model, x = Counting(seeded(smooth_net)), data(2, 2, 4, 4)
    _CountBackward.calls = 0
    both = attribute(model, x, ["saliency", "gradxinput"])
    assert (model.forwards, _CountBackward.calls) == (1, 1)
    for name in both:
        torch.testing.assert_close(both[name], attribute(model, x, [name])[name], rtol=0, atol=0)


def test_gradient_and_elrp_share_one_forward() -> None:
    """saliency + gradxinput + elrp: one forward, two backwards, same maps as computed apart."""
    model, x = Counting(seeded(smooth_net)), data(2, 2, 4, 4)
    _CountBackward.calls = 0
    fused = attribute(model, x, ["saliency", "gradxinput", "elrp"])
    assert (model.forwards, _CountBackward.calls) == (1, 2)
    for name in fused:
        torch.testing.assert_close(fused[name], attribute(model, x, [name])[name], rtol=1e-12, atol=1e-15)
    assert (fused["elrp"] - fused["gradxinput"]).abs().max() > 1e-3  # the override really acted


# ---------------------------------------------------------------- integrated gradients


@pytest.mark.parametrize("build,shape", [(lambda: relu_cnn(bias=True), (3, 2, 6, 6)), (smooth_net, (3, 2, 4, 4))])
def test_integrated_gradients_completeness(build, shape) -> None:
    model, x = seeded(build), data(*shape)
    ig = attribute(model, x, ["integrated_gradients"], params=AttributionParams(ig_steps=200))["integrated_gradients"]
    expected = total(model, x) - total(model, torch.zeros_like(x))
    assert (expected.abs() > 1e-3).all()
    torch.testing.assert_close(ig.reshape(3, -1).sum(1), expected, rtol=0.01, atol=0)


def test_integrated_gradients_trapezoid_reference_and_chunking() -> None:
    """Slow reference: one gradient per path point, trapezoid weights, from a per-channel baseline."""
    model, x, steps, base_values = seeded(smooth_net), data(2, 2, 4, 4), 8, (0.3, -0.2)
    base = torch.tensor(base_values, dtype=DT).view(1, 2, 1, 1).expand_as(x)
    acc = torch.zeros_like(x)
    for k in range(steps + 1):
        point = (base + k / steps * (x - base)).requires_grad_(True)
        (g,) = torch.autograd.grad(model(point).sum(), point)
        acc += g * (0.5 if k in (0, steps) else 1.0) / steps
    reference = (x - base) * acc
    for chunk in (1, 3, 1000):  # 1 path point per pass, a ragged last chunk, everything at once
        params = AttributionParams(ig_steps=steps, ig_batch=chunk, ig_baseline=base_values)
        got = attribute(model, x, ["integrated_gradients"], params=params)["integrated_gradients"]
        torch.testing.assert_close(got, reference, rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------- epsilon-LRP


def _dense(layer: nn.Module, in_shape: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor, tuple[int, ...]]:
    """The layer as an explicit matrix M[j, k] = w_jk (flat input j -> flat output k), its
    bias per output unit, and the output shape; built from basis images, not autograd."""
    n = math.prod(in_shape)
    basis = torch.eye(n, dtype=DT).reshape(n, *in_shape)
    with torch.no_grad():
        out = nn.functional.conv2d(basis, layer.weight, None, layer.stride, layer.padding) if isinstance(
            layer, nn.Conv2d) else basis @ layer.weight.T
    out_shape = tuple(out.shape[1:])
    bias = torch.zeros(out_shape, dtype=DT) if layer.bias is None else layer.bias.detach().view(
        -1, *([1] * (len(out_shape) - 1))).expand(out_shape)
    return out.reshape(n, -1), bias.reshape(-1), out_shape


def lrp_reference(model: nn.Sequential, x: torch.Tensor, eps: float) -> torch.Tensor:
    """Textbook layer-by-layer epsilon-LRP on Linear/Conv2d/ReLU/Flatten chains, one sample at a time.

    Relevance of the output units = their values (the explained T is their sum); then, per
    linear layer with input a and pre-activations z = a M + b,
    ``R_j = sum_k a_j w_jk / (z_k + e s(z_k)) R_k`` with s(z) = +1 for z >= 0 else -1, and a
    ReLU passes relevance through unchanged.

    Correspondence with DeepExplain's override (what ``elrp`` computes): write g for the
    modified gradient. Through y = relu(z) it is g_z = g_y y / (z + eps s(z)), through a linear
    layer g_a = M g_z. If R_k = y_k g_{y_k} holds above a layer followed by a ReLU, then
    a_j g_{a_j} = sum_k a_j w_jk y_k g_{y_k} / (z_k + eps s(z_k)) = sum_k a_j w_jk R_k / (z_k + eps s(z_k)) = R_j:
    the LRP rule with e = eps (biases only enter through z, so this holds with biases too).
    At the top, g = 1 (T = sum), so R = output values = y * g. A linear layer *not* followed
    by an activation keeps its plain gradient: a_j g_{a_j} = sum_k a_j w_jk R_k / z_k, i.e. the
    rule with e = 0 (LRP-0), which is what this reference uses for such a layer (the last
    Linear of a net without a final ReLU). By induction x * g at the input equals R at the input.
    """
    maps = []
    for sample in x:
        a, shape, records = sample.reshape(-1), tuple(sample.shape), []
        for layer in model:
            if isinstance(layer, (nn.Linear, nn.Conv2d)):
                matrix, bias, shape = _dense(layer, shape if isinstance(layer, nn.Conv2d) else (a.numel(),))
                z = a @ matrix + bias
                records.append({"a": a, "M": matrix, "z": z, "e": 0.0})
                a = z
            elif isinstance(layer, nn.ReLU):
                records[-1]["e"] = eps
                a = torch.relu(a)
            elif not isinstance(layer, nn.Flatten):
                raise TypeError(layer)
        relevance = a.clone()
        for rec in reversed(records):
            z, e = rec["z"], rec["e"]
            denom = z + e * torch.where(z >= 0, 1.0, -1.0).to(DT)
            share = torch.where(denom == 0, torch.zeros_like(z), relevance / denom)
            relevance = rec["a"] * (rec["M"] @ share)
        maps.append(relevance.reshape(sample.shape))
    return torch.stack(maps)


@pytest.mark.parametrize("eps", [1e-4, 0.5])
@pytest.mark.parametrize(
    "build,shape",
    [
        (lambda: relu_mlp(bias=False), (4, 1, 3, 4)),
        (lambda: relu_mlp(bias=False, last_relu=True), (4, 1, 3, 4)),
        (lambda: relu_cnn(bias=False), (4, 2, 6, 6)),
        (lambda: relu_cnn(bias=False, last_relu=True), (4, 2, 6, 6)),
        (lambda: relu_cnn(bias=True, last_relu=True), (4, 2, 6, 6)),
    ],
)
def test_elrp_matches_layerwise_lrp(build, shape, eps) -> None:
    model, x = seeded(build), data(*shape)
    maps = attribute(model, x, ["elrp", "gradxinput"], params=AttributionParams(eps=eps))
    reference = lrp_reference(model, x, eps)
    scale = reference.abs().max()
    torch.testing.assert_close(maps["elrp"], reference, rtol=1e-6, atol=1e-9 * scale)
    if eps == 0.5:  # the rule really is applied: far from plain gradient*input
        assert (maps["elrp"] - maps["gradxinput"]).abs().max() > 1e-3 * scale


class Shift(nn.Module):
    """z = x - 0.25, so that an input of exactly 0.25 reaches the activation as z = 0."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x - 0.25


@pytest.mark.parametrize("act", [nn.ReLU(), nn.ELU(), nn.Sigmoid(), nn.Tanh(), nn.Softplus(), nn.LeakyReLU(0.1)])
def test_elrp_override_formula_for_each_activation(act: nn.Module) -> None:
    """x * g_out * f(z) / (z + eps s(z)) with s(0) = +1, on negative, positive and zero z."""
    x, eps = data(2, 3, 2, 2), 0.5
    x[0, 0, 0, 0] = 0.25
    z = x - 0.25
    expected = x * act(z) / (z + eps * torch.where(z >= 0, 1.0, -1.0).to(DT))
    got = attribute(nn.Sequential(Shift(), act), x, ["elrp"], params=AttributionParams(eps=eps))["elrp"]
    torch.testing.assert_close(got, expected, rtol=1e-13, atol=0)


def test_elrp_conserves_relevance_without_biases() -> None:
    """Bias-free ReLU net with a final ReLU, tiny eps: sum of input relevance ~= sum of outputs."""
    model, x = seeded(lambda: relu_cnn(bias=False, last_relu=True)), data(4, 2, 6, 6)
    elrp = attribute(model, x, ["elrp"])["elrp"]
    torch.testing.assert_close(elrp.reshape(4, -1).sum(1), total(model, x), rtol=1e-2, atol=1e-8)


def test_elrp_on_residual_block_runs_and_is_finite() -> None:
    model, x = seeded(ResidualNet), data(2, 2, 6, 6)
    maps = attribute(model, x, ["elrp", "gradxinput"])
    assert maps["elrp"].shape == x.shape and torch.isfinite(maps["elrp"]).all()
    assert not torch.equal(maps["elrp"], maps["gradxinput"])


class SharedInplace(nn.Module):
    """One inplace ReLU module called twice (as torchvision's ResNet blocks do)."""

    def __init__(self, ref: nn.Sequential) -> None:
        super().__init__()
        self.c1, self.c2, self.fc = ref[0], ref[2], ref[5]
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.relu(self.c2(self.relu(self.c1(x)))).flatten(1))


class OnnxFunction(nn.Module):
    """Mimics onnx2torch's wrapper for ONNX Tanh (matched by name and wrapped function)."""

    def __init__(self) -> None:
        super().__init__()
        self.function = torch.tanh

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.function(x)


def test_elrp_handles_inplace_shared_and_onnx2torch_activations() -> None:
    ref, x = seeded(relu_cnn), data(2, 2, 6, 6)
    expected = attribute(ref, x, ["elrp"])["elrp"]
    torch.testing.assert_close(attribute(SharedInplace(ref), x, ["elrp"])["elrp"], expected, rtol=1e-12, atol=0)
    tanh_net = seeded(lambda: nn.Sequential(nn.Flatten(), nn.Linear(72, 6), nn.Tanh(), nn.Linear(6, 2)))
    wrapped = nn.Sequential(tanh_net[0], tanh_net[1], OnnxFunction(), tanh_net[3])
    eps = AttributionParams(eps=0.3)
    torch.testing.assert_close(attribute(wrapped, x, ["elrp"], params=eps)["elrp"],
                               attribute(tanh_net, x, ["elrp"], params=eps)["elrp"], rtol=1e-12, atol=0)
    with elrp_rules(wrapped) as names:
        assert names == ["2"]


def test_elrp_fx_graphs_module_activations_work_functional_ones_are_refused() -> None:
    model, x = seeded(relu_cnn), data(2, 2, 6, 6)
    traced = torch.fx.symbolic_trace(model)
    torch.testing.assert_close(attribute(traced, x, ["elrp"])["elrp"], attribute(model, x, ["elrp"])["elrp"],
                               rtol=0, atol=0)

    class Functional(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(72, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.relu(self.fc(x.flatten(1)))

    graph = torch.fx.symbolic_trace(seeded(Functional))
    with pytest.raises(HarnessError, match="relu"):
        attribute(graph, x, ["elrp"])


# ---------------------------------------------------------------- second order


def test_second_order_matches_explicit_hessian() -> None:
    build = lambda: nn.Sequential(nn.Flatten(), nn.Linear(9, 4), nn.Tanh(), nn.Linear(4, 2), nn.Softplus())  # noqa: E731
    model, x = seeded(build), data(2, 1, 3, 3)
    expected = []
    for sample in x:
        f = lambda v: model(v.view(1, 1, 3, 3)).sum()  # noqa: E731
        v = sample.reshape(-1).clone().requires_grad_(True)
        (g,) = torch.autograd.grad(f(v), v)
        h = hessian(f, sample.reshape(-1))
        assert h.abs().max() > 1e-3
        expected.append((v.detach() * g + 0.5 * (v.detach() * (h @ v.detach())).abs()).view(1, 3, 3))
    got = attribute(model, x, ["second_order"])["second_order"]
    torch.testing.assert_close(got, torch.stack(expected), rtol=1e-10, atol=1e-12)


def test_second_order_of_relu_net_is_gradxinput() -> None:
    model, x = seeded(relu_cnn), data(2, 2, 6, 6)
    maps = attribute(model, x, ["second_order", "gradxinput"])
    torch.testing.assert_close(maps["second_order"], maps["gradxinput"], rtol=0, atol=0)


# ---------------------------------------------------------------- the model is never changed


def snapshot(model: nn.Module, x: torch.Tensor) -> dict:
    """State, mode flags, and the output and input gradient of the model (taken in eval mode,
    flags restored by hand, so batch norm statistics are not touched by the snapshot itself)."""
    training = [m.training for m in model.modules()]
    model.eval()
    leaf = x.clone().requires_grad_(True)
    out = model(leaf)
    (grad,) = torch.autograd.grad(out.sum(), leaf)
    for m, flag in zip(model.modules(), training):
        m.training = flag
    return {"state": {k: v.clone() for k, v in model.state_dict().items()}, "out": out.detach(), "grad": grad,
            "training": training}


def assert_untouched(model: nn.Module, x: torch.Tensor, before: dict) -> None:
    after = snapshot(model, x)
    assert before["state"].keys() == after["state"].keys()
    assert all(torch.equal(before["state"][k], after["state"][k]) for k in before["state"])
    assert torch.equal(before["out"], after["out"]) and torch.equal(before["grad"], after["grad"])
    assert before["training"] == after["training"]
    assert all(p.grad is None for p in model.parameters())
    for m in model.modules():
        for hooks in ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks"):
            assert not getattr(m, hooks), f"{type(m).__name__}.{hooks} left behind"


def bn_net() -> nn.Module:
    return nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.Softplus(), nn.Flatten(), nn.Linear(48, 2))


@pytest.mark.parametrize("method", METHODS.names())
def test_model_unchanged_by_each_method(method: str) -> None:
    model, x = seeded(bn_net).train(), data(2, 2, 6, 6)  # train mode: batch norm must not update
    before = snapshot(model, x)
    attribute(model, x, [method], params=AttributionParams(ig_steps=4))
    assert_untouched(model, x, before)


def test_elrp_context_restores_model_after_exception() -> None:
    model, x = seeded(ResidualNet), data(2, 2, 6, 6)
    before = snapshot(model, x)
    with pytest.raises(RuntimeError, match="boom"):
        with elrp_rules(model, eps=0.1) as names:
            assert names == ["r1", "r2", "r3"]
            model(x.clone().requires_grad_(True)).sum()
            raise RuntimeError("boom")
    assert_untouched(model, x, before)
    with pytest.raises(HarnessError, match="one value per sample"):  # failure inside attribute()
        attribute(model, x, ["elrp"], target=lambda out: out.sum())
    assert_untouched(model, x, before)


# ---------------------------------------------------------------- targets, errors


def test_custom_and_named_targets() -> None:
    model, x = seeded(smooth_net), data(3, 2, 4, 4)
    leaf = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(leaf)[:, 2].sum(), leaf)
    by_callable = attribute(model, x, ["gradxinput"], target=lambda out: out[:, 2])["gradxinput"]
    by_params = attribute(model, x, ["gradxinput"], params=AttributionParams(target="unit", unit=2))["gradxinput"]
    torch.testing.assert_close(by_callable, x * grad, rtol=1e-12, atol=0)
    torch.testing.assert_close(by_params, x * grad, rtol=1e-12, atol=0)
    with torch.no_grad():
        top = model(x).argmax(1)
    (grad,) = torch.autograd.grad(model(leaf).gather(1, top.view(-1, 1)).sum(), leaf)
    by_argmax = attribute(model, x, ["saliency"], params=AttributionParams(target="argmax"))["saliency"]
    torch.testing.assert_close(by_argmax, grad.abs(), rtol=1e-12, atol=0)


def test_errors_are_one_line_harness_errors() -> None:
    model, x = seeded(smooth_net), data(1, 2, 4, 4)
    with pytest.raises(HarnessError, match="did you mean 'saliency'"):
        attribute(model, x, ["salency"])
    with pytest.raises(HarnessError, match="out of range"):
        attribute(model, x, ["saliency"], params=AttributionParams(target="unit", unit=3))
    for bad in ({"eps": 0.0}, {"ig_steps": 0}, {"target": "max"}, {"target": "unit"}, {"ig_baseline": float("nan")}):
        with pytest.raises(HarnessError):
            AttributionParams(**bad)
    with pytest.raises(HarnessError, match="floating-point"):
        attribute(model, x.long(), ["saliency"])
