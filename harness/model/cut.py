"""A classifier cut at one 4-D layer: ``features(x) -> A`` and ``head(A) -> outputs``.

Every explanation is a function of the activations A of one conv layer, so the graph is
split there once: the body (the harness's truncated probe graph) and a head graph whose input
is A. The head is a copy of the fx graph with the layer's value replaced by a placeholder and
dead code removed; values the head needs from before the layer (skip connections) are still
computed from x. Both parts share the original parameters.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass

import torch
from torch import fx, nn

from harness.common.errors import HarnessError
from harness.model.layers import Layer
from harness.model.probed import ProbedModel, select_output


class _Head(nn.Module):
    """head(x, a): the graph after ``layer`` with its value given as ``a`` (NCHW input x)."""

    def __init__(self, graph: fx.GraphModule, nhwc: bool) -> None:
        super().__init__()
        self.graph = graph
        self.nhwc = nhwc

    def forward(self, x: torch.Tensor, a: torch.Tensor):
        if self.nhwc:
            x = x.permute(0, 2, 3, 1)
        return self.graph(x, a)


def head_graph(graph: fx.GraphModule, layer: Layer) -> fx.GraphModule:
    """The graph downstream of ``layer``, taking (graph input, layer value)."""
    new = fx.Graph()
    env: dict[fx.Node, fx.Node] = {}
    value: fx.Node | None = None
    placeholders = [n for n in graph.graph.nodes if n.op == "placeholder"]
    for node in placeholders:
        env[node] = new.placeholder(node.name)
    value = new.placeholder("layer_value")
    found = False
    for node in graph.graph.nodes:
        if node.op == "placeholder":
            continue
        if node.op == "call_module" and node.target == layer.module:
            found = True
            users_index = layer.output_index
            if users_index == 0 and not _is_multi_output(node):
                env[node] = value
                continue
            # multi-output module: keep it and substitute only the selected output
            env[node] = new.node_copy(node, lambda n: env[n])
            env[node] = new.call_function(_replace_output, (env[node], users_index, value))
            continue
        env[node] = new.node_copy(node, lambda n: env[n])
    if not found:  # pragma: no cover - the layer index only names modules of this graph
        raise KeyError(layer.module)
    out = fx.GraphModule(graph, new)
    out.graph.eliminate_dead_code()
    out.recompile()
    return out


def _is_multi_output(node: fx.Node) -> bool:
    return any(u.op == "call_function" and u.target in (operator.getitem, select_output) for u in node.users)


def _replace_output(outputs, index: int, value):
    items = list(outputs)
    items[index] = value
    return tuple(items)


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
        head = _Head(head_graph(model.graph, layer), model.card.input.layout == "NHWC").eval()
        return cls(model, layer, body, head)

    def logits(self, x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """The model's (single) output for layer activations ``a``, as (N, K)."""
        out = self.head(x, a)
        if isinstance(out, (tuple, list)):
            out = out[0]
        return out.reshape(out.shape[0], -1)

    def output_size(self, x: torch.Tensor) -> int:
        with torch.no_grad():
            return int(self.logits(x[:1], self.body(x[:1])).shape[1])
