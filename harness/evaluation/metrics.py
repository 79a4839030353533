"""Estimated affinities vs ground truth: P@K / R@K (the seeds' protocol), rank correlations, CIs.

Protocol (DESIGN 4.2): models = the estimated models that appear in the ground truth (N of
them); targets = those models that are ground-truth targets with at least one measured
source among the others. For a target, relevant sources = its ground-truth ranks 1..5 (the
target itself excluded); the estimator's ranking skips the target; K = 1..N-1. P@K for one
target = |top-K ∩ relevant| / K, so the seeds' P@K = mean over targets and the bootstrap
can resample targets.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from harness.common.errors import HarnessError
from harness.estimators.base import rank_sources
from harness.evaluation.bootstrap import bootstrap_indices, nanmean, percentile_ci
from harness.evaluation.correlations import TOP_N, best_in_top, pearson, rank_correlations, relative_top1, weighted_tau
from harness.evaluation.ground_truth import PSEUDO_SOURCES, GroundTruth, true_ranking
from harness.runtime.cache import derived


def _num(x: float) -> float | None:
    """JSON-safe float: NaN (undefined) becomes None."""
    return None if x is None or math.isnan(x) else float(x)


def _column_means(per_target: np.ndarray) -> list[float]:
    """Mean over targets (rows) with math.fsum: exact-looking baselines (0.2, not 0.20000000000000007)."""
    return [math.fsum(col) / len(col) for col in np.asarray(per_target, dtype=np.float64).T]


#: Per-target statistics, each averaged over targets with a bootstrap CI (key, key_ci). The
#: first four are the seeds'; the rest are the field's (see :mod:`harness.evaluation.correlations`).
PER_TARGET_STATS = ("spearman", "kendall", "p_at_1", "p_at_5", "weighted_tau", "pearson", "rel_at_1",
                    *(f"best_in_top_{n}" for n in TOP_N))
#: Per-source statistics (a source's scores across targets against its measured transfer).
PER_SOURCE_STATS = ("spearman", "weighted_tau", "pearson")


def _column_metrics(estimated: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """The correlation-type metrics of one target's candidates."""
    rho, tau = rank_correlations(estimated, true)
    return {"spearman": rho, "kendall": tau, "weighted_tau": weighted_tau(estimated, true), "pearson": pearson(estimated, true),
            "rel_at_1": relative_top1(estimated, true),
            **{f"best_in_top_{n}": best_in_top(estimated, true, n) for n in TOP_N}}


def _per_source(est: np.ndarray, truth: np.ndarray, models: list[str], targets: list[str], *, n_boot: int, seed: int,
                confidence: float) -> dict[str, Any]:
    """Per-source correlations (the Taskonomy literature's second view): for each source, its
    estimated affinities to the evaluated targets (itself excluded) against the measured ones.

    Only meaningful when an estimator's scores are comparable across targets; a per-target
    normalised estimator (LogME per task, say) can rank every column right and every row wrong.
    """
    cols = [models.index(t) for t in targets]
    rows: dict[str, dict[str, float | None]] = {}
    stats: dict[str, list[float]] = {key: [] for key in PER_SOURCE_STATS}
    for i, source in enumerate(models):
        keep = [j for j in cols if j != i]
        x, y = est[i, keep], truth[i, keep]
        if np.isfinite(y).sum() < 2:
            continue
        rho, _ = rank_correlations(x, y)
        values = {"spearman": rho, "weighted_tau": weighted_tau(x, y), "pearson": pearson(x, y)}
        rows[source] = {key: _num(values[key]) for key in PER_SOURCE_STATS}
        for key in PER_SOURCE_STATS:
            stats[key].append(values[key])
    out: dict[str, Any] = {"n_sources": len(rows), "per_source": rows}
    idx = bootstrap_indices(len(rows), n_boot, seed)
    for key in PER_SOURCE_STATS:
        values = np.array(stats[key], dtype=np.float64)
        out[f"per_source_{key}"] = _num(nanmean(values)) if len(values) else None
        out[f"per_source_{key}_ci"] = percentile_ci(values, idx, confidence) if len(values) else None
    return out


def _models_in_truth(affinity: np.ndarray, model_ids: Sequence[str], gt: GroundTruth) -> tuple[list[str], np.ndarray]:
    ids = list(model_ids)
    a = np.asarray(affinity, dtype=np.float64)
    if a.shape != (len(ids), len(ids)):
        raise HarnessError(f"affinity matrix has shape {a.shape}, expected ({len(ids)}, {len(ids)}) for {len(ids)} model ids")
    if len(set(ids)) != len(ids):
        raise HarnessError(f"model ids are not unique: {sorted({i for i in ids if ids.count(i) > 1})}")
    known = set(gt.sources) | set(gt.targets)
    keep = [i for i, m in enumerate(ids) if m in known]
    models = [ids[i] for i in keep]
    if len(models) < 2:
        raise HarnessError(
            f"ground truth {gt.origin}: only {len(models)} of the {len(ids)} estimated models appear in it; "
            "at least 2 are needed (check the names or the aliases)"
        )
    return models, a[np.ix_(keep, keep)]


