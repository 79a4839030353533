"""A converted graph cut at one layer: the part before it and the part after it.

:func:`graph_before` stops at the layer and returns its value (attribution and features only
need the graph up to the probe layer). :func:`graph_after` is a copy of the graph with the
layer's value replaced by a placeholder and dead code removed; values it needs from before the
layer (skip connections) are still computed from the graph input. Both share the original's
parameters. Also here: the one place that decides how a module's outputs are unpacked.
"""

from __future__ import annotations

import operator

import torch
from torch import fx, nn

from harness.model.layers import Layer


class NCHWInput(nn.Module):
    """Feeds an NCHW batch to a graph that expects the card's layout."""

    def __init__(self, graph: nn.Module, layout: str) -> None:
        super().__init__()
        self.graph = graph
        self.nhwc = layout == "NHWC"

    def graph_input(self, x: torch.Tensor) -> torch.Tensor:
        """The NCHW batch in the layout the graph expects."""
        return x.permute(0, 2, 3, 1) if self.nhwc else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.graph(self.graph_input(x))


def graph_before(graph: fx.GraphModule, layer: Layer) -> fx.GraphModule:
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


def as_tuple(value) -> tuple:
    """A module's or graph's outputs as a tuple (a single output becomes a 1-tuple)."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def select_output(value, index: int):
    """Output ``index`` of a multi-output module, or the single output itself."""
    return value[index] if isinstance(value, (tuple, list)) else value


def first_output(value):
    """A model's first output (multi-output graphs return a tuple)."""
    return select_output(value, 0)


class NCHWHead(NCHWInput):
    """head(x, a): the graph after ``layer`` with its value given as ``a`` (NCHW input x)."""

    def forward(self, x: torch.Tensor, a: torch.Tensor):
        return self.graph(self.graph_input(x), a)


def graph_after(graph: fx.GraphModule, layer: Layer) -> fx.GraphModule:
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
