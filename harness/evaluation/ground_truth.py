"""Ground-truth transfer affinities: loading, restricting to a zoo's models, ranking.

File format: CSV with header ``source,target,affinity`` (extra columns are ignored), one row
per (source, target) pair, higher affinity = better source for that target.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from pathlib import Path

import numpy as np

from harness.common.errors import HarnessError, excerpt
from harness.common.limits import CSV_BYTES, GT_CELLS, NAME_CHARS
from harness.common.textio import read_text

if TYPE_CHECKING:
    from harness.model.zoo import Zoo

REQUIRED_COLUMNS = ("source", "target", "affinity")
# Rows of a ground truth that are baselines, not models (Taskonomy has both).
PSEUDO_SOURCES = frozenset({"self", "random"})

# Taskonomy (README in the shared data): its spellings -> the seed repositories' names, and
# the task index order used by the seeds' sort_gt.csv.
TASKONOMY_ALIASES: dict[str, str] = {
    "segmentsemantic_rb": "segmentsemantic",
    "impainting_whole": "inpainting_whole",
    "vanishing_point_well_defined": "vanishing_point",
}
TASKONOMY_ORDER: tuple[str, ...] = (
    "autoencoder", "curvature", "denoise", "edge2d", "edge3d", "keypoint2d", "keypoint3d",
    "colorization", "reshade", "rgb2depth", "rgb2mist", "rgb2sfnorm", "room_layout", "segment25d",
    "segment2d", "vanishing_point", "segmentsemantic", "class_1000", "class_places", "inpainting_whole",
)


@dataclass(frozen=True)
class GroundTruth:
    """``matrix[i, j]`` = affinity of ``sources[i]`` for ``targets[j]``; NaN where not measured."""

    sources: tuple[str, ...]
    targets: tuple[str, ...]
    matrix: np.ndarray
    origin: str = "<memory>"
    unused_rows: int = 0  # rows skipped because a name is not among the models asked for

    @property
    def ids(self) -> list[str]:
        """Every name that appears, sources first (file order), then target-only names."""
        return list(self.sources) + [t for t in self.targets if t not in self.sources]

    def value(self, source: str, target: str) -> float:
        """The affinity of one pair, NaN if absent."""
        try:
            return float(self.matrix[self.sources.index(source), self.targets.index(target)])
        except ValueError:
            return math.nan

    def submatrix(self, sources: Sequence[str], targets: Sequence[str]) -> np.ndarray:
        """Affinities for the given ids (rows = sources, cols = targets), NaN where unknown."""
        si = {s: i for i, s in enumerate(self.sources)}
        ti = {t: j for j, t in enumerate(self.targets)}
        out = np.full((len(sources), len(targets)), np.nan)
        for a, s in enumerate(sources):
            for b, t in enumerate(targets):
                if s in si and t in ti:
                    out[a, b] = self.matrix[si[s], ti[t]]
        return out

    def restrict(self, model_ids: Sequence[str]) -> GroundTruth:
        """Only the given models, in their order; pseudo-sources such as ``self``/``random`` drop out."""
        sources = tuple(m for m in model_ids if m in self.sources)
        targets = tuple(m for m in model_ids if m in self.targets)
        matrix = self.submatrix(sources, targets)
        matrix.setflags(write=False)
        return GroundTruth(sources, targets, matrix, self.origin)


def load_ground_truth(path: str | Path, aliases: Mapping[str, str] | None = None, keep: Collection[str] | None = None) -> GroundTruth:
    """Read a ground-truth CSV; names are mapped through ``aliases`` before anything else.

    ``keep``: the model ids the caller needs (a zoo's); rows naming anything else (besides
    the pseudo-sources ``self``/``random``) are checked and counted but not stored, so a file
    with many rows for other models costs no memory. Errors name the file and line: missing
    file or header column, a short row, an empty name, a non-numeric or non-finite affinity, a
    pair given twice (also after aliasing), and a kept matrix above the cell limit.
    """
    path = Path(path)
    aliases = dict(aliases or {})
    text = read_text(path, "ground truth", CSV_BYTES, encoding="utf-8-sig", error=HarnessError)
    return _parse(path, text, aliases, None if keep is None else frozenset(keep) | PSEUDO_SOURCES)


def zoo_ground_truth(zoo: Zoo, path: str | Path) -> GroundTruth:
    """A ground truth read for ``zoo``: its aliases applied, only its models' pairs kept."""
    return load_ground_truth(path, dict(zoo.aliases), keep=[c.id for c in zoo.cards])


