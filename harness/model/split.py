"""A probed model split at one 4-D layer: ``body(x) -> A`` and ``head(x, A) -> outputs``.

Every layer-level explanation is a function of the activations A of one conv layer, so the
graph is cut there once (:mod:`harness.model.cut`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from harness.common.errors import HarnessError
from harness.model.cut import NCHWHead, first_output, graph_after
from harness.model.layers import Layer
from harness.model.probed import ProbedModel


@dataclass
class SplitModel:
    """A probed model split at one 4-D layer (NCHW activations)."""

    model: ProbedModel
    layer: Layer
    body: nn.Module
    head: nn.Module

    @classmethod
    def at(cls, model: ProbedModel, layer_name: str | None, flag: str = "--layer") -> SplitModel:
        """Split at ``layer_name`` (default: the card's probe layer); it must be a 4-D feature map."""
        where = str(model.card.path)
        layer = model.probe if layer_name is None else model.layers.resolve(layer_name, f"{where}: {flag}")
        shape = layer.shape
        if shape is None or len(shape) != 4:
            got = "x".join(map(str, shape)) if shape else "unknown"
            source = f"{flag} {layer_name!r}" if layer_name else f"probe_layer {layer.onnx_node or layer.tensor!r}"
            raise HarnessError(
                f"{where}: {source} has output shape {got}; explanations need a 4-D conv feature map "
                f"(N, C, H, W): pass {flag} with one (see `harness layers {where}`)"
            )
        body = model.probe_module(layer.tensor)
        head = NCHWHead(graph_after(model.graph, layer), model.card.input.layout).eval()
        return cls(model, layer, body, head)

    def logits(self, x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """The model's (single) output for layer activations ``a``, as (N, K)."""
        out = first_output(self.head(x, a))
        return out.reshape(out.shape[0], -1)

    def output_shape(self, x: torch.Tensor) -> tuple[int, ...]:
        """The model's (first) output shape for one image, batch axis dropped."""
        with torch.no_grad():
            return tuple(first_output(self.head(x[:1], self.body(x[:1]))).shape[1:])

    def output_size(self, x: torch.Tensor) -> int:
        return int(np.prod(self.output_shape(x), dtype=np.int64))
