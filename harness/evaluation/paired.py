"""Paired differences between two evaluations of the same targets, with bootstrap CIs.

"Does this estimator beat the static ranker?" is a paired question: both rank the same
targets, so the per-target difference is resampled (the same target draw for both sides,
as :func:`harness.evaluation.bootstrap.bootstrap_indices` gives for a fixed seed) instead of
comparing two overlapping marginal CIs, which would hide a consistent small win.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from harness.evaluation.bootstrap import bootstrap_indices, nanmean, percentile_ci

#: The statistics whose paired difference a report carries.
PAIRED_STATS = ("spearman", "weighted_tau")


def _per_target(evaluation: Mapping, key: str, targets: list[str]) -> np.ndarray:
    rows = evaluation.get("per_target") or {}
    return np.array([np.nan if (rows.get(t) or {}).get(key) is None else rows[t][key] for t in targets], dtype=np.float64)


def paired_difference(evaluation: Mapping, baseline: Mapping, baseline_name: str, *, n_boot: int, seed: int,
                      confidence: float = 0.95) -> dict[str, Any]:
    """``evaluation - baseline`` per target, averaged, with a paired percentile CI.

    ``beats`` is True when the Spearman difference's CI lies above 0, False otherwise (a CI
    reaching 0 is "not shown to beat"), None when undefined.
    """
    targets = [t for t in evaluation.get("targets", []) if t in (baseline.get("per_target") or {})]
    idx = bootstrap_indices(len(targets), n_boot, seed)
    out: dict[str, Any] = {"baseline": baseline_name, "n_targets": len(targets)}
    for key in PAIRED_STATS:
        diff = _per_target(evaluation, key, targets) - _per_target(baseline, key, targets)
        mean = nanmean(diff) if len(diff) else float("nan")
        out[f"{key}_diff"] = None if np.isnan(mean) else mean
        out[f"{key}_diff_ci"] = percentile_ci(diff, idx, confidence) if len(diff) else None
    ci = out["spearman_diff_ci"]
    out["beats"] = None if out["spearman_diff"] is None else bool(ci and ci[0] > 0)
    return out


def best_baseline(baselines: Mapping[str, Mapping]) -> str | None:
    """The static ranker with the highest mean Spearman (the one an estimator must beat)."""
    defined = {name: e["spearman"] for name, e in baselines.items() if e.get("spearman") is not None}
    return max(defined, key=defined.__getitem__) if defined else None
