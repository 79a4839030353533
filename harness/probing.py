"""One model x the probe set -> :class:`ModelArtifacts` (attribution maps and features).

This is the per-model unit of work: independent across models, so it is where progress
is reported, timings are taken and (later) caching and distribution hook in.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from harness.artifacts import ModelArtifacts
from harness.attribution import AttributionParams, attribute
from harness.features import flatten_features
from harness.maps import channel_mean_maps
from harness.preprocess import preprocess
from harness.probed import ProbedModel
from harness.probes.base import ProbeSet


@dataclass(frozen=True)
class ProbeSettings:
    """How each model is probed; part of a run's parameters (and of its report)."""

    methods: tuple[str, ...]
    map_size: int = 32
    batch_size: int = 32
    max_feature_units: int = 16384
    eps: float = 1e-4
    ig_steps: int = 50
    gallery_images: int = 4  # maps kept at full resolution for the report's gallery


@dataclass
class ProbeOutcome:
    artifacts: ModelArtifacts
    gallery: dict[str, np.ndarray] = field(default_factory=dict)  # method -> (g, H, W) channel-mean maps
    seconds: dict[str, float] = field(default_factory=dict)
    feature_shape: tuple[int, ...] = ()


def attribution_params(model: ProbedModel, settings: ProbeSettings) -> AttributionParams:
    target = model.card.target
    return AttributionParams(eps=settings.eps, ig_steps=settings.ig_steps, target=target.kind, unit=target.unit)


def probe_model(
    model: ProbedModel,
    probe: ProbeSet,
    settings: ProbeSettings,
    device: torch.device,
    advance: Callable[[int], None] = lambda n: None,
) -> ProbeOutcome:
    """Attribution maps for ``settings.methods`` and probe-layer features over the whole probe set."""
    card = model.card
    probe_net = model.probe_module().to(device)
    target_layer = card.target.output if card.target.kind != "probe_sum" else None
    attribution_net = probe_net if target_layer is None else model.probe_module(target_layer).to(device)
    params = attribution_params(model, settings)
    batch_size = model.fixed_batch or settings.batch_size

    maps: dict[str, list[np.ndarray]] = {m: [] for m in settings.methods}
    gallery: dict[str, list[np.ndarray]] = {m: [] for m in settings.methods}
    features: list[np.ndarray] = []
    pooled = False
    seconds = {"attribution": 0.0, "features": 0.0}
    for start, pixels in probe.batches(batch_size):
        x = preprocess(pixels.to(device), card.input)
        count = x.shape[0]
        if model.fixed_batch and count < model.fixed_batch:  # pad the last batch of a fixed-batch graph
            x = torch.cat([x, x[-1:].expand(model.fixed_batch - count, *x.shape[1:])])
        tick = time.perf_counter()
        if settings.methods:
            results = attribute(attribution_net, x, settings.methods, params=params)
            for method, value in results.items():
                value = value[:count]
                maps[method].append(channel_mean_maps(value, settings.map_size).cpu().numpy())
                keep = settings.gallery_images - sum(len(g) for g in gallery[method])
                if keep > 0:
                    gallery[method].append(value[:keep].float().mean(dim=1).cpu().numpy())
        seconds["attribution"] += time.perf_counter() - tick
        tick = time.perf_counter()
        with torch.no_grad():
            flat, pooled = flatten_features(probe_net(x)[:count], settings.max_feature_units)
        features.append(flat.cpu().numpy())
        seconds["features"] += time.perf_counter() - tick
        advance(count)
    feature_array = np.concatenate(features)
    artifacts = ModelArtifacts(
        model_id=card.id,
        task=card.task,
        maps={m: np.concatenate(v) for m, v in maps.items()},
        features=feature_array,
        features_pooled=pooled,
    )
    return ProbeOutcome(
        artifacts=artifacts,
        gallery={m: np.concatenate(v) for m, v in gallery.items() if v},
        seconds=seconds,
        feature_shape=tuple(feature_array.shape[1:]),
    )
