"""Labelled image sets: probe images together with per-task labels for every image.

Labelled estimators (feature sharing today; LogME, LEEP, ... later) need to know each
image's label for a task. One small API serves all sources:

    labelled = load_labelled("synthetic-indoor", ProbeRequest(n_images=200, size=32), tasks=["class_scene"])
    labelled.probe            # the ProbeSet (uint8 RGB NCHW), as any probe set
    labelled.task("class_scene").values   # (n,) int64 class indices, aligned with the images

Sources:

- a built-in generated set (``synthetic-indoor``, ``synthetic-studio``: the same images as the
  probe sets of that name, every task of ``harness.probes.synthetic.TASKS``; ``synthetic-glyphs``:
  indoor scenes with a glyph, plus the tasks ``glyph`` and ``class_scene_super``);
- a folder with one sub-folder per class (one task, called ``label``; classes are the sorted
  sub-folder names, or their integer values when every name is an integer);
- a CSV file with a header ``image,<task>[,<task>...]`` (image paths relative to the CSV). A
  column of integers is a classification task (the integers are the model's class indices), a
  column of other numbers is a per-image regression target, any other column is a
  classification task whose classes are the sorted distinct values.

Dense synthetic labels keep their per-pixel form (kind ``dense_regression`` /
``dense_classification``); :func:`per_image` pools them to one target per image where an
estimator needs one: the per-channel mean over pixels for dense regression, the most frequent
class (ties: lowest id) for dense classification.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from harness.common.errors import HarnessError
from harness.common.limits import CSV_BYTES
from harness.common.textio import read_csv_rows
from harness.probes.base import ProbeRequest, ProbeSet, sample_indices
from harness.probes.builtin import DEFAULT_GENERATED_IMAGES, PROBE_SEED_BASE
from harness.probes.folder import IMAGE_SUFFIXES, decode
from harness.common.registry import Registry, did_you_mean

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

    def subset(self, keep: np.ndarray) -> LabelledSet:
        """The images selected by a boolean mask or index array, with their labels."""
        probe = self.probe
        ids = tuple(np.asarray(probe.ids, dtype=object)[keep])
        sub = ProbeSet(probe.name, probe.images[keep], ids, probe.skipped, probe.source, probe.details)
        labels = {k: TaskLabels(v.task, v.kind, v.values[keep], v.classes) for k, v in self.labels.items()}
        return LabelledSet(sub, labels, self.source, self.details)


def per_image(labels: TaskLabels) -> TaskLabels:
    """One target per image: dense regression -> per-channel pixel mean; dense classes -> most frequent id."""
    if labels.kind == "dense_regression":
        values = labels.values.reshape(len(labels.values), -1, labels.values.shape[-1]).mean(axis=1)
        return TaskLabels(labels.task, "regression", values.astype(np.float32), ())
    if labels.kind == "dense_classification":
        flat = labels.values.reshape(len(labels.values), -1)
        width = int(flat.max()) + 1 if flat.size else 1
        counts = np.stack([np.bincount(row, minlength=width) for row in flat])
        return TaskLabels(labels.task, "classification", counts.argmax(axis=1).astype(np.int64), labels.classes)
    return labels


LabelLoader = Callable[[str, ProbeRequest, "Sequence[str] | None"], LabelledSet]
#: Built-in labelled sets by name.
LABEL_SOURCES: Registry[LabelLoader] = Registry("built-in label source")


def _synthetic_kind(task: str) -> tuple[str, tuple[str, ...]]:
    from harness.probes.glyphs import GLYPH_TASKS
    from harness.probes.synthetic import OBJECT_CLASSES, SCENE_CLASS_NAMES, SEMANTIC_CLASSES, TASK_INFO

    if task in GLYPH_TASKS:
        return "classification", GLYPH_TASKS[task]
    kind = TASK_INFO[task].kind
    classes = {"class_object": OBJECT_CLASSES, "class_scene": SCENE_CLASS_NAMES["indoor"],
               "segmentsemantic": SEMANTIC_CLASSES}.get(task, ())
    return {"vector_regression": "regression"}.get(kind, kind), tuple(classes)


def _synthetic(style: str, glyphs: bool) -> LabelLoader:
    def load(name: str, request: ProbeRequest, tasks: Sequence[str] | None) -> LabelledSet:
        from harness.probes.glyphs import GLYPH_TASKS, render_glyph_batch
        from harness.probes.synthetic import TASKS, render_batch

        known = TASKS + (tuple(GLYPH_TASKS) if glyphs else ())
        wanted = tuple(tasks) if tasks is not None else known
        for task in wanted:
            if task not in known:
                raise HarnessError(f"labels {name}: {did_you_mean(task, list(known), 'task')}")
        n = request.n_images or DEFAULT_GENERATED_IMAGES
        seeds = [PROBE_SEED_BASE + request.seed * 1_000_000 + i for i in range(n)]
        render = render_glyph_batch if glyphs else render_batch
        data = render(seeds, size=request.size, style=style, tasks=wanted)
        images = np.clip(np.rint(data["rgb"] * 255.0), 0, 255).astype(np.uint8).transpose(0, 3, 1, 2).copy()
        probe = ProbeSet(name, images, tuple(f"scene-{s}" for s in seeds), 0, f"synthetic:{style}", {"style": style})
        labels = {}
        for task in wanted:
            kind, classes = _synthetic_kind(task)
            labels[task] = TaskLabels(task, kind, data[task], classes)
        return LabelledSet(probe, labels, name, {"style": style, "glyphs": glyphs})

    return load


LABEL_SOURCES.add("synthetic-indoor", _synthetic("indoor", False))
LABEL_SOURCES.add("synthetic-studio", _synthetic("studio", False))
LABEL_SOURCES.add("synthetic-glyphs", _synthetic("indoor", True))


def list_label_sources() -> list[str]:
    return LABEL_SOURCES.names()


def builtin_tasks(name: str) -> tuple[str, ...]:
    """The tasks a built-in source labels (without rendering anything)."""
    from harness.probes.glyphs import GLYPH_TASKS
    from harness.probes.synthetic import TASKS

    LABEL_SOURCES.get(name)
    return TASKS + (tuple(GLYPH_TASKS) if name == "synthetic-glyphs" else ())


def load_labelled(source: str, request: ProbeRequest, tasks: Sequence[str] | None = None) -> LabelledSet:
    """Images and labels from a built-in name, a class-per-sub-folder folder, or a CSV file."""
    path = Path(source)
    if source in LABEL_SOURCES:
        return LABEL_SOURCES.get(source)(source, request, tasks)
    if path.is_dir():
        return _restrict(load_class_folder(path, request), tasks)
    if path.is_file():
        return _restrict(load_csv(path, request), tasks)
    if any(sep in source for sep in ("/", "\\", ".")):
        raise HarnessError(f"labels {source!r}: no such folder or CSV file")
    LABEL_SOURCES.get(source)  # raises "unknown built-in label source ...; did you mean"
    raise AssertionError("unreachable")


def _restrict(labelled: LabelledSet, tasks: Sequence[str] | None) -> LabelledSet:
    if tasks is None:
        return labelled
    return LabelledSet(labelled.probe, {t: labelled.task(t) for t in tasks}, labelled.source, labelled.details)


def _decode_all(paths: list[Path], base: Path, request: ProbeRequest, source: str) -> tuple[ProbeSet, np.ndarray]:
    """Decode the request's sample of ``paths``; returns the set and the indices (into paths) kept."""
    chosen = sample_indices(len(paths), request.n_images, request.seed)
    images, ids, kept, skipped = [], [], [], 0
    for i in chosen:
        pixels = decode(paths[i], request.size)
        if pixels is None:
            skipped += 1
            continue
        images.append(pixels)
        ids.append(paths[i].relative_to(base).as_posix() if paths[i].is_relative_to(base) else str(paths[i]))
        kept.append(i)
    if not images:
        raise HarnessError(f"{source}: none of the {len(chosen)} selected images could be read")
    probe = ProbeSet(base.name, np.stack(images), tuple(ids), skipped, source, {"candidates": len(paths)})
    return probe, np.asarray(kept, dtype=np.int64)


