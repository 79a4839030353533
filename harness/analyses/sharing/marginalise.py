"""Marginalising one unit at a time: p(target | x, without unit) for every unit of a layer.

Two implementations of the same sum over S Gaussian replacements of a unit:

- :func:`marginalise_loop`, the seed's textbook loop: for every unit and every sample, write
  the sample into the layer and run the whole model (U x S forwards of the probe batch);
- :func:`marginalise`, the fast one: the graph is cut at the layer (:class:`UnitSuffix`).
  Everything upstream runs once; for a batch of K samples of one unit only that unit's
  output channel is computed (one convolution / matmul with the K sampled filters stacked),
  carried through the slice-wise ops that follow, turned into a dense change by the first
  linear op, and only the rest of the graph runs on K x N rows.

The cut is checked against the full model on the intact parameters before it is used; where
it disagrees (a graph whose downstream part bakes in the batch size, say), the fast path
falls back to running the whole model on the stacked batch with a forward hook that swaps in
the modified activations (still one forward per K samples).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import fx

from harness.analyses.sharing.heads import Head
from harness.analyses.sharing.suffix import Slice, UnitSuffix
from harness.model.cut import as_tuple
from harness.analyses.sharing.units import UnitLayer, sample_unit

Progress = Callable[[int], None]  # called with the number of units finished

# Bytes of the widest stacked activation per replacement batch. Measured on the zoo's
# two-headed classifier (64-unit layer, 100 images): batches of 8 MB and more ran 3-5x
# slower than ~2-4 MB ones (large fresh allocations page-fault on every batch).
BATCH_BYTES = 4 << 20


@dataclass(frozen=True)
class Marginals:
    """Per head: log-likelihood of the targets, intact (N,) and with each sample of each unit (U, S, N)."""

    loglik0: dict[str, torch.Tensor]
    loglik: dict[str, torch.Tensor]
    log_weights: torch.Tensor  # (U, S), each row logsumexp 0
    outputs0: tuple[torch.Tensor, ...]  # intact outputs of every head (in graph output order)
    path: str  # "split", "hook" or "loop"


def unit_slice(layer: UnitLayer, layer_in: torch.Tensor, unit: int, filters: torch.Tensor,
                biases: torch.Tensor | None, rank: int) -> Slice:
    """Unit ``unit`` of the layer's output computed with K sampled parameter sets, stacked: K*N rows, width 1."""
    k = filters.shape[0]
    out = layer.unit_outputs(layer_in, torch.full((k,), unit), filters, biases)
    axis = layer.unit_axis(rank)
    stacked = out.movedim(axis, 0).unsqueeze(axis + 1)  # (K, N, ..., 1 at the unit axis, ...)
    return Slice(stacked.reshape(k * out.shape[0], *stacked.shape[2:]), axis, unit, unit + 1)


