""""Which estimator should I trust on this zoo?", answered from the evaluation's numbers.

The headline metric is the mean per-target Spearman correlation with the ground truth
(the peers' table metric); estimators are ordered by it, and the 95% bootstrap CIs decide
what can be told apart: an estimator whose CI overlaps the best one's is not shown to be
worse, and one whose CI reaches 0 is not shown to beat a random ranking. A static ranker
(see :mod:`harness.evaluation.static`) sets the bar an estimator must clear to earn its cost:
an estimator whose paired Spearman difference to the best static ranker has a CI reaching 0
is named as not shown to beat it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Verdict:
    ranked: list[str]  # estimators by mean Spearman, best first (undefined values last)
    best: str | None
    tied_with_best: list[str]  # CI overlaps the best one's
    not_above_random: list[str]  # CI includes 0 (or no CI and value <= 0)
    static: str | None = None  # the best static ranker, when there is one
    not_above_static: list[str] = field(default_factory=list)  # paired difference to it not shown > 0


def _overlap(a: list[float] | None, b: list[float] | None) -> bool:
    return bool(a and b and a[0] <= b[1] and b[0] <= a[1])


def verdict(evaluation: Mapping[str, Mapping]) -> Verdict:
    def key(name: str) -> float:
        value = evaluation[name].get("spearman")
        return -value if value is not None else float("inf")

    ranked = sorted(evaluation, key=key)
    best = ranked[0] if ranked and evaluation[ranked[0]].get("spearman") is not None else None
    best_ci = evaluation[best].get("spearman_ci") if best else None
    tied = [n for n in ranked[1:] if best and _overlap(evaluation[n].get("spearman_ci"), best_ci)]
    weak = []
    for name in ranked:
        value, ci = evaluation[name].get("spearman"), evaluation[name].get("spearman_ci")
        if value is None or (ci and ci[0] <= 0) or (not ci and value <= 0):
            weak.append(name)
    static = next((e["vs_static"]["baseline"] for e in evaluation.values() if e.get("vs_static")), None)
    below = [n for n in ranked if (evaluation[n].get("vs_static") or {}).get("beats") is not True and evaluation[n].get("vs_static")]
    return Verdict(ranked, best, tied, weak, static, below)


def verdict_line(evaluation: Mapping[str, Mapping], where: str = "on this zoo") -> str:
    """The summary's answer in one line (terminal, report.md): which estimator to trust on this zoo."""
    v = verdict(evaluation)
    if v.best is None:
        return "No estimator has a defined mean Spearman against the ground truth."
    tied = f"; not distinguishable from it (95% CIs overlap): {', '.join(v.tied_with_best)}" if v.tied_with_best else ""
    weak = f"; not shown to beat a random ranking (CI reaches 0): {', '.join(v.not_above_random)}" if v.not_above_random else ""
    static = (f"; not shown to beat the static ranker {v.static} (paired CI of the Spearman difference reaches 0): "
              f"{', '.join(v.not_above_static)}") if v.not_above_static else ""
    return f"Trust {v.best} most {where} (highest mean Spearman with the ground truth){tied}{weak}{static}."
