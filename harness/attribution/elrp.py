"""Epsilon-LRP in DeepExplain's gradient-override form.

Every op keeps its gradient except the elementwise nonlinearities ``y = f(z)`` (ReLU, ELU,
Sigmoid, Tanh, Softplus, LeakyReLU), whose backward becomes
``g_out * f(z) / (z + eps * s(z))`` with ``s(z) = +1 if z >= 0 else -1``; the map is
``x * (modified gradient)``. Only activations change, so any topology works (residual adds
included). For a chain of linear layers and such activations this is exactly layer-wise
LRP-epsilon, ``R_j = sum_k a_j w_jk / (z_k + eps s(z_k)) R_k`` (see the tests for the proof).

The override is a pair of forward hooks per activation module, installed by
:func:`elrp_rules` and removed in its ``finally`` (even when the block raises). Hooks rather
than a modified copy of the model: nothing is copied (parameters are shared by construction),
there is no copy that could drift from the original, and removal restores the exact module
objects, so outputs and gradients afterwards are bit-identical to before.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.hooks import RemovableHandle

from harness.attribution.base import (
    FUSED_PASSES,
    METHODS,
    PASSES,
    AttributionMethod,
    grad_or_zeros,
    input_gradient,
    target_values,
)
from harness.attribution.params import AttributionParams
from harness.attribution.targets import Target
from harness.common.errors import HarnessError

ACTIVATION_TYPES: tuple[type[nn.Module], ...] = (nn.ReLU, nn.ELU, nn.Sigmoid, nn.Tanh, nn.Softplus, nn.LeakyReLU)
# onnx2torch turns ONNX Tanh (and other unary functions) into OnnxFunction(function=torch.tanh).
_WRAPPED_FUNCTIONS = (torch.tanh, torch.sigmoid, torch.relu)
# Functional activations inside an fx graph cannot be reached by module hooks.
_FX_FUNCTIONS = {
    torch.relu, torch.relu_, torch.sigmoid, torch.sigmoid_, torch.tanh, torch.tanh_,
    F.relu, F.relu_, F.elu, F.elu_, F.sigmoid, F.tanh, F.softplus, F.leaky_relu, F.leaky_relu_,
}
_FX_METHODS = {"relu", "relu_", "sigmoid", "sigmoid_", "tanh", "tanh_"}


class ElrpSwitch:
    """Which backward the hooked activations use: epsilon-LRP's (``active``) or their own.

    One forward with the hooks installed can then serve two backward passes, the plain
    gradient and the epsilon-LRP one (see :func:`gradient_and_elrp_pass`).
    """

    def __init__(self, active: bool = True) -> None:
        self.active = active


class _ElrpGradient(torch.autograd.Function):
    """Forward: ``y``. Backward, when the switch is active: ``g * y / (z + eps * s(z))`` to ``z``
    and nothing to ``y``; otherwise ``g`` to ``y``, i.e. the activation's own gradient."""

    @staticmethod
    def forward(ctx, z: torch.Tensor, y: torch.Tensor, eps: float, switch: ElrpSwitch, relu: bool) -> torch.Tensor:  # type: ignore[override]
        # For ReLU, y / (z + eps s(z)) == y / (y + eps) (z > 0: y = z; z <= 0: y = 0 either way):
        # two passes over a large tensor instead of five.
        ctx.save_for_backward(y / (y + eps) if relu else y / torch.where(z >= 0, z + eps, z - eps))
        ctx.switch = switch
        return y.clone()  # a fresh tensor: later in-place ops on it cannot touch saved state

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        if ctx.switch.active:
            (ratio,) = ctx.saved_tensors
            return grad * ratio, None, None, None, None
        return None, grad, None, None, None


def is_elrp_activation(module: nn.Module, extra_types: Sequence[type] = ()) -> bool:
    """Whether epsilon-LRP overrides this module's gradient."""
    if isinstance(module, ACTIVATION_TYPES + tuple(extra_types)):
        return True
    return type(module).__name__ == "OnnxFunction" and getattr(module, "function", None) in _WRAPPED_FUNCTIONS