def rows_per_batch(suffix: UnitSuffix, max_rows: int | None) -> int:
    """Images x samples per replacement batch: ``max_rows`` if given, else sized by :data:`BATCH_BYTES`."""
    if max_rows is not None:
        return max(1, max_rows)
    return max(1, BATCH_BYTES // suffix.widest_row_bytes(dense_only=True))


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
                seed: int = 0, max_rows: int | None = None, progress: Progress | None = None,
                units: Sequence[int] | None = None, force_hook: bool = False) -> Marginals:
    """The fast path: the samples of one unit in stacked forwards of the graph's downstream part only."""
    units = list(range(layer.n_units)) if units is None else list(units)
    n = x.shape[0]
    suffix = UnitSuffix(gm, layer.layer.module)
    layer_in, outputs0 = suffix.intact(x)
    rank = suffix.base[suffix.layer_node].dim()
    path = "hook" if force_hook or not _cut_is_exact(suffix, layer, layer_in, outputs0, units[0], rank) else "split"
    if path == "hook":
        suffix.modes.clear()  # every downstream value is full width
    per_batch = max(1, rows_per_batch(suffix, max_rows) // n)
    loglik = _empty(heads, len(units), n_samples, n, outputs0[0].dtype)
    samples = []
    for row, unit in enumerate(units):
        draw = sample_unit(layer, unit, n_samples, seed)
        samples.append(draw)
        whole = unit_slice(layer, layer_in, unit, draw.filters, draw.biases, rank)  # one conv for all S samples
        for start in range(0, n_samples, per_batch):
            stop = min(n_samples, start + per_batch)
            k = stop - start
            part = Slice(whole.value[start * n:stop * n], whole.axis, whole.start, whole.stop)
            if path == "split":
                outputs = suffix.outputs(part, k)
            else:
                outputs = _hooked_forward(gm, layer, x, suffix.dense_layer_output(part, k), k)
            for name, value in _score(heads, outputs, k, n).items():
                loglik[name][row, start:stop] = value
        if progress is not None:
            progress(1)
    log_weights = torch.stack([s.log_weights for s in samples])
    loglik0 = {h.name: h.loglik(outputs0[h.index].unsqueeze(0))[0] for h in heads}
    return Marginals(loglik0, loglik, log_weights, tuple(outputs0), path)


def _cut_is_exact(suffix: UnitSuffix, layer: UnitLayer, layer_in: torch.Tensor, outputs0: tuple, unit: int,
                  rank: int) -> bool:
    """Whether the cut graph, given the unit's own parameters twice, reproduces the intact outputs."""
    filt, bias = layer.get(unit)
    part = unit_slice(layer, layer_in, unit, torch.stack([filt, filt]), None if bias is None else torch.stack([bias, bias]), rank)
    try:
        check = suffix.outputs(part, 2)
    except RuntimeError:
        return False
    n = layer_in.shape[0]
    return all(c.shape[0] in (n, 2 * n) for c in check) and all(
        torch.allclose(t[j], o, rtol=1e-4, atol=1e-5) for t, o in zip(_tile_outputs(check, 2, n), outputs0) for j in range(2))


def _hooked_forward(gm: fx.GraphModule, layer: UnitLayer, x: torch.Tensor, stacked: torch.Tensor, k: int) -> tuple:
    """The whole graph on K copies of the batch, the layer's output replaced by ``stacked``."""
    handle = layer.module.register_forward_hook(lambda _m, _i, _o: stacked)
    try:
        return as_tuple(gm(x.repeat(k, *([1] * (x.dim() - 1)))))
    finally:
        handle.remove()


@torch.no_grad()
def marginalise_loop(gm: fx.GraphModule, x: torch.Tensor, layer: UnitLayer, heads: Sequence[Head], n_samples: int,
                     seed: int = 0, progress: Progress | None = None, units: Sequence[int] | None = None) -> Marginals:
    """The seed's loop (reference): one full forward per (unit, sample), the unit's parameters overwritten."""
    units = list(range(layer.n_units)) if units is None else list(units)
    n = x.shape[0]
    outputs0 = as_tuple(gm(x))
    loglik = _empty(heads, len(units), n_samples, n, outputs0[0].dtype)
    samples = []
    for i, u in enumerate(units):
        draw = sample_unit(layer, u, n_samples, seed)
        samples.append(draw)
        filt, bias = layer.get(u)
        try:
            for s in range(n_samples):
                layer.set(u, draw.filters[s], None if draw.biases is None else draw.biases[s])
                for name, value in _score(heads, as_tuple(gm(x)), 1, n).items():
                    loglik[name][i, s] = value[0]
        finally:
            layer.set(u, filt, bias)
        if progress is not None:
            progress(1)
    log_weights = torch.stack([s.log_weights for s in samples])
    loglik0 = {h.name: h.loglik(outputs0[h.index].unsqueeze(0))[0] for h in heads}
    return Marginals(loglik0, loglik, log_weights, tuple(outputs0), "loop")
