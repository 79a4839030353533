"""One model x the probe set -> :class:`ModelArtifacts` (attribution maps and features).

This is the per-model unit of work: independent across models, so it is where progress is
reported, timings are taken, and where caching (:mod:`harness.runtime.stage`) and distribution
(:mod:`harness.runtime.executor`) hook in.

Results leave the loop through a *sink*, batch by batch: :class:`MemorySink` keeps them (for
small in-process uses), the cache's entry writer streams them to disk, so probing memory is
bounded by a batch, not by the probe set. On an accelerator each batch's results stay on the
device until a flush (every ``flush_bytes``), so the loop itself has no host round trip:
pixels go up once per batch as uint8, results come down in large copies.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np
import torch

from harness.probing.artifacts import ModelArtifacts
from harness.probing.batching import MAX_BATCH, PROBE_IMAGES, BatchChoice, auto_batch
from harness.attribution import AttributionParams, attribute
from harness.attribution.named_targets import ATTRIBUTION_TARGETS, DEFAULT_TARGET, ChannelStats, StatsAccumulator, map_key
from harness.model.card import InputSpec
from harness.model.cut import first_output
from harness.probing.features import flatten_features
from harness.model.layout import tensor_layout
from harness.probing.maps import channel_mean_maps
from harness.model.preprocess import preprocess
from harness.model.probed import ProbedModel
from harness.probes.base import ProbeSet


@dataclass(frozen=True)
class ProbeSettings:
    """How each model is probed; part of a run's parameters (and of its report and cache key).

    ``map_size`` None keeps every attribution map at the model's input resolution (what the
    cache stores); an int or (height, width) resamples maps to that grid while probing.
    """

    methods: tuple[str, ...]
    map_size: int | tuple[int, int] | None = None
    batch_size: int | None = None  # None: chosen per model from the memory budget (harness.probing.batching)
    max_feature_units: int = 16384
    eps: float = 1e-4
    ig_steps: int = 50
    targets: tuple[str, ...] = (DEFAULT_TARGET,)  # named attribution targets (harness.attribution.named_targets)
    gallery_images: int = 4  # maps kept at full resolution for the report's gallery


#: Memory budget assumed by :func:`probe_model` when its caller gives none.
DEFAULT_BUDGET = 4 * 2**30


class ArtifactSink(Protocol):
    def append(self, name: str, rows: np.ndarray) -> None: ...


class MemorySink:
    """Keeps every appended batch in memory; :meth:`arrays` concatenates them."""

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {}

    def append(self, name: str, rows: np.ndarray) -> None:
        self.parts.setdefault(name, []).append(rows)

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: np.concatenate(parts) for name, parts in self.parts.items()}


@dataclass
class ProbeOutcome:
    artifacts: ModelArtifacts
    gallery: dict[str, np.ndarray] = field(default_factory=dict)  # method -> (g, H, W) channel-mean maps
    seconds: dict[str, float] = field(default_factory=dict)
    feature_shape: tuple[int, ...] = ()
    map_shape: tuple[int, int] | None = None  # (height, width) of the stored maps
    probe_layout: str | None = None  # None: the graph does not determine it (taken as NCHW)
    target_stats: ChannelStats | None = None  # per-channel probe-layer statistics, when a target needed them
    batch: BatchChoice | None = None  # the batch size used, and how it was chosen


def black_baseline(spec: InputSpec) -> tuple[float, ...]:
    """The integrated-gradients reference: a black image (raw pixels 0) after the card's
    preprocessing, one value per channel, e.g. -1 for range [-1, 1], -mean/std with mean/std."""
    zero = torch.zeros(1, 3, 1, 1)
    return tuple(float(v) for v in preprocess(zero, replace(spec, size=(1, 1)))[0, :, 0, 0])


def attribution_params(model: ProbedModel, settings: ProbeSettings) -> AttributionParams:
    target = model.card.target
    return AttributionParams(eps=settings.eps, ig_steps=settings.ig_steps, target=target.kind, unit=target.unit,
                             ig_baseline=black_baseline(model.card.input))


def probe_layout(model: ProbedModel) -> str | None:
    """The probe tensor's layout as the ONNX graph determines it (None when it does not)."""
    return tensor_layout(model.card.onnx, model.probe.tensor, model.card.input.layout)