def functional_activations(model: nn.Module) -> list[str]:
    """Names of fx nodes that compute an activation as a function call (not overridable)."""
    found = []
    for prefix, module in model.named_modules():
        if isinstance(module, torch.fx.GraphModule):
            for node in module.graph.nodes:
                if (node.op == "call_function" and node.target in _FX_FUNCTIONS) or (
                    node.op == "call_method" and node.target in _FX_METHODS
                ):
                    found.append(f"{prefix}.{node.name}" if prefix else node.name)
    return found


@contextmanager
def elrp_rules(
    model: nn.Module, eps: float = 1e-4, extra_types: Sequence[type] = (), switch: ElrpSwitch | None = None
) -> Iterator[list[str]]:
    """Within the block, activations of ``model`` backpropagate epsilon-LRP's modified gradient.

    Yields the names of the overridden modules. Every hook is removed on exit, also on error.
    With a ``switch``, the override applies only while ``switch.active`` is true at backward time.
    Raises if an fx graph computes activations as functions, which would silently keep their
    plain gradient (a module calling ``torch.relu`` in Python code cannot be detected).
    """
    functional = functional_activations(model)
    if functional:
        shown = ", ".join(functional[:5]) + (f" and {len(functional) - 5} more" if len(functional) > 5 else "")
        raise HarnessError(
            f"elrp: the graph computes activations as function calls ({shown}); epsilon-LRP overrides "
            "activation modules only, so rewrite those nodes as nn.ReLU/nn.Sigmoid/... modules"
        )
    handles: list[RemovableHandle] = []
    names: list[str] = []
    try:
        for name, module in model.named_modules():  # shared modules are listed once
            if is_elrp_activation(module, extra_types):
                handles.extend(_install(module, eps, switch or ElrpSwitch()))
                names.append(name)
        yield names
    finally:
        for handle in handles:
            handle.remove()


def _install(module: nn.Module, eps: float, switch: ElrpSwitch) -> list[RemovableHandle]:
    """A pre-hook keeping the activation's input ``z`` (a copy if the module works in place,
    which would overwrite it) and a hook replacing its output by the rewired one."""
    inputs: list[torch.Tensor | None] = []  # a stack: one entry per call in flight
    relu = isinstance(module, nn.ReLU) or getattr(module, "function", None) is torch.relu

    def keep_input(mod: nn.Module, args: tuple) -> None:
        z = args[0] if args and isinstance(args[0], torch.Tensor) else None
        rewire = z is not None and torch.is_grad_enabled() and z.requires_grad
        inputs.append((z.clone() if getattr(mod, "inplace", False) else z) if rewire else None)

    def rewire_output(mod: nn.Module, args: tuple, out: object) -> torch.Tensor | None:
        z = inputs.pop()
        if z is None or not isinstance(out, torch.Tensor) or out.shape != z.shape:
            return None
        return _ElrpGradient.apply(z, out, eps, switch, relu)

    return [module.register_forward_pre_hook(keep_input), module.register_forward_hook(rewire_output)]


@PASSES.register("elrp_gradient")
def elrp_pass(model: nn.Module, x: torch.Tensor, target: Target, params: AttributionParams) -> dict[str, torch.Tensor]:
    """The input gradient with every activation's backward overridden."""
    with elrp_rules(model, params.eps, params.activation_types):
        return {"grad": input_gradient(model, x, target)}


@FUSED_PASSES.register("gradient+elrp_gradient")
def gradient_and_elrp_pass(
    model: nn.Module, x: torch.Tensor, target: Target, params: AttributionParams
) -> dict[str, dict[str, torch.Tensor]]:
    """The plain and the epsilon-LRP input gradients from ONE forward and two backwards.

    The forward with the hooks installed is the ordinary forward; only the backward rule of
    the activations differs, chosen by the switch before each backward.
    """
    switch = ElrpSwitch(active=False)
    with elrp_rules(model, params.eps, params.activation_types, switch):
        leaf = x.detach().requires_grad_(True)
        total = target_values(model, leaf, target).sum()
        plain = grad_or_zeros(total, leaf, retain_graph=True)
        switch.active = True
        modified = grad_or_zeros(total, leaf)
    return {"gradient": {"grad": plain}, "elrp_gradient": {"grad": modified}}


METHODS.add("elrp", AttributionMethod("elrp_gradient", lambda x, p: x * p["grad"]),
            "epsilon-LRP (DeepExplain form): x * gradient with activation backwards replaced by g*f(z)/(z+eps*s(z))")
