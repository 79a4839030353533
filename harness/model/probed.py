"""A converted model with named probe layers.

:class:`ProbedModel` is what the rest of the harness works with: the onnx2torch graph, the
index of its layers by ONNX name, the resolved probe layer and the parity record. Every
module it hands out takes NCHW input (the card's layout is applied inside), and features
are captured by hooks that are always removed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import fx, nn

from harness.model.card import ModelCard
from harness.model.layers import Layer, LayerIndex
from harness.model.cut import NCHWInput, graph_before, select_output
from harness.model.parity import ParityResult


@dataclass
class ProbedModel:
    """An imported model: converted graph, layer index, probe layer and parity."""

    card: ModelCard
    graph: fx.GraphModule
    layers: LayerIndex
    probe: Layer
    parity: ParityResult | None  # None only when imported with check_parity=False (layer listings)
    fixed_batch: int | None  # None when the graph accepts any batch size

    def module(self) -> nn.Module:
        """The whole model, taking NCHW preprocessed input."""
        return NCHWInput(self.graph, self.card.input.layout).eval()

    def probe_module(self, layer: str | None = None) -> nn.Module:
        """The model up to a layer (default: the card's probe layer), taking NCHW input."""
        target = self.probe if layer is None else self.layers.resolve(layer, str(self.card.path))
        return NCHWInput(graph_before(self.graph, target), self.card.input.layout).eval()

    @contextmanager
    def capture(self, *names: str) -> Iterator[dict[str, torch.Tensor]]:
        """Record the outputs of the named layers during forward passes inside the block.

        The hooks are removed on exit, also when the block raises.
        """
        captured: dict[str, torch.Tensor] = {}
        handles = []
        try:
            for name in names or (self.probe.tensor,):
                layer = self.layers.resolve(name, str(self.card.path))
                module = self.graph.get_submodule(layer.module)
                handles.append(module.register_forward_hook(_recorder(captured, name, layer.output_index)))
            yield captured
        finally:
            for handle in handles:
                handle.remove()


def _recorder(store: dict[str, torch.Tensor], name: str, index: int):
    def hook(_module, _inputs, output):
        store[name] = select_output(output, index)

    return hook
