"""Where labelled image sets come from: built-in generated sets, class folders, labels CSVs.

``load_labelled(source, request)`` decodes the images of the source (like ``load_probe``)
and returns them with their labels; for a probe set that is already loaded, use
:mod:`harness.probes.labels.attach` instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from harness.common.errors import HarnessError, ValidationError
from harness.common.registry import Registry, did_you_mean
from harness.probes.base import ProbeRequest, ProbeSet, sample_indices
from harness.probes.builtin import DEFAULT_GENERATED_IMAGES, PROBE_SEED_BASE
from harness.probes.folder import IMAGE_SUFFIXES, decode
from harness.probes.labels.records import LabelledSet, TaskLabels
from harness.probes.labels.table import read_label_table

LabelLoader = Callable[[str, ProbeRequest, "Sequence[str] | None"], LabelledSet]
#: Built-in labelled sets by name.
LABEL_SOURCES: Registry[LabelLoader] = Registry("built-in label source")


def generator_tasks(glyphs: bool = False) -> tuple[str, ...]:
    """The tasks the scene generator labels (plus the glyph tasks of ``synthetic-glyphs``)."""
    from harness.probes.glyphs import GLYPH_TASKS
    from harness.probes.synthetic import TASKS

    return TASKS + (tuple(GLYPH_TASKS) if glyphs else ())


def generated_task_labels(task: str, values: np.ndarray) -> TaskLabels:
    """A generator task's rendered labels as :class:`TaskLabels` (kind and class names from the generator)."""
    from harness.probes.glyphs import GLYPH_TASKS
    from harness.probes.synthetic import OBJECT_CLASSES, SCENE_CLASS_NAMES, SEMANTIC_CLASSES, TASK_INFO

    if task in GLYPH_TASKS:
        return TaskLabels(task, "classification", values, tuple(GLYPH_TASKS[task]))
    kind = {"vector_regression": "regression"}.get(TASK_INFO[task].kind, TASK_INFO[task].kind)
    classes = {"class_object": OBJECT_CLASSES, "class_scene": SCENE_CLASS_NAMES["indoor"],
               "segmentsemantic": SEMANTIC_CLASSES}.get(task, ())
    if "classification" in kind and not classes:  # unnamed segments: ids 0..channels-1
        classes = tuple(str(i) for i in range(TASK_INFO[task].channels))
    return TaskLabels(task, kind, values, tuple(classes))


def render_labels(seeds: Sequence[int], size: int, style: str, tasks: Sequence[str], glyphs: bool = False) -> tuple[np.ndarray, dict[str, TaskLabels]]:
    """Render generated scenes: (uint8 NCHW images, {task: labels})."""
    from harness.probes.glyphs import render_glyph_batch
    from harness.probes.synthetic import render_batch

    data = (render_glyph_batch if glyphs else render_batch)(list(seeds), size=size, style=style, tasks=tuple(tasks))
    images = np.clip(np.rint(data["rgb"] * 255.0), 0, 255).astype(np.uint8).transpose(0, 3, 1, 2).copy()
    return images, {task: generated_task_labels(task, data[task]) for task in tasks}


def check_tasks(source: str, wanted: Sequence[str], known: Sequence[str]) -> None:
    for task in wanted:
        if task not in known:
            raise HarnessError(f"labels {source}: {did_you_mean(task, list(known), 'task')}")


def _generated(style: str, glyphs: bool) -> LabelLoader:
    def load(name: str, request: ProbeRequest, tasks: Sequence[str] | None) -> LabelledSet:
        known = generator_tasks(glyphs)
        wanted = tuple(tasks) if tasks is not None else known
        check_tasks(name, wanted, known)
        n = request.n_images or DEFAULT_GENERATED_IMAGES
        seeds = [PROBE_SEED_BASE + request.seed * 1_000_000 + i for i in range(n)]
        images, labels = render_labels(seeds, request.size, style, wanted, glyphs)
        probe = ProbeSet(name, images, tuple(f"scene-{s}" for s in seeds), 0, f"synthetic:{style}", {"style": style})
        return LabelledSet(probe, labels, name, {"style": style, "glyphs": glyphs})

    return load


LABEL_SOURCES.add("synthetic-indoor", _generated("indoor", False))
LABEL_SOURCES.add("synthetic-studio", _generated("studio", False))
LABEL_SOURCES.add("synthetic-glyphs", _generated("indoor", True))


def list_label_sources() -> list[str]:
    return LABEL_SOURCES.names()


def builtin_tasks(name: str) -> tuple[str, ...]:
    """The tasks a built-in source labels (without rendering anything)."""
    LABEL_SOURCES.get(name)
    return generator_tasks(glyphs=name == "synthetic-glyphs")


def load_labelled(source: str, request: ProbeRequest, tasks: Sequence[str] | None = None) -> LabelledSet:
    """Images and labels from a built-in name, a class-per-sub-folder folder, or a labels CSV."""
    path = Path(source)
    if source in LABEL_SOURCES:
        return LABEL_SOURCES.get(source)(source, request, tasks)
    if path.is_dir():
        return load_class_folder(path, request).restricted(tasks)
    if path.is_file():
        return load_csv(path, request).restricted(tasks)
    if any(sep in source for sep in ("/", "\\", ".")):
        raise HarnessError(f"labels {source!r}: no such folder or CSV file")
    LABEL_SOURCES.get(source)  # raises "unknown built-in label source ...; did you mean"
    raise AssertionError("unreachable")


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


def class_ids(names: Sequence[str]) -> tuple[tuple[str, ...], dict[str, int]]:
    """Class names indexed by id, and name -> id: integer names keep their value, others are sorted."""
    if all(n.strip().lstrip("+-").isdigit() for n in names):
        ids = {n: int(n) for n in names}
        return tuple(str(i) for i in range(max(ids.values()) + 1)), ids
    ordered = tuple(sorted(names))
    return ordered, {n: i for i, n in enumerate(ordered)}


def load_class_folder(folder: Path, request: ProbeRequest) -> LabelledSet:
    """A folder with one sub-folder per class: task ``label``."""
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise HarnessError(f"{folder}: a labelled folder needs one sub-folder per class; found none")
    names, ids = class_ids(classes)
    paths, targets = [], []
    for name in classes:
        for path in sorted(p for p in (folder / name).rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES):
            paths.append(path)
            targets.append(ids[name])
    if not paths:
        raise HarnessError(f"{folder}: no image files in its class sub-folders (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
    probe, kept = _decode_all(paths, folder, request, str(folder))
    label = TaskLabels("label", "classification", np.asarray(targets, np.int64)[kept], names)
    return LabelledSet(probe, {"label": label}, str(folder), {"classes": len(classes)})


def load_csv(path: Path, request: ProbeRequest) -> LabelledSet:
    """A labels CSV whose image paths are relative to the CSV's folder: decodes them."""
    table = read_label_table(path)
    base = path.parent
    paths = [base / image for image in table.images]
    for line, image in enumerate(paths, start=2):
        if not image.resolve().is_relative_to(base.resolve()):
            raise ValidationError(f"{path}: line {line}: image {image} leaves the CSV's folder; use paths relative to it")
    probe, kept = _decode_all(paths, base, request, str(path))
    labels = {task: table.column(task, kept) for task in table.tasks}
    return LabelledSet(probe, labels, str(path), {"rows": len(table.images)})