def evaluate(affinity: np.ndarray, model_ids: list[str], gt: GroundTruth, *, relevant: int = 5,
             n_boot: int = 1000, seed: int = 0, confidence: float = 0.95) -> dict[str, Any]:
    """Score ``affinity[source, target]`` against ``gt``; plain JSON types, None = undefined.

    Only the models in the ground truth count, so adding a model without measured transfer
    leaves the evaluation unchanged: inside :func:`harness.runtime.cache.derived.derived_results_in`
    a result computed before from bit-identical inputs is read back instead of recomputed
    (measured on the default zoo: 0.35 s of an incremental rerun).
    """
    if relevant < 1:
        raise HarnessError(f"relevant must be >= 1, got {relevant}")
    models, est = _models_in_truth(affinity, model_ids, gt)
    if not derived.kept():
        return _evaluate(models, est, gt, relevant, n_boot, seed, confidence)
    key = derived.content_key(derived.code_digest("harness.evaluation"), derived.code_digest("harness.estimators"),
                              models, est, list(gt.sources), list(gt.targets), gt.matrix, gt.origin,
                              relevant, n_boot, seed, confidence)
    stored = derived.load("evaluations", key)
    if stored is not None:
        try:
            return json.loads(stored)
        except ValueError:
            pass
    result = _evaluate(models, est, gt, relevant, n_boot, seed, confidence)
    derived.store("evaluations", key, json.dumps(result).encode())
    return result


def _evaluate(models: list[str], est: np.ndarray, gt: GroundTruth, relevant: int, n_boot: int, seed: int,
              confidence: float) -> dict[str, Any]:
    truth = gt.submatrix(models, models)
    n, kmax = len(models), len(models) - 1
    est_rank = rank_sources(est, models)
    ks = np.arange(1, kmax + 1)

    rows: dict[str, dict[str, Any]] = {}
    hits, n_rel = [], []
    per_target: dict[str, list[float]] = {key: [] for key in PER_TARGET_STATS}
    for j, target in enumerate(models):
        if target not in gt.targets:
            continue
        true_order = true_ranking(gt, target, models)[1:]
        if not true_order:
            continue
        rel = set(true_order[:relevant])
        ranked = est_rank[target]
        h = np.cumsum([s in rel for s in ranked])  # h[K-1] = |top-K ∩ relevant|
        others = np.arange(n) != j
        values = {"p_at_1": float(h[0]), "p_at_5": float(h[min(5, kmax) - 1]) / 5.0,  # top-5 of a shorter list = the whole list
                  **_column_metrics(est[others, j], truth[others, j])}
        true_rank = {s: r + 1 for r, s in enumerate(true_order)}
        hits.append(h)
        n_rel.append(len(rel))
        for key in PER_TARGET_STATS:
            per_target[key].append(values[key])
        rows[target] = {
            **{key: _num(values[key]) for key in PER_TARGET_STATS},
            "estimated_ranking": ranked, "true_ranking": true_order, "relevant_sources": true_order[:relevant],
            "true_rank_of_estimated_sources": [true_rank.get(s) for s in ranked],
        }
    if not rows:
        raise HarnessError(f"ground truth {gt.origin}: none of the models {models} is a target with measured sources")

    hits_a, rel_a = np.array(hits, dtype=np.float64), np.array(n_rel, dtype=np.float64)[:, None]
    idx = bootstrap_indices(len(rows), n_boot, seed)
    out: dict[str, Any] = {
        "models": models, "targets": list(rows), "n_models": n, "n_targets": len(rows), "relevant": relevant,
        "k": ks.tolist(),
        "p_at_k": _column_means(hits_a / ks),
        "r_at_k": _column_means(hits_a / rel_a),
        "random_p_at_k": _column_means(np.broadcast_to(rel_a / kmax, hits_a.shape)),
        "random_r_at_k": (ks / kmax).tolist(),
        "oracle_p_at_k": _column_means(np.minimum(ks, rel_a) / ks),
        "oracle_r_at_k": _column_means(np.minimum(ks, rel_a) / rel_a),
        "n_boot": n_boot, "seed": seed, "confidence": confidence,
    }
    for key in PER_TARGET_STATS:
        values = np.array(per_target[key], dtype=np.float64)
        out[key] = _num(nanmean(values))
        out[f"{key}_ci"] = percentile_ci(values, idx, confidence)
    out.update(_per_source(est, truth, models, list(rows), n_boot=n_boot, seed=seed, confidence=confidence))
    out["per_target"] = rows
    return out


def agreement(gt_a: GroundTruth, gt_b: GroundTruth, *, model_ids: Sequence[str] | None = None,
              relevant: int = 5, n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
    """How well one measurement of the ground truth predicts another: ``gt_a`` scored as an
    estimator against ``gt_b`` (same keys as :func:`evaluate`); the "ceiling" an estimator can
    hope to reach. When both measure the same pairs, Spearman/Kendall and P@5 (top-5 overlap
    / 5) are symmetric in a and b. ``model_ids`` defaults to the names in both files minus the
    pseudo-sources (``self``, ``random``); pass the zoo's ids to be explicit."""
    if model_ids is None:
        in_b = set(gt_b.ids)
        model_ids = [m for m in gt_a.ids if m in in_b and m not in PSEUDO_SOURCES]
    models = list(model_ids)
    return evaluate(gt_a.submatrix(models, models), models, gt_b, relevant=relevant, n_boot=n_boot, seed=seed)
