"""DEPARA's layer score: V (node maps) + lambda * E (edges), per candidate layer.

For a layer l with output f_l(x):
- node map: |x * d mean(f_l(x)) / dx|, averaged over input channels and brought to a common
  resolution; V_l = mean over probe images of cos(map of source layer l, map of the target's
  probe layer).
- edges: f_l flattened per image, *uncentred* cosine similarity between every image pair;
  E_l = Spearman between the source layer's and the target layer's pair-similarity vectors.
The recipe differs from the model-ranking DEPARA (signed gradient*input of the layer sum,
centred cosine distances) as the seed's layer-selection code does; see DESIGN.md section 4.3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial.distance import pdist

from harness.estimators.ranks import standardized_ranks
from harness.model.layers import Layer
from harness.probing.maps import channel_mean_maps
from harness.model.preprocess import preprocess
from harness.model.probed import ProbedModel
from harness.probes.base import ProbeSet


@dataclass(frozen=True)
class LayerScore:
    layer: str
    op_type: str
    shape: tuple[int, ...]
    score: float
    node: float  # V
    edge: float  # E


@dataclass(frozen=True)
class LayerProbe:
    """Node maps (n, pixels) and edge vector (n(n-1)/2 standardised ranks) of one layer."""

    maps: np.ndarray
    edge_ranks: np.ndarray


def probe_layer(model: ProbedModel, layer: Layer, probe: ProbeSet, map_size: int, batch_size: int,
                device: torch.device) -> LayerProbe:
    """Node maps and the edge-similarity ranks of ``layer`` over the probe set."""
    net = model.probe_module(layer.tensor).to(device)
    maps, feats = [], []
    for _, pixels in probe.batches(model.fixed_batch or batch_size):
        x = preprocess(pixels.to(device), model.card.input)
        count = x.shape[0]
        if model.fixed_batch and count < model.fixed_batch:
            x = torch.cat([x, x[-1:].expand(model.fixed_batch - count, *x.shape[1:])])
        with torch.enable_grad():
            leaf = x.detach().requires_grad_(True)
            out = net(leaf)
            # mean over the layer's units per image; the batch sum gives per-image gradients
            target = out.flatten(1).mean(dim=1).sum()
            (grad,) = torch.autograd.grad(target, leaf)
        node = (leaf.detach() * grad).abs()
        maps.append(channel_mean_maps(node[:count], map_size).cpu().numpy())
        feats.append(out.detach()[:count].flatten(1).double().cpu().numpy())
    features = np.concatenate(feats)
    similarity = 1.0 - pdist(features, "cosine")
    similarity[~np.isfinite(similarity)] = 0.0
    return LayerProbe(np.concatenate(maps).astype(np.float64), standardized_ranks(similarity))


def node_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over images of the cosine between two models' maps (zero maps count as 0)."""
    na = np.linalg.norm(a, axis=1)
    nb = np.linalg.norm(b, axis=1)
    denom = na * nb
    cos = np.where(denom > 0, np.sum(a * b, axis=1) / np.where(denom > 0, denom, 1.0), 0.0)
    return float(np.mean(cos))


def score_layers(source: ProbedModel, target: ProbedModel, layers: list[Layer], probe: ProbeSet, *,
                 depara_lambda: float, map_size: int, batch_size: int, device: torch.device,
                 advance=lambda: None) -> list[LayerScore]:
    """Every candidate layer's score, in the order given."""
    reference = probe_layer(target, target.probe, probe, map_size, batch_size, device)
    advance()
    scores = []
    for layer in layers:
        candidate = probe_layer(source, layer, probe, map_size, batch_size, device)
        node = node_similarity(candidate.maps, reference.maps)
        edge = float(np.clip(candidate.edge_ranks @ reference.edge_ranks, -1.0, 1.0))
        shape = tuple(int(s) for s in (layer.shape or ())[1:])
        scores.append(LayerScore(layer.tensor, layer.op_type, shape, node + depara_lambda * edge, node, edge))
        advance()
    return scores
