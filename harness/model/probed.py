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
from harness.model.parity import ParityResult


class NCHWInput(nn.Module):
    """Feeds an NCHW batch to a graph that expects the card's layout."""

    def __init__(self, graph: nn.Module, layout: str) -> None:
        super().__init__()
        self.graph = graph
        self.nhwc = layout == "NHWC"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.nhwc:
            x = x.permute(0, 2, 3, 1)
        return self.graph(x)


def truncate(graph: fx.GraphModule, layer: Layer) -> fx.GraphModule:
    """A graph that stops at ``layer`` and returns its value; it shares the original's parameters.

    Attribution only needs the graph up to the probe layer: computing the rest would waste
    time and memory.
    """
    new = fx.Graph()
    env: dict[fx.Node, fx.Node] = {}
    for node in graph.graph.nodes:
        if node.op == "output":
            break
        env[node] = new.node_copy(node, lambda n: env[n])
        if node.op == "call_module" and node.target == layer.module:
            new.output(new.call_function(select_output, (env[node], layer.output_index)))
            break
    else:  # pragma: no cover - the index only names modules of this graph
        raise KeyError(layer.module)
    truncated = fx.GraphModule(graph, new)
    truncated.graph.eliminate_dead_code()
    truncated.recompile()
    return truncated


def select_output(value, index: int):
    """Output ``index`` of a multi-output module, or the single output itself."""
    return value[index] if isinstance(value, (tuple, list)) else value


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
        return NCHWInput(truncate(self.graph, target), self.card.input.layout).eval()

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
