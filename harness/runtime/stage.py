"""The cached per-model stage: look the model up, or import + probe it straight into the cache.

This function is what an executor runs once per model (in-process, or as a Ray task on any
machine that sees the same cache folder). It returns a small :class:`StageResult` — the
record of the model's import and probing, never its arrays — so the driver only reduces:
it reads the artifacts back from the cache in chunks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from harness.probing.artifacts import ModelArtifacts
from harness.runtime.cache.store import ArtifactCache, CacheEntry
from harness.model.card import ModelCard
from harness.probes.base import ProbeSet


@dataclass(frozen=True)
class StageJob:
    """One model's unit of work: everything a worker needs besides the probe set."""

    card: ModelCard
    key: str
    parts: dict
    settings: object  # harness.probing.loop.ProbeSettings (maps at native resolution)
    device: str
    cache_root: str
    memory_budget: int | None = None  # bytes the probing may use (chooses the batch when none is given)


@dataclass
class StageResult:
    model_id: str
    key: str
    status: str  # "hit", "miss" or "corrupt: <why>" (then recomputed)
    record: dict
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def from_cache(self) -> bool:
        return self.status == "hit"


def run_stage(job: StageJob, probe: ProbeSet, advance: Callable[[int], None] = lambda n: None) -> StageResult:
    """Cache hit: verify and return the record. Miss (or corrupt): import, probe, commit atomically."""
    cache = ArtifactCache(Path(job.cache_root))
    tick = time.perf_counter()
    entry, status = cache.lookup(job.key)
    if entry is not None:
        advance(probe.n_images)
        zero = {"import": 0.0, "attribution": 0.0, "features": 0.0}
        return StageResult(job.card.id, job.key, status, entry.record, {**zero, "cache_verify": time.perf_counter() - tick})
    from harness.model.guarded import import_guarded
    from harness.probing.loop import probe_model

    tick = time.perf_counter()
    model = import_guarded(job.card)
    imported = time.perf_counter() - tick
    writer = cache.writer(job.key, probe.n_images)
    try:
        outcome = probe_model(model, probe, job.settings, torch.device(job.device), advance, sink=writer,
                              memory_budget=job.memory_budget)
        seconds = {"import": imported, **outcome.seconds}
        record = probe_record(model, outcome, seconds)
        writer.commit(record, job.parts)
    except BaseException:
        writer.abort()
        raise
    return StageResult(job.card.id, job.key, status, record, seconds)


def probe_record(model, outcome, seconds: dict[str, float]) -> dict:
    """What the report needs from import and probing (everything else comes from the card)."""
    return {
        "model_id": model.card.id,  # when computed; informational (the key does not include the id)
        "probe_tensor": model.probe.tensor,
        "probe_shape": list(model.probe.shape[1:]) if model.probe.shape else None,
        "feature_units": int(outcome.feature_shape[0]) if outcome.feature_shape else 0,
        "features_pooled": bool(outcome.artifacts.features_pooled),
        "map_shape": list(outcome.map_shape) if outcome.map_shape else None,
        "probe_layout": outcome.probe_layout,
        "parity_max_abs_err": model.parity.max_abs_err,
        "parity_max_rel_err": model.parity.max_rel_err,
        "parity_provider": model.parity.provider,
        "batch_size": outcome.batch.size if outcome.batch else None,
        "batch_source": outcome.batch.source if outcome.batch else None,
        "per_image_bytes": outcome.batch.per_image_bytes if outcome.batch else None,
        "seconds": seconds,
    }


def load_artifacts(entry: CacheEntry, card: ModelCard) -> ModelArtifacts:
    """Lazy artifacts of a cached model: row views of its files, nothing read yet."""
    arrays = entry.arrays()
    record = entry.record
    return ModelArtifacts(
        model_id=card.id,
        task=card.task,
        maps={name[len("maps."):]: rows for name, rows in arrays.items() if name.startswith("maps.")},
        features=arrays.get("features"),
        class_probs=arrays.get("class_probs"),
        features_pooled=bool(record["features_pooled"]),
        map_shape=tuple(record["map_shape"]) if record.get("map_shape") else None,
    )


def gallery_maps(artifacts: ModelArtifacts, count: int) -> dict[str, np.ndarray]:
    """The first ``count`` images' full-resolution maps per method (the report's gallery)."""
    if not count or artifacts.map_shape is None:
        return {}
    return {m: np.asarray(v[0:count]).reshape(-1, *artifacts.map_shape) for m, v in artifacts.maps.items()}