def _class_names(names: list[str]) -> tuple[list[str], dict[str, int]]:
    """Sorted class names and name -> id; integer names keep their value as the id."""
    if all(_is_int(n) for n in names):
        ordered = sorted(names, key=int)
        return ordered, {n: int(n) for n in ordered}
    ordered = sorted(names)
    return ordered, {n: i for i, n in enumerate(ordered)}


def _is_int(text: str) -> bool:
    return text.strip().lstrip("+-").isdigit()


def load_class_folder(folder: Path, request: ProbeRequest) -> LabelledSet:
    """A folder with one sub-folder per class: task ``label``."""
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise HarnessError(f"{folder}: a labelled folder needs one sub-folder per class; found none")
    ordered, ids = _class_names(classes)
    paths, targets = [], []
    for name in classes:
        for path in sorted(p for p in (folder / name).rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES):
            paths.append(path)
            targets.append(ids[name])
    if not paths:
        raise HarnessError(f"{folder}: no image files in its class sub-folders (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
    probe, kept = _decode_all(paths, folder, request, str(folder))
    names = tuple(ordered) if not all(_is_int(n) for n in classes) else tuple(str(i) for i in range(max(ids.values()) + 1))
    label = TaskLabels("label", "classification", np.asarray(targets, np.int64)[kept], names)
    return LabelledSet(probe, {"label": label}, str(folder), {"classes": len(classes)})


def load_csv(path: Path, request: ProbeRequest) -> LabelledSet:
    """``image,<task>...`` rows; image paths relative to the CSV's folder."""
    rows = [row for row in read_csv_rows(path, "labels CSV (image,<task>...)", CSV_BYTES, HarnessError) if row and not row[0].startswith("#")]
    if not rows or len(rows[0]) < 2 or rows[0][0].strip().lower() != "image":
        raise HarnessError(f"{path}: expected a header row 'image,<task>[,<task>...]' (e.g. image,label)")
    header = [h.strip() for h in rows[0]]
    body = rows[1:]
    for line, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise HarnessError(f"{path}: line {line} has {len(row)} fields, the header has {len(header)}")
    if not body:
        raise HarnessError(f"{path}: no rows after the header")
    base = path.parent
    paths = [base / row[0].strip() for row in body]
    for line, image in enumerate(paths, start=2):
        if not image.resolve().is_relative_to(base.resolve()):
            raise HarnessError(f"{path}: line {line}: image {image} leaves the CSV's folder; use paths relative to it")
    probe, kept = _decode_all(paths, base, request, str(path))
    labels = {}
    for column, task in enumerate(header[1:], start=1):
        labels[task] = _csv_column(task, [body[i][column].strip() for i in kept], path)
    return LabelledSet(probe, labels, str(path), {"rows": len(body)})


def _csv_column(task: str, cells: list[str], path: Path) -> TaskLabels:
    if any(c == "" for c in cells):
        raise HarnessError(f"{path}: column {task!r} has empty cells; give every image a label")
    if all(_is_int(c) for c in cells):
        values = np.asarray([int(c) for c in cells], np.int64)
        if values.min() < 0:
            raise HarnessError(f"{path}: column {task!r}: class indices must be >= 0")
        return TaskLabels(task, "classification", values, tuple(str(i) for i in range(int(values.max()) + 1)))
    try:
        return TaskLabels(task, "regression", np.asarray([[float(c)] for c in cells], np.float32), ())
    except ValueError:
        ordered, ids = _class_names(sorted(set(cells)))
        return TaskLabels(task, "classification", np.asarray([ids[c] for c in cells], np.int64), tuple(ordered))


__all__ = ["TaskLabels", "LabelledSet", "load_labelled", "list_label_sources", "per_image", "LABEL_SOURCES",
           "load_class_folder", "load_csv", "KINDS"]