def _batches(model: ProbedModel, probe: ProbeSet, batch_size: int, device: torch.device):
    """(count, preprocessed NCHW batch); pixels go to the device as uint8, the last batch of a
    fixed-batch graph is padded."""
    for start in range(0, probe.n_images, batch_size):
        pixels = torch.from_numpy(probe.images[start : start + batch_size]).to(device, non_blocking=True)
        x = preprocess(pixels.float().div_(255.0), model.card.input)
        count = x.shape[0]
        if model.fixed_batch and count < model.fixed_batch:
            x = torch.cat([x, x[-1:].expand(model.fixed_batch - count, *x.shape[1:])])
        yield count, x


def _channel_stats(net: torch.nn.Module, model: ProbedModel, probe: ProbeSet, batch_size: int, device: torch.device,
                   layout: str | None) -> ChannelStats:
    """Per-channel statistics of the probe layer over the whole probe set (a no-gradient pass):
    a standardised target needs them before its first gradient."""
    acc = StatsAccumulator(layout)
    with torch.no_grad():
        for count, x in _batches(model, probe, batch_size, device):
            acc.update(net(x)[:count])
    return acc.result()


class _DeviceBuffer:
    """Holds per-batch results on the device and copies them to the sink in large flushes."""

    def __init__(self, sink: ArtifactSink, device: torch.device, flush_bytes: int) -> None:
        self.sink, self.flush_bytes = sink, flush_bytes if device.type != "cpu" else 0
        self.pending: dict[str, list[torch.Tensor]] = {}
        self.bytes = 0

    def add(self, name: str, rows: torch.Tensor) -> None:
        self.pending.setdefault(name, []).append(rows.detach())
        self.bytes += rows.numel() * rows.element_size()
        if self.bytes > self.flush_bytes:
            self.flush()

    def flush(self) -> None:
        for name, parts in self.pending.items():
            self.sink.append(name, (parts[0] if len(parts) == 1 else torch.cat(parts)).cpu().numpy())
        self.pending, self.bytes = {}, 0


@contextmanager
def _forward_output_at(module: torch.nn.Module, x_holder: list):
    """Records ``module``'s output of the forward whose input *is* the batch in ``x_holder``.

    Attribution runs the probe network forward on the batch anyway; keeping that output
    saves the features' own forward pass. Only a forward on the exact input tensor (same
    storage) counts, not e.g. integrated gradients' scaled copies.
    """
    seen: dict[str, torch.Tensor] = {}

    def hook(_module, inputs, output):
        x = x_holder[0] if x_holder else None
        if "out" not in seen and x is not None and inputs and isinstance(inputs[0], torch.Tensor) \
                and inputs[0].data_ptr() == x.data_ptr() and inputs[0].shape == x.shape:
            seen["out"] = output.detach()

    handle = module.register_forward_hook(hook)
    try:
        yield seen
    finally:
        handle.remove()


