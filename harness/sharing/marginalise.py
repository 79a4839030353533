"""Marginalising one unit at a time: p(target | x, without unit) for every unit of a layer.

Two implementations of the same sum over S Gaussian replacements of a unit:

- :func:`marginalise_loop`, the seed's textbook loop: for every unit and every sample, write
  the sample into the layer and run the whole model (U x S forwards of the probe batch);
- :func:`marginalise`, the fast one: the graph is split at the layer. Everything that does
  not depend on the layer is computed once; the layer's output is computed once intact, and
  for K (unit, sample) pairs at a time only the replaced channels are recomputed, by one
  convolution / matmul with the K sampled filters stacked; the K modified activations are
  stacked along the batch axis and the rest of the graph runs once on K x N rows.

The split is checked against the full model on the intact parameters before it is used;
where it disagrees (a graph whose downstream part bakes in the batch size, say), the fast
path falls back to running the whole model on the stacked batch with a forward hook that
swaps in the modified activations (still one forward per K pairs).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import fx

from harness.sharing.heads import Head
from harness.sharing.units import UnitLayer, sample_unit

Progress = Callable[[int], None]  # called with the number of units finished


@dataclass(frozen=True)
class Marginals:
    """Per head: log-likelihood of the targets, intact (N,) and with each sample of each unit (U, S, N)."""

    loglik0: dict[str, torch.Tensor]
    loglik: dict[str, torch.Tensor]
    log_weights: torch.Tensor  # (U, S), each row logsumexp 0
    outputs0: tuple[torch.Tensor, ...]  # intact outputs of every head (in graph output order)
    path: str  # "split", "hook" or "loop"


def _as_tuple(value) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _fetch_attr(module: torch.nn.Module, target: str):
    value = module
    for part in target.split("."):
        value = getattr(value, part)
    return value


def _run_node(gm: fx.GraphModule, node: fx.Node, env: dict):
    args = fx.node.map_arg(node.args, lambda n: env[n])
    kwargs = fx.node.map_arg(node.kwargs, lambda n: env[n])
    if node.op == "call_module":
        return gm.get_submodule(node.target)(*args, **kwargs)
    if node.op == "call_function":
        return node.target(*args, **kwargs)
    if node.op == "call_method":
        return getattr(args[0], node.target)(*args[1:], **kwargs)
    if node.op == "get_attr":
        return _fetch_attr(gm, node.target)
    raise AssertionError(node.op)


class SplitGraph:
    """An fx graph cut at one call_module node: prefix values cached, suffix re-run on stacked batches."""

    def __init__(self, gm: fx.GraphModule, module_name: str) -> None:
        self.gm = gm
        nodes = list(gm.graph.nodes)
        hits = [n for n in nodes if n.op == "call_module" and n.target == module_name]
        if len(hits) != 1:
            raise ValueError(f"module {module_name} is called {len(hits)} times")
        self.layer_node = hits[0]
        downstream = {self.layer_node}
        for node in nodes:
            if node.op != "output" and any(a in downstream for a in node.all_input_nodes):
                downstream.add(node)
        self.suffix = [n for n in nodes if n in downstream and n is not self.layer_node and n.op != "output"]
        self.output_node = next(n for n in nodes if n.op == "output")
        needed = {a for n in self.suffix + [self.output_node] for a in n.all_input_nodes} | set(self.layer_node.all_input_nodes)
        self.frontier = [n for n in nodes if n in needed and n not in downstream]

    def prefix(self, x: torch.Tensor) -> tuple[dict, torch.Tensor, torch.Tensor, tuple]:
        """One full pass: (frontier values, the layer's input, its output, the model outputs)."""
        env: dict = {}
        for node in self.gm.graph.nodes:
            if node.op == "placeholder":
                env[node] = x
            elif node.op == "output":
                outputs = _as_tuple(fx.node.map_arg(node.args[0], lambda n: env[n]))
            else:
                env[node] = _run_node(self.gm, node, env)
        layer_in = env[self.layer_node.args[0]]
        return {n: env[n] for n in self.frontier}, layer_in, env[self.layer_node], outputs

    def suffix_outputs(self, frontier: dict, n_images: int, stacked: torch.Tensor, k: int) -> tuple:
        """Model outputs for K stacked replacements of the layer's output (K*N rows)."""
        env = {}
        for node, value in frontier.items():
            batched = isinstance(value, torch.Tensor) and value.dim() > 0 and value.shape[0] == n_images
            env[node] = value.repeat(k, *([1] * (value.dim() - 1))) if batched else value
        env[self.layer_node] = stacked
        for node in self.suffix:
            env[node] = _run_node(self.gm, node, env)
        return _as_tuple(fx.node.map_arg(self.output_node.args[0], lambda n: env[n]))


def _stack_replacements(base: torch.Tensor, units: torch.Tensor, unit_out: torch.Tensor) -> torch.Tensor:
    """(N, C, ...) intact output, K unit indices, (N, K, ...) new channels -> (K*N, C, ...) stacked outputs."""
    k = units.shape[0]
    stacked = base.unsqueeze(0).repeat(k, *([1] * base.dim()))
    stacked[torch.arange(k), :, units] = unit_out.movedim(1, 0)
    return stacked.reshape(k * base.shape[0], *base.shape[1:])


def _tile_outputs(outputs: tuple, k: int, n: int) -> tuple:
    """Graph outputs on K*N rows -> (K, N, ...); outputs the layer does not reach are broadcast."""
    tiled = []
    for out in outputs:
        if out.shape[0] == k * n:
            tiled.append(out.reshape(k, n, *out.shape[1:]))
        else:
            tiled.append(out.unsqueeze(0).expand(k, *out.shape))
    return tuple(tiled)


def _score(heads: Sequence[Head], outputs: tuple, k: int, n: int) -> dict[str, torch.Tensor]:
    tiled = _tile_outputs(outputs, k, n)
    return {h.name: h.loglik(tiled[h.index]) for h in heads}


def _empty(heads: Sequence[Head], n_units: int, n_samples: int, n: int, dtype) -> dict[str, torch.Tensor]:
    return {h.name: torch.empty((n_units, n_samples, n), dtype=dtype) for h in heads}


@torch.no_grad()
def marginalise(gm: fx.GraphModule, x: torch.Tensor, layer: UnitLayer, heads: Sequence[Head], n_samples: int,
                seed: int = 0, max_rows: int = 8192, progress: Progress | None = None, units: Sequence[int] | None = None,
                force_hook: bool = False) -> Marginals:
    """The fast path: all samples of many units in one stacked forward of the graph's downstream part."""
    units = list(range(layer.n_units)) if units is None else list(units)
    n = x.shape[0]
    split = SplitGraph(gm, layer.layer.module)
    frontier, layer_in, base, outputs0 = split.prefix(x)
    path = "split"
    check = split.suffix_outputs(frontier, n, torch.cat([base, base]), 2)
    ok = all(c.shape[0] in (n, 2 * n) for c in check) and all(
        torch.allclose(t[j], o, rtol=1e-4, atol=1e-5) for t, o in zip(_tile_outputs(check, 2, n), outputs0) for j in range(2))
    if force_hook or not ok:
        path = "hook"
    samples = [sample_unit(layer, u, n_samples, seed) for u in units]
    loglik = _empty(heads, len(units), n_samples, n, outputs0[0].dtype)
    pairs = [(i, s) for i in range(len(units)) for s in range(n_samples)]
    per_chunk = max(1, max_rows // n)
    done_units = 0
    for start in range(0, len(pairs), per_chunk):
        chunk = pairs[start:start + per_chunk]
        rows = torch.tensor([i for i, _ in chunk])
        cols = torch.tensor([s for _, s in chunk])
        unit_idx = torch.tensor([units[i] for i, _ in chunk])
        filters = torch.stack([samples[i].filters[s] for i, s in chunk])
        biases = torch.stack([samples[i].biases[s] for i, s in chunk]) if layer.has_bias else None
        unit_out = layer.unit_outputs(layer_in, unit_idx, filters, biases)
        stacked = _stack_replacements(base, unit_idx, unit_out)
        if path == "split":
            outputs = split.suffix_outputs(frontier, n, stacked, len(chunk))
        else:
            outputs = _hooked_forward(gm, layer, x, stacked, len(chunk))
        for name, value in _score(heads, outputs, len(chunk), n).items():
            loglik[name][rows, cols] = value
        finished = (start + len(chunk)) // n_samples
        if progress is not None and finished > done_units:
            progress(finished - done_units)
            done_units = finished
    log_weights = torch.stack([s.log_weights for s in samples])
    loglik0 = {h.name: h.loglik(outputs0[h.index].unsqueeze(0))[0] for h in heads}
    return Marginals(loglik0, loglik, log_weights, tuple(outputs0), path)


def _hooked_forward(gm: fx.GraphModule, layer: UnitLayer, x: torch.Tensor, stacked: torch.Tensor, k: int) -> tuple:
    """The whole graph on K copies of the batch, the layer's output replaced by ``stacked``."""
    handle = layer.module.register_forward_hook(lambda _m, _i, _o: stacked)
    try:
        return _as_tuple(gm(x.repeat(k, *([1] * (x.dim() - 1)))))
    finally:
        handle.remove()


@torch.no_grad()
def marginalise_loop(gm: fx.GraphModule, x: torch.Tensor, layer: UnitLayer, heads: Sequence[Head], n_samples: int,
                     seed: int = 0, progress: Progress | None = None, units: Sequence[int] | None = None) -> Marginals:
    """The seed's loop (reference): one full forward per (unit, sample), the unit's parameters overwritten."""
    units = list(range(layer.n_units)) if units is None else list(units)
    n = x.shape[0]
    outputs0 = _as_tuple(gm(x))
    loglik = _empty(heads, len(units), n_samples, n, outputs0[0].dtype)
    samples = []
    for i, u in enumerate(units):
        draw = sample_unit(layer, u, n_samples, seed)
        samples.append(draw)
        filt, bias = layer.get(u)
        try:
            for s in range(n_samples):
                layer.set(u, draw.filters[s], None if draw.biases is None else draw.biases[s])
                for name, value in _score(heads, _as_tuple(gm(x)), 1, n).items():
                    loglik[name][i, s] = value[0]
        finally:
            layer.set(u, filt, bias)
        if progress is not None:
            progress(1)
    log_weights = torch.stack([s.log_weights for s in samples])
    loglik0 = {h.name: h.loglik(outputs0[h.index].unsqueeze(0))[0] for h in heads}
    return Marginals(loglik0, loglik, log_weights, tuple(outputs0), "loop")
