"""Labels for a probe set that is already loaded (``harness run --labels``, ``--labelled-benchmark``).

The run loads its probe images first (``--probe``, ``--images``); labels then come from

- ``folder``: the class is the first path component of each image id (a probe folder with
  one sub-folder per class);
- a labels CSV (see :mod:`harness.probes.labels.table`) whose ``image`` column holds the probe
  image ids, i.e. paths relative to the probe folder;
- generator task names, for generated probe sets (ids ``scene-<seed>``): the scenes are
  rendered again from their seeds, so the labels are exact.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from harness.common.errors import HarnessError, ValidationError, excerpt
from harness.probes.base import ProbeSet
from harness.probes.labels.records import TaskLabels
from harness.probes.labels.sources import check_tasks, class_ids, generator_tasks, render_labels
from harness.probes.labels.table import read_label_table

#: Scene ids of generated probe sets look like ``scene-<seed>``.
SCENE_PREFIX = "scene-"
#: The ``--labels`` value that reads classes from the probe folder's sub-folders.
FOLDER = "folder"


def folder_labels(probe: ProbeSet, task: str = "label") -> TaskLabels:
    """Class = the first path component of each image id."""
    parts = [i.split("/", 1)[0] if "/" in i else None for i in probe.ids]
    if any(c is None for c in parts):
        raise HarnessError(f"probe set {probe.name!r}: images must sit in one sub-folder per class for --labels {FOLDER}")
    names, ids = class_ids(sorted(set(parts)))
    if len(ids) < 2:
        raise HarnessError(f"probe set {probe.name!r}: folder labels need at least 2 class sub-folders, found {len(ids)}")
    return TaskLabels(task, "classification", np.array([ids[c] for c in parts], dtype=np.int64), names)


def csv_labels(path: Path, probe: ProbeSet) -> dict[str, TaskLabels]:
    """Every task column of a labels CSV, rows matched to the probe images by id."""
    table = read_label_table(path)
    row = {image: i for i, image in enumerate(table.images)}
    missing = [i for i in probe.ids if i not in row]
    if missing:
        raise ValidationError(f"{path}: no label for probe image {excerpt(missing[0])} ({len(missing)} missing); "
                              "image ids are paths relative to the probe folder")
    rows = [row[i] for i in probe.ids]
    return {task: table.column(task, rows) for task in table.tasks}


def generated_labels(probe: ProbeSet, tasks: Sequence[str]) -> dict[str, TaskLabels]:
    """Generator labels of a generated probe set, rendered again from the scene seeds."""
    style = probe.details.get("style")
    if style is None or not all(i.startswith(SCENE_PREFIX) for i in probe.ids):
        raise HarnessError(f"probe set {probe.name!r} was not generated: task labels come only with the synthetic probe sets; "
                           f"pass a labelled folder or a CSV with --labels")
    check_tasks(f"of probe set {probe.name!r}", tasks, generator_tasks())
    seeds = [int(i[len(SCENE_PREFIX):]) for i in probe.ids]
    return render_labels(seeds, int(probe.images.shape[-1]), style, tasks)[1]


def labels_on(spec: str, probe: ProbeSet) -> dict[str, TaskLabels]:
    """``--labels SPEC`` on a loaded probe set: ``folder``, a CSV file, or generator task names joined by '+'."""
    if spec == FOLDER:
        return {"label": folder_labels(probe)}
    path = Path(spec)
    if path.suffix.lower() == ".csv" or path.is_file():
        if not path.is_file():
            raise HarnessError(f"--labels {excerpt(spec)}: no such CSV file")
        return csv_labels(path, probe)
    return generated_labels(probe, sorted(set(spec.split("+"))))
