"""Target labels for the probe images: from the synthetic generator, a labelled folder, or a CSV.

Per-image targets for dense labels: a per-pixel label map (H, W, C) is average-pooled on a
``GRID`` x ``GRID`` grid (per-pixel classes become class fractions per cell), giving one
vector per image for LogME's regression. Estimators that only define classification get
``classes``: for class tasks the labels themselves; for everything else the quantile bin
(``BINS`` bins) of the vector's first principal component — a documented proxy, not the
task's own metric.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.common.errors import HarnessError, ValidationError
from harness.common.limits import CSV_BYTES
from harness.common.textio import read_csv_rows
from harness.estimators.labelled.base import TargetLabels, pca
from harness.probes.base import ProbeSet

GRID = 4
BINS = 8
#: Scene ids of generated probe sets look like ``scene-<seed>``.
SCENE_PREFIX = "scene-"


def pooled(label: np.ndarray, kind: str, channels: int) -> np.ndarray:
    """(n, H, W[, C]) dense labels -> (n, GRID*GRID*C) cell means."""
    if kind == "dense_classification":
        label = np.eye(channels, dtype=np.float64)[label]
    n, h, w, c = label.shape
    gh, gw = min(GRID, h), min(GRID, w)
    cells = label[:, : h - h % gh, : w - w % gw].reshape(n, gh, h // gh, gw, w // gw, c)
    return cells.mean(axis=(2, 4)).reshape(n, -1)


def binned(values: np.ndarray, bins: int = BINS) -> np.ndarray:
    """Quantile bin of each row's first principal component: classes for class-only estimators."""
    pc = pca(np.asarray(values, dtype=np.float64), max_dims=1)
    if pc.shape[1] == 0:
        return np.zeros(len(values), dtype=np.int64)
    edges = np.quantile(pc[:, 0], np.linspace(0, 1, bins + 1)[1:-1])
    return np.searchsorted(edges, pc[:, 0], side="right").astype(np.int64)


def from_values(task: str, values: np.ndarray) -> TargetLabels:
    values = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
    return TargetLabels(task, binned(values), values)


def synthetic_labels(probe: ProbeSet, tasks: list[str]) -> dict[str, TargetLabels]:
    """Labels of generator tasks (a '+'-joined multi-task name concatenates its tasks) for a generated probe set."""
    from harness.probes.synthetic import TASK_INFO, render_batch

    style = probe.details.get("style")
    if style is None or not all(i.startswith(SCENE_PREFIX) for i in probe.ids):
        raise HarnessError(f"probe set {probe.name!r} was not generated: task labels come only with the synthetic probe sets; "
                           "pass a labelled folder or a CSV with --labels")
    parts = sorted({p for t in tasks for p in t.split("+")})
    unknown = [p for p in parts if p not in TASK_INFO]
    if unknown:
        raise HarnessError(f"no synthetic labels for task(s) {', '.join(unknown)}; known tasks: {', '.join(sorted(TASK_INFO))}")
    seeds = [int(i[len(SCENE_PREFIX):]) for i in probe.ids]
    rendered = render_batch(seeds, size=int(probe.images.shape[-1]), style=style, tasks=tuple(parts))
    out: dict[str, TargetLabels] = {}
    for task in tasks:
        names = task.split("+")
        if len(names) == 1 and TASK_INFO[task].kind == "classification":
            out[task] = TargetLabels(task, rendered[task].astype(np.int64), None)
            continue
        vectors = []
        for name in names:
            info, raw = TASK_INFO[name], rendered[name]
            if info.kind == "classification":
                vectors.append(np.eye(info.channels)[raw])
            elif info.kind == "vector_regression":
                vectors.append(raw.reshape(len(raw), -1))
            else:
                vectors.append(pooled(raw if raw.ndim == 4 or info.kind == "dense_classification" else raw[..., None], info.kind, info.channels))
        out[task] = from_values(task, np.concatenate(vectors, axis=1))
    return out


def folder_labels(probe: ProbeSet, name: str = "labels") -> TargetLabels:
    """Class = the first path component of each image id (a folder with one sub-folder per class)."""
    classes = [i.split("/", 1)[0] if "/" in i else None for i in probe.ids]
    if any(c is None for c in classes):
        raise HarnessError(f"probe set {probe.name!r}: images must sit in one sub-folder per class for folder labels")
    names = sorted(set(classes))
    if len(names) < 2:
        raise HarnessError(f"probe set {probe.name!r}: folder labels need at least 2 class sub-folders, found {len(names)}")
    return TargetLabels(name, np.array([names.index(c) for c in classes], dtype=np.int64), None)


def csv_labels(path: Path, probe: ProbeSet) -> TargetLabels:
    """A CSV ``image,label`` (classes, any strings) or ``image,value[,value...]`` (regression), keyed by probe image id."""
    rows = read_csv_rows(path, "labels CSV (image,label)", CSV_BYTES)
    if not rows or len(rows[0]) < 2 or rows[0][0] != "image":
        raise ValidationError(f"{path}: expected a header 'image,label' or 'image,value[,...]'")
    header, body = rows[0], rows[1:]
    table = {r[0]: r[1:] for r in body if r}
    missing = [i for i in probe.ids if i not in table]
    if missing:
        raise ValidationError(f"{path}: no label for probe image {missing[0]!r} ({len(missing)} missing); image ids are paths relative to the probe folder")
    if header[1:] == ["label"]:
        labels = [table[i][0] for i in probe.ids]
        names = sorted(set(labels))
        return TargetLabels(path.stem, np.array([names.index(v) for v in labels], dtype=np.int64), None)
    try:
        values = np.array([[float(v) for v in table[i]] for i in probe.ids])
    except ValueError:
        raise ValidationError(f"{path}: value columns must be numbers (use a 'label' column for classes)") from None
    if values.shape[1] != len(header) - 1 or not np.all(np.isfinite(values)):
        raise ValidationError(f"{path}: every row needs {len(header) - 1} finite value(s)")
    return from_values(path.stem, values)


def labels_for(spec: str, probe: ProbeSet) -> TargetLabels:
    """``--labels``: a synthetic task name, a CSV file, or ``folder`` (class sub-folders of the probe folder)."""
    if spec == "folder":
        return folder_labels(probe)
    path = Path(spec)
    if path.suffix.lower() == ".csv" or path.is_file():
        return csv_labels(path, probe)
    return synthetic_labels(probe, [spec])[spec]
