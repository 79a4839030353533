"""Method and pass registries, the shared autograd helpers, and :func:`attribute`.

A *pass* is one forward+backward computation (``(model, x, target, params) -> dict`` of
tensors); a *method* names the pass it needs and turns that pass's tensors into a map. Methods
needing the same pass share it: saliency and gradient*input cost one backward together.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from harness.attribution.params import AttributionParams
from harness.attribution.targets import Target, evaluate, resolve_target
from harness.common.errors import HarnessError
from harness.common.registry import Registry

PassFn = Callable[[nn.Module, torch.Tensor, Target, AttributionParams], dict[str, torch.Tensor]]


@dataclass(frozen=True)
class AttributionMethod:
    """A map computed from the tensors of one (possibly shared) pass."""

    pass_name: str
    finish: Callable[[torch.Tensor, dict[str, torch.Tensor]], torch.Tensor]


METHODS: Registry[AttributionMethod] = Registry("attribution method")
PASSES: Registry[PassFn] = Registry("attribution pass")
#: Passes computed together more cheaply than apart, keyed "passA+passB"; each returns
#: {pass name: that pass's tensors}. Used whenever all of their passes are needed.
FUSED_PASSES: Registry[Callable[..., dict[str, dict[str, torch.Tensor]]]] = Registry("fused attribution pass")


def attribute(
    model: nn.Module,
    x: torch.Tensor,
    methods: Sequence[str],
    *,
    target: Target | None = None,
    params: AttributionParams | None = None,
) -> dict[str, torch.Tensor]:
    """Attribution maps of ``model`` at input batch ``x``, one per method, each shaped like ``x``.

    ``target`` (a callable ``output -> (B,)``) overrides ``params.target``. The model runs in
    eval mode (restored afterwards); it is never modified and its parameters get no ``.grad``.
    Results are detached and on ``x``'s device.
    """
    params = params or AttributionParams()
    chosen = {name: METHODS.get(name) for name in methods}  # unknown names fail before any work
    if not isinstance(x, torch.Tensor) or not x.is_floating_point() or x.ndim < 1:
        raise HarnessError(f"attribution input must be a floating-point tensor (batch, ...), got {_describe(x)}")
    x = x.detach().clone() if x.is_inference() else x.detach()
    results: dict[str, torch.Tensor] = {}
    passes: dict[str, dict[str, torch.Tensor]] = {}
    with eval_mode(model), torch.inference_mode(False), torch.enable_grad():
        tgt = resolve_target(model, x, target, params)
        needed = {method.pass_name for method in chosen.values()}
        for key in FUSED_PASSES:
            parts = set(key.split("+"))
            if parts <= needed and not parts & passes.keys():
                passes.update(FUSED_PASSES.get(key)(model, x, tgt, params))
        for name, method in chosen.items():
            if method.pass_name not in passes:
                passes[method.pass_name] = PASSES.get(method.pass_name)(model, x, tgt, params)
            results[name] = method.finish(x, passes[method.pass_name]).detach()
    return results


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[None]:
    """Eval mode for the block, then every module's own ``training`` flag back.

    Attribution explains the deterministic inference function: train-mode batch norm would
    mix samples and update running statistics, dropout would make maps random.
    """
    flags = [(m, m.training) for m in model.modules()]
    try:
        model.eval()
        yield
    finally:
        for module, flag in flags:
            module.training = flag


def target_values(model: nn.Module, x: torch.Tensor, target: Target) -> torch.Tensor:
    """``target(model(x))``, shape (B,)."""
    return evaluate(target, model(x))


def grad_or_zeros(
    scalar: torch.Tensor,
    inp: torch.Tensor,
    grad_output: torch.Tensor | None = None,
    create_graph: bool = False,
    retain_graph: bool | None = None,
) -> torch.Tensor:
    """d scalar / d inp via ``torch.autograd.grad`` (never ``.backward()``: no parameter gets
    ``.grad``); zeros where ``scalar`` does not depend on ``inp`` (e.g. a zero Hessian)."""
    if not scalar.requires_grad:
        return torch.zeros_like(inp)
    (grad,) = torch.autograd.grad(
        scalar, inp, grad_outputs=grad_output, create_graph=create_graph, retain_graph=retain_graph, allow_unused=True
    )
    return torch.zeros_like(inp) if grad is None else grad


def input_gradient(model: nn.Module, x: torch.Tensor, target: Target) -> torch.Tensor:
    """dT/dx for every sample in one forward and one backward (samples are independent,
    so the gradient of the batch sum is the batch of per-sample gradients)."""
    leaf = x.detach().requires_grad_(True)
    return grad_or_zeros(target_values(model, leaf, target).sum(), leaf)


def _describe(x: object) -> str:
    return f"{x.dtype} tensor of shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
