"""One model x the probe set -> :class:`ModelArtifacts` (attribution maps and features).

This is the per-model unit of work: independent across models, so it is where progress
is reported, timings are taken and (later) caching and distribution hook in.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from harness.artifacts import ModelArtifacts
from harness.attribution import AttributionParams, attribute
from harness.attribution.named_targets import ATTRIBUTION_TARGETS, DEFAULT_TARGET, ChannelStats, StatsAccumulator, map_key
from harness.card import InputSpec
from harness.features import flatten_features
from harness.layout import tensor_layout
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
    targets: tuple[str, ...] = (DEFAULT_TARGET,)  # named attribution targets (harness.attribution.named_targets)
    gallery_images: int = 4  # maps kept at full resolution for the report's gallery


@dataclass
class ProbeOutcome:
    artifacts: ModelArtifacts
    gallery: dict[str, np.ndarray] = field(default_factory=dict)  # method -> (g, H, W) channel-mean maps
    seconds: dict[str, float] = field(default_factory=dict)
    feature_shape: tuple[int, ...] = ()
    probe_layout: str | None = None  # None: the graph does not determine it (taken as NCHW)
    target_stats: ChannelStats | None = None  # per-channel probe-layer statistics, when a target needed them


def black_baseline(spec: InputSpec) -> tuple[float, ...]:
    """The integrated-gradients reference: a black image (raw pixels 0) after the card's
    preprocessing, one value per channel, e.g. -1 for range [-1, 1], -mean/std with mean/std."""
    return tuple(float(v) for v in preprocess(torch.zeros(1, 3, 1, 1), replace(spec, size=(1, 1)))[0, :, 0, 0])


def attribution_params(model: ProbedModel, settings: ProbeSettings) -> AttributionParams:
    target = model.card.target
    return AttributionParams(eps=settings.eps, ig_steps=settings.ig_steps, target=target.kind, unit=target.unit,
                             ig_baseline=black_baseline(model.card.input))


def probe_layout(model: ProbedModel) -> str | None:
    """The probe tensor's layout as the ONNX graph determines it (None when it does not)."""
    return tensor_layout(model.card.onnx, model.probe.tensor, model.card.input.layout)


def _batches(model: ProbedModel, probe: ProbeSet, settings: ProbeSettings, device: torch.device):
    """(count, preprocessed NCHW batch), the last batch of a fixed-batch graph padded."""
    batch_size = model.fixed_batch or settings.batch_size
    for _start, pixels in probe.batches(batch_size):
        x = preprocess(pixels.to(device), model.card.input)
        count = x.shape[0]
        if model.fixed_batch and count < model.fixed_batch:
            x = torch.cat([x, x[-1:].expand(model.fixed_batch - count, *x.shape[1:])])
        yield count, x


def probe_model(
    model: ProbedModel,
    probe: ProbeSet,
    settings: ProbeSettings,
    device: torch.device,
    advance: Callable[[int], None] = lambda n: None,
) -> ProbeOutcome:
    """Attribution maps for ``settings.methods`` under every ``settings.targets`` and
    probe-layer features over the whole probe set.

    Two passes over the probe set: first the features (and, when a target needs them, the
    probe layer's per-channel statistics), then the attribution maps, since a standardised
    target needs statistics of the whole probe set before its first gradient.
    """
    card = model.card
    probe_net = model.probe_module().to(device)
    layout = probe_layout(model)
    named = {t: ATTRIBUTION_TARGETS.get(t) for t in settings.targets}
    seconds = {"attribution": 0.0, "features": 0.0}

    tick = time.perf_counter()
    stats_acc = StatsAccumulator(layout) if any(t.needs_stats for t in named.values()) else None
    features: list[np.ndarray] = []
    pooled = False
    for count, x in _batches(model, probe, settings, device):
        with torch.no_grad():
            out = probe_net(x)[:count]
            flat, pooled = flatten_features(out, settings.max_feature_units, layout)
            if stats_acc is not None:
                stats_acc.update(out)
        features.append(flat.cpu().numpy())
    stats = stats_acc.result() if stats_acc is not None else None
    seconds["features"] = time.perf_counter() - tick

    tick = time.perf_counter()
    target_layer = card.target.output if card.target.kind != "probe_sum" else None
    card_net = probe_net if target_layer is None else model.probe_module(target_layer).to(device)
    params = attribution_params(model, settings)
    keys = [(map_key(m, t), m, t) for t in settings.targets for m in settings.methods]
    maps: dict[str, list[np.ndarray]] = {key: [] for key, _, _ in keys}
    gallery: dict[str, list[np.ndarray]] = {key: [] for key, _, _ in keys}
    if settings.methods:
        for count, x in _batches(model, probe, settings, device):
            for name, spec in named.items():
                net, fn = (card_net, None) if spec.build is None else (probe_net, spec.build(stats))
                results = attribute(net, x, settings.methods, target=fn, params=params)
                for method, value in results.items():
                    key, value = map_key(method, name), value[:count]
                    maps[key].append(channel_mean_maps(value, settings.map_size).cpu().numpy())
                    keep = settings.gallery_images - sum(len(g) for g in gallery[key])
                    if keep > 0:
                        gallery[key].append(value[:keep].float().mean(dim=1).cpu().numpy())
            advance(count)
    else:
        advance(probe.n_images)
    seconds["attribution"] = time.perf_counter() - tick
    feature_array = np.concatenate(features)
    artifacts = ModelArtifacts(
        model_id=card.id,
        task=card.task,
        maps={k: np.concatenate(v) for k, v in maps.items()},
        features=feature_array,
        features_pooled=pooled,
    )
    return ProbeOutcome(
        artifacts=artifacts,
        gallery={k: np.concatenate(v) for k, v in gallery.items() if v},
        seconds=seconds,
        feature_shape=tuple(feature_array.shape[1:]),
        probe_layout=layout,
        target_stats=stats,
    )
