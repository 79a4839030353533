"""Affinity matrices computed elsewhere, read for ``harness evaluate``.

Three layouts, all ``A[source, target]`` (higher = better source) unless ``rows_are_targets``:

- a long CSV ``source,target,affinity`` (the ground truth's own format), optionally with an
  ``estimator`` column holding several estimators in one file;
- a square CSV: a header row whose first cell is a label and whose other cells are the model
  ids, then one row per model: its id, then its affinities in the header's order;
- a ``.npy`` square matrix with its ids in a text file (``--ids``: one id per line, or
  comma-separated).

Names go through the ground truth's aliases first. Every problem is one line naming the
file: a non-square matrix, an id given twice, a NaN or infinite value off the diagonal (the
diagonal is never evaluated, so it may be empty), a pair missing that the ground truth
measures, ids the ground truth does not know.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.common.errors import HarnessError, excerpt
from harness.common.limits import CSV_BYTES, GT_CELLS
from harness.common.registry import suggest
from harness.common.textio import read_bytes, read_text
from harness.evaluation.ground_truth import PSEUDO_SOURCES, REQUIRED_COLUMNS, GroundTruth, _parse

ESTIMATOR_COLUMN = "estimator"


@dataclass(frozen=True)
class Estimates:
    """One estimator's square matrix over ``model_ids`` (NaN where it gave nothing: the diagonal)."""

    name: str
    model_ids: tuple[str, ...]
    matrix: np.ndarray
    origin: str


def parse_spec(spec: str) -> tuple[str | None, Path]:
    """``NAME=PATH`` or ``PATH`` (the name is then the file's stem, or the ``estimator`` column)."""
    name, sep, path = spec.partition("=")
    if sep and name and "/" not in name and path:
        return name, Path(path)
    return None, Path(spec)


def read_estimates(spec: str, aliases: Mapping[str, str], *, ids_file: Path | None = None,
                   rows_are_targets: bool = False) -> list[Estimates]:
    """The estimator(s) in one file (see the module docstring for the layouts)."""
    name, path = parse_spec(spec)
    if path.suffix.lower() == ".npy":
        found = [_from_npy(path, name or path.stem, ids_file, aliases)]
    else:
        text = read_text(path, "estimates", CSV_BYTES, encoding="utf-8-sig", error=HarnessError)
        header = next(csv.reader(io.StringIO(text, newline="")), None)
        if header is None:
            raise HarnessError(f"{path}: empty file; expected 'source,target,affinity' rows or a square matrix with an id header")
        columns = [h.strip() for h in header]
        if all(c in columns for c in REQUIRED_COLUMNS):
            found = _from_long(path, text, columns, name, aliases)
        else:
            found = [_from_square(path, text, name or path.stem, aliases)]
    if rows_are_targets:
        found = [Estimates(e.name, e.model_ids, e.matrix.T.copy(), e.origin) for e in found]
    return found


def _square(truth: GroundTruth, name: str) -> Estimates:
    """A long-form table (a GroundTruth object) as a square matrix over every id it names."""
    ids = truth.ids
    return Estimates(name, tuple(ids), truth.submatrix(ids, ids), truth.origin)


def _from_long(path: Path, text: str, columns: list[str], name: str | None, aliases: Mapping[str, str]) -> list[Estimates]:
    if ESTIMATOR_COLUMN not in columns:
        return [_square(_parse(path, text, aliases, None), name or path.stem)]
    # One text per estimator with the other estimators' rows blanked, so that errors keep the
    # file's line numbers and the ground truth's parser does every check.
    lines = text.splitlines()
    col = columns.index(ESTIMATOR_COLUMN)
    groups: dict[str, list[int]] = {}
    for number, row in enumerate(csv.reader(lines[1:]), start=1):
        if row and len(row) > col and row[col].strip():
            groups.setdefault(row[col].strip(), []).append(number)
    if not groups:
        raise HarnessError(f"{path}: column {ESTIMATOR_COLUMN!r} is empty on every row; name the estimator of each row")
    out = []
    for estimator, numbers in groups.items():
        keep = set(numbers)
        own = "\n".join(line if i == 0 or i in keep else "" for i, line in enumerate(lines))
        out.append(_square(_parse(path, own, aliases, None), estimator))
    return out


def _value(path: Path, where: str, raw: str, diagonal: bool) -> float:
    raw = raw.strip()
    if diagonal and raw.lower() in ("", "nan", "na", "-"):
        return math.nan
    try:
        if len(raw) > 100:
            raise ValueError(raw)
        value = float(raw)
    except ValueError:
        raise HarnessError(f"{path}: {where}: {excerpt(raw) if raw else 'an empty cell'} is not a number") from None
    if not math.isfinite(value) and not diagonal:
        raise HarnessError(f"{path}: {where}: affinity {excerpt(raw)} is not finite; only the diagonal may be left empty")
    return value


