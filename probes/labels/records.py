"""What a label source yields: one task's labels per image, and images together with their labels."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from harness.common.errors import HarnessError
from harness.common.registry import did_you_mean
from harness.probes.base import ProbeSet

KINDS = ("classification", "regression", "dense_classification", "dense_regression")


@dataclass(frozen=True)
class TaskLabels:
    """One task's labels for every image of a labelled set, in the set's order.

    ``values``: (n,) int64 for classification, (n, d) float32 for per-image regression,
    (n, H, W) int64 / (n, H, W, C) float32 for the dense kinds.
    """

    task: str
    kind: str
    values: np.ndarray
    classes: tuple[str, ...] = ()  # class names (classification kinds), index = class id

    @property
    def is_classification(self) -> bool:
        return self.kind in ("classification", "dense_classification")


@dataclass(frozen=True)
class LabelledSet:
    """Probe images plus labels for some tasks."""

    probe: ProbeSet
    labels: Mapping[str, TaskLabels]
    source: str = ""
    details: dict = field(default_factory=dict)

    def task(self, name: str) -> TaskLabels:
        """The labels of task ``name``; an unknown name raises with the tasks this source has."""
        if name not in self.labels:
            raise HarnessError(f"labels {self.source}: {did_you_mean(name, list(self.labels), 'task')}")
        return self.labels[name]

    def restricted(self, tasks: "list[str] | tuple[str, ...] | None") -> LabelledSet:
        """The same images with only ``tasks`` (all when None); an unknown task raises."""
        if tasks is None:
            return self
        return LabelledSet(self.probe, {t: self.task(t) for t in tasks}, self.source, self.details)

    def subset(self, keep: np.ndarray) -> LabelledSet:
        """The images selected by a boolean mask or index array, with their labels."""
        probe = self.probe
        ids = tuple(np.asarray(probe.ids, dtype=object)[keep])
        sub = ProbeSet(probe.name, probe.images[keep], ids, probe.skipped, probe.source, probe.details)
        labels = {k: TaskLabels(v.task, v.kind, v.values[keep], v.classes) for k, v in self.labels.items()}
        return LabelledSet(sub, labels, self.source, self.details)


def per_image(labels: TaskLabels, grid: int | None = None) -> TaskLabels:
    """One target per image, for consumers that need one.

    ``grid=None``: dense regression -> the per-channel pixel mean, dense classes -> the most
    frequent class id (ties: lowest). ``grid=g``: either dense kind -> a regression vector of
    means over a g x g grid of cells (per-pixel classes become class fractions per cell), which
    keeps where things are. Per-image kinds are returned unchanged.
    """
    if labels.kind not in ("dense_regression", "dense_classification"):
        return labels
    if grid is not None:
        return TaskLabels(labels.task, "regression", cell_means(labels, grid).astype(np.float32), ())
    if labels.kind == "dense_regression":
        values = labels.values.reshape(len(labels.values), -1, labels.values.shape[-1]).mean(axis=1)
        return TaskLabels(labels.task, "regression", values.astype(np.float32), ())
    flat = labels.values.reshape(len(labels.values), -1)
    width = int(flat.max()) + 1 if flat.size else 1
    counts = np.stack([np.bincount(row, minlength=width) for row in flat])
    return TaskLabels(labels.task, "classification", counts.argmax(axis=1).astype(np.int64), labels.classes)


def cell_means(labels: TaskLabels, grid: int) -> np.ndarray:
    """(n, H, W[, C]) dense labels -> (n, g*g*C) cell means (classes one-hot first), as float64.

    Means are taken in the labels' own precision, so float32 maps give the same numbers everywhere.
    """
    values = labels.values
    if labels.kind == "dense_classification":
        channels = len(labels.classes) or int(values.max()) + 1
        values = np.eye(channels, dtype=np.float64)[values]
    elif values.ndim == 3:
        values = values[..., None]
    n, h, w, c = values.shape
    gh, gw = min(grid, h), min(grid, w)
    cells = values[:, : h - h % gh, : w - w % gw].reshape(n, gh, h // gh, gw, w // gw, c)
    return cells.mean(axis=(2, 4)).reshape(n, -1).astype(np.float64)
