"""Activations onnx2torch lacks: ``Gelu``-20 (ViT/ConvNeXt exports at opset 20+) and ``Mish``."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from harness.model.converters.base import OnnxToTorchModule, register, result, unsupported


class OnnxGelu(torch.nn.Module, OnnxToTorchModule):
    """``Gelu``: x * Phi(x), exact (erf) or the tanh approximation."""

    def __init__(self, approximate: str) -> None:
        super().__init__()
        self.approximate = approximate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(x, approximate=self.approximate)


class OnnxMish(torch.nn.Module, OnnxToTorchModule):
    """``Mish``: x * tanh(softplus(x))."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.mish(x)


@register("Gelu", (20,))
def _gelu(node, graph):
    approximate = node.attributes.get("approximate", "none")
    if approximate not in ("none", "tanh"):
        raise unsupported(node, f"approximate={approximate!r} (expected 'none' or 'tanh')")
    return result(OnnxGelu(approximate), node)


@register("Mish", (18, 22))
def _mish(node, graph):
    return result(OnnxMish(), node)
