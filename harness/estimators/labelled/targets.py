"""A labelled estimator's view of the labels: one :class:`TargetLabels` per target task.

The labels themselves come from the one label system, :mod:`harness.probes.labels`. This
module only shapes them for the estimators: a per-pixel label map is averaged on a ``GRID`` x
``GRID`` grid (per-pixel classes become class fractions per cell; see
:func:`harness.probes.labels.cell_means`), giving one vector per image for LogME's regression.
Estimators that only define classification get ``classes``: for class tasks the labels
themselves; for everything else the quantile bin (``BINS`` bins) of the vector's first
principal component — a documented proxy, not the task's own metric.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from harness.common.errors import HarnessError
from harness.estimators.labelled.base import TargetLabels, pca
from harness.probes.base import ProbeSet
from harness.probes.labels import TaskLabels, cell_means, generated_labels, labels_on
from harness.probes.labels.attach import FOLDER
from harness.probes.quality import label_problem

GRID = 4
BINS = 8
#: ``--labels folder`` names its target like this in report.json.
FOLDER_TASK = "labels"


def binned(values: np.ndarray, bins: int = BINS) -> np.ndarray:
    """Quantile bin of each row's first principal component: classes for class-only estimators."""
    pc = pca(np.asarray(values, dtype=np.float64), max_dims=1)
    if pc.shape[1] == 0:
        return np.zeros(len(values), dtype=np.int64)
    edges = np.quantile(pc[:, 0], np.linspace(0, 1, bins + 1)[1:-1])
    return np.searchsorted(edges, pc[:, 0], side="right").astype(np.int64)


def from_values(task: str, values: np.ndarray) -> TargetLabels:
    """A regression target: the vectors, and their bins as classes."""
    values = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
    return TargetLabels(task, binned(values), values)


def as_vector(labels: TaskLabels) -> np.ndarray:
    """(n, k) float64: one-hot classes, regression vectors, or grid-pooled dense labels."""
    if labels.kind == "classification":
        return np.eye(len(labels.classes) or int(labels.values.max()) + 1)[labels.values]
    if labels.kind in ("dense_regression", "dense_classification"):
        return cell_means(labels, GRID)
    return np.asarray(labels.values, dtype=np.float64).reshape(len(labels.values), -1)


def as_target(task: str, parts: Sequence[TaskLabels]) -> TargetLabels:
    """One target from one or more tasks' labels: a single class task keeps its classes; else vectors are joined."""
    if len(parts) == 1 and parts[0].kind == "classification":
        return TargetLabels(task, np.asarray(parts[0].values, dtype=np.int64), None)
    return from_values(task, np.concatenate([as_vector(p) for p in parts], axis=1))


def target_problem(target: TargetLabels) -> str | None:
    """Why a target's labels cannot drive a labelled estimator (one class, one constant value), or None."""
    if target.values is not None:
        return label_problem(target.task, target.values, is_classification=False)
    return label_problem(target.task, target.classes, is_classification=True)


def synthetic_labels(probe: ProbeSet, tasks: Sequence[str]) -> dict[str, TargetLabels]:
    """Targets of generator tasks for a generated probe set (a '+'-joined multi-task name joins its tasks)."""
    parts = sorted({p for t in tasks for p in t.split("+")})
    labels = generated_labels(probe, parts)
    return {task: as_target(task, [labels[p] for p in task.split("+")]) for task in tasks}


def labels_for(spec: str, probe: ProbeSet) -> TargetLabels:
    """``--labels``: a generator task name, a labels CSV, or ``folder`` (class sub-folders of the probe folder)."""
    if spec != FOLDER and not (Path(spec).suffix.lower() == ".csv" or Path(spec).is_file()):
        return synthetic_labels(probe, [spec])[spec]
    labels: Mapping[str, TaskLabels] = labels_on(spec, probe)
    name = FOLDER_TASK if spec == FOLDER else Path(spec).stem
    tasks = list(labels.values())
    if len(tasks) > 1 and any(t.kind != "regression" for t in tasks):
        raise HarnessError(f"--labels {spec}: the CSV has {len(tasks)} task columns ({', '.join(labels)}) and --labels "
                           "scores one target; keep one column, or only value columns (joined into one regression vector)")
    return as_target(name, tasks)
