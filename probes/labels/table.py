"""Label CSV files: one parser and one rule for what a column means.

A labels CSV has a header ``image,<task>[,<task>...]``; each later row names an image and
gives one cell per task. What a column holds:

- a column called ``label`` is a classification task (classes: the sorted distinct values,
  or the integers themselves when every value is an integer);
- a column called ``value`` or ``value<anything>`` is a per-image regression target;
- any other column: integers are class indices, other numbers a regression target, anything
  else classes named by the sorted distinct strings.

The files go through the bounded reader (:func:`harness.common.textio.read_csv_rows`);
every malformed file is a :class:`ValidationError` naming the file, line or column.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.common.errors import ValidationError, excerpt
from harness.common.limits import CSV_BYTES
from harness.common.textio import read_csv_rows
from harness.probes.labels.records import TaskLabels

HEADER_HINT = "image,<task>[,<task>...] (e.g. image,label or image,value)"


@dataclass(frozen=True)
class LabelTable:
    """A parsed labels CSV: task names and one row of cells per image, in file order."""

    path: Path
    tasks: tuple[str, ...]
    images: tuple[str, ...]
    cells: tuple[tuple[str, ...], ...]

    def column(self, task: str, rows: "list[int] | np.ndarray") -> TaskLabels:
        """Labels of ``task`` for the given rows (indices into ``images``)."""
        at = self.tasks.index(task)
        return column_labels(task, [self.cells[i][at] for i in rows], self.path)


def read_label_table(path: Path) -> LabelTable:
    """Parse and check the shape of a labels CSV (comment lines start with ``#``)."""
    rows = [row for row in read_csv_rows(path, f"labels CSV ({HEADER_HINT})", CSV_BYTES, ValidationError)
            if row and not row[0].startswith("#")]
    if not rows or len(rows[0]) < 2 or rows[0][0].strip().lower() != "image":
        raise ValidationError(f"{path}: expected a header row {HEADER_HINT}")
    header = tuple(h.strip() for h in rows[0])
    tasks = header[1:]
    if len(set(tasks)) != len(tasks) or any(not t for t in tasks):
        raise ValidationError(f"{path}: task names in the header must be distinct and non-empty, got {excerpt(list(tasks))}")
    body = rows[1:]
    if not body:
        raise ValidationError(f"{path}: no rows after the header")
    for line, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise ValidationError(f"{path}: line {line} has {len(row)} fields, the header has {len(header)}")
    images = tuple(row[0].strip() for row in body)
    if len(set(images)) != len(images):
        seen: set[str] = set()
        twice = next(i for i in images if i in seen or seen.add(i))
        raise ValidationError(f"{path}: image {excerpt(twice)} is listed twice; give each image one row")
    return LabelTable(path, tasks, images, tuple(tuple(c.strip() for c in row[1:]) for row in body))


def column_kind(task: str, cells: list[str]) -> str:
    """``classification`` or ``regression`` by the column rule of this module."""
    if task == "label":
        return "classification"
    if task.startswith("value"):
        return "regression"
    if all(_is_int(c) for c in cells):
        return "classification"
    return "regression" if all(_is_float(c) for c in cells) else "classification"


def column_labels(task: str, cells: list[str], path: Path) -> TaskLabels:
    """One column's cells (one per image) as labels."""
    if any(c == "" for c in cells):
        raise ValidationError(f"{path}: column {task!r} has empty cells; give every image a label")
    if column_kind(task, cells) == "regression":
        if not all(_is_float(c) for c in cells):
            bad = next(c for c in cells if not _is_float(c))
            raise ValidationError(f"{path}: column {task!r} holds regression values, got {excerpt(bad)}; "
                                  "name the column 'label' (or anything but value...) for classes")
        values = np.asarray([[float(c)] for c in cells], np.float32)
        if not np.all(np.isfinite(values)):
            raise ValidationError(f"{path}: column {task!r}: every value must be a finite number")
        return TaskLabels(task, "regression", values, ())
    if all(_is_int(c) for c in cells):
        ids = [int(c) for c in cells]
        if min(ids) < 0:
            raise ValidationError(f"{path}: column {task!r}: class indices must be >= 0")
        return TaskLabels(task, "classification", np.asarray(ids, np.int64), tuple(str(i) for i in range(max(ids) + 1)))
    ordered = sorted(set(cells))
    index = {c: i for i, c in enumerate(ordered)}
    return TaskLabels(task, "classification", np.asarray([index[c] for c in cells], np.int64), tuple(ordered))


def _is_int(text: str) -> bool:
    return text.strip().lstrip("+-").isdigit()


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