def _from_square(path: Path, text: str, name: str, aliases: Mapping[str, str]) -> Estimates:
    rows = [r for r in csv.reader(io.StringIO(text, newline="")) if r and any(c.strip() for c in r)]
    header = [aliases.get(c.strip(), c.strip()) for c in rows[0][1:]]
    n = len(header)
    if n < 2:
        raise HarnessError(f"{path}:1: neither 'source,target,affinity' columns nor a square matrix header "
                           "(a label, then two or more model ids)")
    _unique(path, header, "header")
    GT_CELLS.check(n * n, f"{path}: {n} x {n} matrix", "evaluate fewer models at once")
    body = rows[1:]
    if len(body) != n or any(len(r) != n + 1 for r in body):
        widths = sorted({len(r) - 1 for r in body})
        raise HarnessError(f"{path}: not a square matrix: {n} ids in the header, {len(body)} rows of {widths} values; "
                           "give one row per header id, each with its id and one value per id")
    row_ids = [aliases.get(r[0].strip(), r[0].strip()) for r in body]
    _unique(path, row_ids, "first column")
    if set(row_ids) != set(header):
        odd = sorted(set(row_ids) ^ set(header))
        raise HarnessError(f"{path}: the row ids and the header ids differ ({', '.join(odd[:5])}); both must list the same models")
    index = {m: i for i, m in enumerate(header)}
    matrix = np.full((n, n), np.nan)
    for line, (source, row) in enumerate(zip(row_ids, body), start=2):
        for target, raw in zip(header, row[1:]):
            where = f"row {source!r} (line {line}), column {target!r}"
            matrix[index[source], index[target]] = _value(path, where, raw, diagonal=source == target)
    return Estimates(name, tuple(header), matrix, str(path))


def _from_npy(path: Path, name: str, ids_file: Path | None, aliases: Mapping[str, str]) -> Estimates:
    if ids_file is None:
        raise HarnessError(f"{path}: a .npy matrix needs its model ids: pass --ids FILE (one id per line, in the matrix's order)")
    raw = read_bytes(path, "estimates", CSV_BYTES, HarnessError)
    try:
        matrix = np.load(io.BytesIO(raw), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise HarnessError(f"{path}: not a readable .npy array ({excerpt(str(exc), 80)}); save it with numpy.save") from None
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or not np.issubdtype(matrix.dtype, np.number):
        raise HarnessError(f"{path}: expected a square numeric matrix, got shape {matrix.shape} of {matrix.dtype}")
    text = read_text(ids_file, "model ids", CSV_BYTES, error=HarnessError)
    ids = [aliases.get(t.strip(), t.strip()) for t in text.replace(",", "\n").splitlines() if t.strip()]
    if len(ids) != matrix.shape[0]:
        raise HarnessError(f"{ids_file}: {len(ids)} ids for a {matrix.shape[0]} x {matrix.shape[1]} matrix in {path}; give one id per row")
    _unique(ids_file, ids, "ids")
    matrix = matrix.astype(np.float64)
    off = ~np.eye(len(ids), dtype=bool)
    bad = np.argwhere(off & ~np.isfinite(matrix))
    if bad.size:
        s, t = bad[0]
        raise HarnessError(f"{path}: entry [{s}, {t}] ({ids[s]} -> {ids[t]}) is not finite; only the diagonal may be NaN")
    return Estimates(name, tuple(ids), matrix, str(path))


def _unique(path: Path, ids: Sequence[str], where: str) -> None:
    seen: set[str] = set()
    for m in ids:
        if not m:
            raise HarnessError(f"{path}: an empty model id in the {where}")
        if m in seen:
            raise HarnessError(f"{path}: model id {excerpt(m)} appears twice in the {where} (after aliasing)")
        seen.add(m)


def check_against_truth(estimates: Estimates, gt: GroundTruth) -> None:
    """Refuse ids the ground truth does not know and missing pairs that it measures."""
    known = set(gt.sources) | set(gt.targets)
    unknown = [m for m in estimates.model_ids if m not in known and m not in PSEUDO_SOURCES]
    if unknown:
        listed = ", ".join(repr(m) for m in unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        raise HarnessError(f"{estimates.origin}: estimator {estimates.name!r}: model id(s) {listed} are not in the ground truth "
                           f"{gt.origin}; {suggest(unknown[0], sorted(known))}")
    ids = list(estimates.model_ids)
    truth = gt.submatrix(ids, ids)
    missing = np.argwhere(np.isfinite(truth) & ~np.isfinite(estimates.matrix) & ~np.eye(len(ids), dtype=bool))
    if missing.size:
        s, t = missing[0]
        raise HarnessError(f"{estimates.origin}: estimator {estimates.name!r} gives no affinity for {ids[s]} -> {ids[t]} "
                           f"({len(missing)} measured pair(s) missing); give every pair the ground truth measures")
    if len([m for m in ids if m in gt.targets]) < 1 or len(ids) < 2:
        raise HarnessError(f"{estimates.origin}: estimator {estimates.name!r} covers no ground-truth target with a source")