def _checked_rows(reader, path: Path):
    """csv rows; csv's own errors (a field above its size limit) become one line with the line number."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise HarnessError(f"{path}:{reader.line_num}: not a readable CSV row ({excerpt(str(exc), 80)}); "
                               "expected 'source,target,affinity'") from None
        yield row


def _parse(path: Path, text: str, aliases: Mapping[str, str], wanted: frozenset[str] | None) -> GroundTruth:
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = _checked_rows(reader, path)
    header = next(rows, None)
    if header is None:
        raise HarnessError(f"{path}:1: empty file; expected a header 'source,target,affinity'")
    header = [h.strip() for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise HarnessError(f"{path}:1: header lacks column(s) {', '.join(missing)}; expected 'source,target,affinity', got {excerpt(','.join(header)[:200])}")
    col = {c: header.index(c) for c in REQUIRED_COLUMNS}
    values: dict[tuple[str, str], float] = {}
    first_line: dict[tuple[str, str], int] = {}
    unused = 0
    for row in rows:
        line_no = reader.line_num  # physical line, right even after quoted multi-line fields
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) < len(header):
            raise HarnessError(f"{path}:{line_no}: expected {len(header)} fields, got {len(row)}")
        source, target, raw = (row[col[c]].strip() for c in REQUIRED_COLUMNS)
        if not source or not target:
            raise HarnessError(f"{path}:{line_no}: empty source or target name")
        if len(source) > NAME_CHARS or len(target) > NAME_CHARS:
            raise HarnessError(f"{path}:{line_no}: a model name longer than {NAME_CHARS} characters; use the models' ids")
        try:
            if len(raw) > 100:
                raise ValueError(raw)
            value = float(raw)
        except ValueError:
            raise HarnessError(f"{path}:{line_no}: affinity {excerpt(raw)} is not a number") from None
        if not math.isfinite(value):
            raise HarnessError(f"{path}:{line_no}: affinity {excerpt(raw)} is not finite")
        pair = (aliases.get(source, source), aliases.get(target, target))
        if wanted is not None and not (pair[0] in wanted and pair[1] in wanted):
            unused += 1
            continue
        if pair in values:
            raise HarnessError(f"{path}:{line_no}: pair {pair[0]} -> {pair[1]} already given on line {first_line[pair]}")
        values[pair] = value
        first_line[pair] = line_no
    if not values:
        about = f" for the models asked for ({unused} rows name other models)" if unused else " after the header"
        raise HarnessError(f"{path}: no ground-truth rows{about}")
    sources = tuple(dict.fromkeys(s for s, _ in values))
    targets = tuple(dict.fromkeys(t for _, t in values))
    GT_CELLS.check(len(sources) * len(targets), f"{path}: {len(sources)} sources x {len(targets)} targets",
                   "keep only the zoo's models in the ground truth")
    si = {s: i for i, s in enumerate(sources)}
    ti = {t: j for j, t in enumerate(targets)}
    matrix = np.full((len(sources), len(targets)), np.nan)
    for (s, t), v in values.items():
        matrix[si[s], ti[t]] = v
    matrix.setflags(write=False)
    return GroundTruth(sources, targets, matrix, str(path), unused)


def true_ranking(gt: GroundTruth, target: str, model_ids: Sequence[str]) -> list[str]:
    """The target itself first, then the other models by descending true affinity for it.

    Models without a measured affinity for this target are left out; ties keep
    ``model_ids`` order. This reproduces the seeds' ``sort_gt.csv`` rows.
    """
    others = [m for m in model_ids if m != target]
    vals = gt.submatrix(others, [target])[:, 0]
    known = [i for i in range(len(others)) if not math.isnan(vals[i])]
    known.sort(key=lambda i: -vals[i])  # stable: ties keep model order
    return [target] + [others[i] for i in known]