def probe_model(
    model: ProbedModel,
    probe: ProbeSet,
    settings: ProbeSettings,
    device: torch.device,
    advance: Callable[[int], None] = lambda n: None,
    sink: ArtifactSink | None = None,
    flush_bytes: int = 256 * 2**20,
    memory_budget: int | None = None,
) -> ProbeOutcome:
    """Attribution maps for ``settings.methods`` under every ``settings.targets`` and probe-layer
    features over the whole probe set.

    A standardised target needs the probe layer's statistics over the whole probe set before its
    first gradient: that costs one extra no-gradient pass, only when such a target is asked for.

    Rows go to ``sink`` as arrays named ``maps.<method>`` and ``features``. Without a sink
    they are collected in memory and returned in the outcome's artifacts; with one, the
    outcome's artifacts carry no arrays (the sink owns them).

    Without ``settings.batch_size`` (and a graph that fixes none), the batch is chosen from
    ``memory_budget`` bytes (None: 4 GiB) and one measured attribution pass
    (:mod:`harness.probing.batching`).
    """
    card = model.card
    probe_net = model.probe_module().to(device)
    target_layer = card.target.output if card.target.kind != "probe_sum" else None
    card_net = probe_net if target_layer is None else model.probe_module(target_layer).to(device)
    params = attribution_params(model, settings)
    memory = MemorySink() if sink is None else None
    buffer = _DeviceBuffer(sink or memory, device, flush_bytes)
    grid = (settings.map_size, settings.map_size) if isinstance(settings.map_size, int) else settings.map_size
    layout = probe_layout(model)
    named = {t: ATTRIBUTION_TARGETS.get(t) for t in settings.targets}
    seconds = {"attribution": 0.0, "features": 0.0}

    stats = None
    if any(spec.needs_stats for spec in named.values()):
        tick = time.perf_counter()
        stats = _channel_stats(probe_net, model, probe, model.fixed_batch or settings.batch_size or MAX_BATCH, device, layout)
        seconds["statistics"] = time.perf_counter() - tick
    targets = {name: (card_net, None) if spec.build is None else (probe_net, spec.build(stats)) for name, spec in named.items()}
    choice = _batch_choice(model, probe, settings, device, targets, params, probe_net, memory_budget)
    batch_size = choice.size
    keys = [map_key(m, t) for t in settings.targets for m in settings.methods]
    # a card that names its classes declares a classifier: its softmax is LEEP's source distribution
    classifier = model.module().to(device) if card.classes else None
    gallery: dict[str, list[np.ndarray]] = {key: [] for key in keys}
    pooled, map_shape, feature_shape = False, None, ()
    current: list[torch.Tensor] = []
    with _forward_output_at(probe_net, current) as reused:
        for count, x in _batches(model, probe, batch_size, device):
            current[:] = [x]
            reused.clear()
            tick = time.perf_counter()
            for name, (net, fn) in targets.items() if settings.methods else ():
                results = attribute(net, x, settings.methods, target=fn, params=params)
                for method, value in results.items():
                    key, value = map_key(method, name), value[:count]
                    maps = channel_mean_maps(value, grid)
                    map_shape = tuple(value.shape[-2:]) if grid is None else tuple(grid)
                    buffer.add(f"maps.{key}", maps)
                    keep = settings.gallery_images - sum(len(g) for g in gallery[key])
                    if keep > 0:  # first batch only: a one-off copy
                        gallery[key].append(value[:keep].float().mean(dim=1).cpu().numpy())
            seconds["attribution"] += time.perf_counter() - tick
            tick = time.perf_counter()
            if "out" in reused:
                out = reused["out"]
            else:
                with torch.no_grad():
                    out = probe_net(x)
            if classifier is not None:
                with torch.no_grad():
                    buffer.add("class_probs", torch.softmax(first_output(classifier(x)).float(), dim=1)[:count])
            flat, pooled = flatten_features(out[:count], settings.max_feature_units, layout)
            feature_shape = tuple(flat.shape[1:])
            buffer.add("features", flat)
            seconds["features"] += time.perf_counter() - tick
            advance(count)
    buffer.flush()
    current.clear()
    arrays = memory.arrays() if memory is not None else {}
    artifacts = ModelArtifacts(
        model_id=card.id,
        task=card.task,
        maps={k: arrays[f"maps.{k}"] for k in keys if f"maps.{k}" in arrays},
        features=arrays.get("features"),
        class_probs=arrays.get("class_probs"),
        features_pooled=pooled,
        map_shape=map_shape,
    )
    return ProbeOutcome(
        artifacts=artifacts,
        gallery={m: np.concatenate(v) for m, v in gallery.items() if v},
        seconds=seconds,
        feature_shape=feature_shape,
        map_shape=map_shape,
        probe_layout=layout,
        target_stats=stats,
        batch=choice,
    )


def _batch_choice(model: ProbedModel, probe: ProbeSet, settings: ProbeSettings, device: torch.device, targets: dict,
                  params: AttributionParams, probe_net: torch.nn.Module, memory_budget: int | None) -> BatchChoice:
    """The given batch, the graph's fixed one, or one measured against the memory budget."""
    if model.fixed_batch:
        return BatchChoice(model.fixed_batch, None, None, "fixed by the graph")
    if settings.batch_size:
        return BatchChoice(settings.batch_size, None, None, "given")
    _, x = next(iter(_batches(model, probe, min(PROBE_IMAGES, probe.n_images), device)))
    net, fn = next(iter(targets.values()))

    def one_pass() -> None:
        if settings.methods:
            attribute(net, x, settings.methods, target=fn, params=params)
        else:
            with torch.no_grad():
                probe_net(x)

    return auto_batch(one_pass, device, memory_budget or DEFAULT_BUDGET)
