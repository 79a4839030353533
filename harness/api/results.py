"""Typed views of a report document, for notebooks.

A :class:`Result` is built from the report exactly as ``report.json`` holds it (JSON types,
the same rounding), so what a notebook reads and what the written file says never differ.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness.common.errors import HarnessError, excerpt
from harness.common.format import num, with_ci
from harness.common.registry import suggest
from harness.estimators.base import Affinity
from harness.report.document import dumps

__all__ = ["Affinity", "EvaluationRow", "Result", "result_from_report"]


@dataclass(frozen=True)
class EvaluationRow:
    """One estimator (or static ranker) against the ground truth: means over targets, 95% CIs.

    ``vs_static_*`` is the paired difference to the best static ranker (None for the static
    rankers themselves); ``beats_static`` is True when that Spearman difference's CI lies above 0.
    """

    name: str
    kind: str  # "estimator" or "static"
    spearman: float | None
    spearman_ci: tuple[float, float] | None
    kendall: float | None
    weighted_tau: float | None
    weighted_tau_ci: tuple[float, float] | None
    pearson: float | None
    p_at_1: float | None
    p_at_5: float | None
    p_at_5_ci: tuple[float, float] | None
    rel_at_1: float | None
    per_source_spearman: float | None
    n_models: int
    n_targets: int
    vs_static_baseline: str | None = None
    vs_static_spearman: float | None = None
    vs_static_spearman_ci: tuple[float, float] | None = None
    beats_static: bool | None = None


def _ci(value: Any) -> tuple[float, float] | None:
    return (float(value[0]), float(value[1])) if isinstance(value, (list, tuple)) and len(value) == 2 and None not in value else None


def _row(name: str, kind: str, e: Mapping[str, Any]) -> EvaluationRow:
    vs = e.get("vs_static") or {}
    return EvaluationRow(
        name=name, kind=kind, spearman=e.get("spearman"), spearman_ci=_ci(e.get("spearman_ci")), kendall=e.get("kendall"),
        weighted_tau=e.get("weighted_tau"), weighted_tau_ci=_ci(e.get("weighted_tau_ci")), pearson=e.get("pearson"),
        p_at_1=e.get("p_at_1"), p_at_5=e.get("p_at_5"), p_at_5_ci=_ci(e.get("p_at_5_ci")), rel_at_1=e.get("rel_at_1"),
        per_source_spearman=e.get("per_source_spearman"), n_models=int(e.get("n_models") or 0), n_targets=int(e.get("n_targets") or 0),
        vs_static_baseline=vs.get("baseline"), vs_static_spearman=vs.get("spearman_diff"),
        vs_static_spearman_ci=_ci(vs.get("spearman_diff_ci")), beats_static=vs.get("beats"),
    )


@dataclass(frozen=True)
class Result:
    """What a run (or an evaluation of given matrices) produced.

    ``affinities``: estimator -> :class:`Affinity` (``matrix[source, target]`` over ``model_ids``).
    ``evaluation``: one row per estimator, then the static rankers (empty without ground truth).
    ``report``: the report document as report.json holds it. ``paths``: the files written (none
    when no output folder was given).
    """

    affinities: dict[str, Affinity]
    evaluation: tuple[EvaluationRow, ...]
    report: dict[str, Any] = field(repr=False)
    paths: tuple[Path, ...] = ()

    @property
    def model_ids(self) -> list[str]:
        return [m["id"] for m in self.report.get("models", [])]

    def row(self, estimator: str) -> EvaluationRow:
        """The evaluation row of one estimator or static ranker."""
        for row in self.evaluation:
            if row.name == estimator:
                return row
        raise HarnessError(f"no evaluation for {excerpt(estimator)}; {suggest(estimator, [r.name for r in self.evaluation])}")

    def ranking(self, estimator: str, target: str) -> list[str]:
        """Source models for ``target``, best first, as ``estimator`` ranks them (the report's rankings)."""
        rankings = self.report.get("rankings", {})
        if estimator not in rankings:
            raise HarnessError(f"no estimator {excerpt(estimator)} in this result; {suggest(estimator, list(rankings))}")
        by_target = rankings[estimator]
        if target not in by_target:
            raise HarnessError(f"no target model {excerpt(target)} in this result; {suggest(target, list(by_target))}")
        return list(by_target[target])

    def table(self) -> str:
        """The evaluation as a plain-text table (what ``harness run`` prints, without colour)."""
        if not self.evaluation:
            return "(no ground truth: nothing evaluated)"
        header = ("estimator", "P@1", "P@5", "mean Spearman [95% CI]", "weighted τ", "Δ vs static [95% CI]")
        rows = [header] + [
            (r.name, num(r.p_at_1), num(r.p_at_5), with_ci(r.spearman, r.spearman_ci), num(r.weighted_tau),
             with_ci(r.vs_static_spearman, r.vs_static_spearman_ci) if r.vs_static_baseline else "–")
            for r in self.evaluation
        ]
        widths = [max(len(str(row[i])) for row in rows) for i in range(len(header))]
        lines = ["  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths))) for row in rows]
        return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:]])


def as_json(report: Mapping[str, Any]) -> dict[str, Any]:
    """The report as report.json holds it: numpy arrays to lists, NaN to None, the file's rounding."""
    return json.loads(dumps(dict(report)))


def result_from_report(report: Mapping[str, Any], paths: tuple[Path, ...] = ()) -> Result:
    """A :class:`Result` from a report document (JSON types, e.g. from ``load_report``)."""
    affinities = {}
    for name, est in report.get("estimators", {}).items():
        matrix = np.array([[np.nan if v is None else v for v in row] for row in est["affinity"]], dtype=np.float64)
        matrix.setflags(write=False)
        affinities[name] = Affinity(name, tuple(est["models"]), matrix)
    rows = [_row(name, "estimator", e) for name, e in (report.get("evaluation") or {}).items()]
    rows += [_row(name, "static", e) for name, e in (report.get("static_baselines") or {}).items()]
    return Result(affinities, tuple(rows), dict(report), tuple(paths))
