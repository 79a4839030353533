"""Pooling onnx2torch lacks: ``GlobalMaxPool`` (Keras GlobalMaxPooling2D) and ``AveragePool``-19/22.

AveragePool-19 added ``dilations``; with unit dilations it computes what AveragePool-11
computes, so onnx2torch's converter is reused, and other dilations are refused by name.
"""

from __future__ import annotations

import torch
from onnx2torch.node_converters.registry import _CONVERTER_REGISTRY, OperationDescription

from harness.model.converters.base import OnnxToTorchModule, register, result, unsupported


class OnnxGlobalMaxPool(torch.nn.Module, OnnxToTorchModule):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.amax(x, dim=tuple(range(2, x.dim())), keepdim=True)


@register("GlobalMaxPool", (1, 22))
def _global_max_pool(node, graph):
    return result(OnnxGlobalMaxPool(), node)


@register("AveragePool", (19, 22))
def _average_pool(node, graph):
    dilations = node.attributes.get("dilations")
    if dilations and any(d != 1 for d in dilations):
        raise unsupported(node, f"dilations={list(dilations)}")
    previous = _CONVERTER_REGISTRY[OperationDescription(domain="", operation_type="AveragePool", version=11)]
    return previous(node, graph)
