"""What changed between two reports: models, affinities, rankings, accuracy against ground truth.

Everything is computed on the models both reports have (by id; a model whose card hash
changed is included and listed as changed), so that adding models to a zoo does not by
itself count as a change in the shared models' affinities or rankings.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.stats import kendalltau, pearsonr

from harness.estimators.base import rank_sources
from harness.evaluation.bootstrap import bootstrap_indices, nanmean, percentile_ci
from harness.common.errors import HarnessError
from harness.evaluation import GroundTruth, evaluate
from harness.evaluation.correlations import rank_correlations

#: Per-target statistics of report["evaluation"][est]["per_target"] compared with paired CIs.
GT_METRICS = ("p_at_1", "p_at_5", "spearman", "weighted_tau", "pearson", "rel_at_1")
TOP = 5


def _num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def match_models(a: Mapping, b: Mapping) -> dict[str, list[str]]:
    """added / removed / changed (same id, different card hash) / unchanged, sorted by id."""
    ca, cb = a["zoo"]["cards"], b["zoo"]["cards"]
    return {
        "added": sorted(set(cb) - set(ca)),
        "removed": sorted(set(ca) - set(cb)),
        "changed": sorted(m for m in set(ca) & set(cb) if ca[m] != cb[m]),
        "unchanged": sorted(m for m in set(ca) & set(cb) if ca[m] == cb[m]),
    }


def submatrix(est: Mapping, ids: Sequence[str]) -> np.ndarray:
    index = [est["models"].index(m) for m in ids]
    matrix = np.array([[np.nan if v is None else v for v in row] for row in est["affinity"]], dtype=np.float64)
    return matrix[np.ix_(index, index)]


def affinity_correlation(ma: np.ndarray, mb: np.ndarray) -> dict[str, Any]:
    """Pearson and Spearman over the off-diagonal entries finite in both (the diagonal is a constant)."""
    off = ~np.eye(len(ma), dtype=bool)
    x, y = ma[off], mb[off]
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    pearson = float(pearsonr(x, y)[0]) if x.size >= 2 and np.ptp(x) > 0 and np.ptp(y) > 0 else math.nan
    spearman, kendall = rank_correlations(x, y)
    return {"pearson": _num(pearson), "spearman": _num(spearman), "kendall": _num(kendall), "n_pairs": int(x.size)}


def ranking_changes(ma: np.ndarray, mb: np.ndarray, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per target: Kendall tau between the two source rankings, top-5 overlap, who moved."""
    ra, rb = rank_sources(ma, ids), rank_sources(mb, ids)
    out = {}
    for target in ids:
        a, b = ra[target], rb[target]
        pos_b = {s: i for i, s in enumerate(b)}
        tau = kendalltau(range(len(a)), [pos_b[s] for s in a])[0] if len(a) >= 2 else math.nan
        top = min(TOP, len(a))
        moved = sorted(({"source": s, "rank_a": i + 1, "rank_b": pos_b[s] + 1, "shift": pos_b[s] - i} for i, s in enumerate(a)),
                       key=lambda m: (-abs(m["shift"]), m["rank_a"]))
        out[target] = {
            "kendall": _num(float(tau)),
            "top5_overlap": len(set(a[:top]) & set(b[:top])) / top if top else None,
            "top_a": a[:top], "top_b": b[:top],
            "moved": [m for m in moved if m["shift"] != 0][:3],
        }
    return out


def report_ground_truth(report: Mapping, ev: Mapping) -> GroundTruth:
    """The ground truth a report was evaluated against, rebuilt from report.json.

    Reports store the truth on their models (``ground_truth.affinity``). Older reports only
    hold each target's true ranking; then a source's truth is minus its rank position (the
    target itself first), which keeps the order (ties in the truth then count as ordered).
    """
    gt = report.get("ground_truth") or {}
    if gt.get("affinity") is not None and gt.get("models"):
        matrix = np.array([[np.nan if v is None else v for v in row] for row in gt["affinity"]], dtype=np.float64)
        return GroundTruth(tuple(gt["models"]), tuple(gt["models"]), matrix, "report.json ground_truth")
    models = list(ev.get("models") or [])
    targets = [t for t in models if t in ev["per_target"]]
    matrix = np.full((len(models), len(targets)), np.nan)
    for j, target in enumerate(targets):
        order = [target, *ev["per_target"][target].get("true_ranking", [])]
        for pos, source in enumerate(order):
            if source in models:
                matrix[models.index(source), j] = -float(pos)
    return GroundTruth(tuple(models), tuple(targets), matrix, "report.json true rankings")


def restricted_per_target(report: Mapping, name: str, shared: Sequence[str]) -> dict[str, dict[str, float]]:
    """P@1, P@5 and Spearman per target on the ``shared`` models only, computed by
    :func:`harness.evaluation.evaluate` (the code path of ``harness run``) on the report's
    own ground truth: same ties, same conventions."""
    ev = report["evaluation"][name]
    matrix = submatrix(report["estimators"][name], shared)
    truth = report_ground_truth(report, ev)
    try:
        rows = evaluate(matrix, list(shared), truth, relevant=int(ev.get("relevant", 5)), n_boot=1)["per_target"]
    except HarnessError:  # fewer than 2 shared models in the truth, or no target left: nothing to compare
        return {}
    return {t: {k: r.get(k) for k in GT_METRICS} for t, r in rows.items()}


def ground_truth_deltas(pa: Mapping, pb: Mapping, n_boot: int, seed: int, basis: str) -> dict[str, Any]:
    """Mean per-target change (b - a) of P@1, P@5 and Spearman over the targets both evaluated,
    with a paired percentile bootstrap over those targets (one draw shared by all metrics)."""
    targets = [t for t in pa if t in pb]
    idx = bootstrap_indices(len(targets), n_boot, seed)
    metrics = {}
    for key in GT_METRICS:
        va = np.array([_nan(pa[t].get(key)) for t in targets], dtype=np.float64)
        vb = np.array([_nan(pb[t].get(key)) for t in targets], dtype=np.float64)
        diff = vb - va
        ci = percentile_ci(diff, idx) if targets else None
        metrics[key] = {"a": _num(nanmean(va)), "b": _num(nanmean(vb)), "delta": _num(nanmean(diff)), "ci": ci,
                        "significant": bool(ci is not None and (ci[0] > 0 or ci[1] < 0))}
    return {"targets": targets, "n_targets": len(targets), "basis": basis, "metrics": metrics}


def _nan(value: Any) -> float:
    return math.nan if value is None else float(value)


def as_reported(evaluation: Mapping | None) -> dict[str, Any] | None:
    """A report's own headline numbers (on all of its models), for the users who quote them."""
    if not evaluation:
        return None
    return {k: evaluation.get(k) for k in ("p_at_1", "p_at_5", "spearman", "n_models", "n_targets")}


def added_in_top5(b: Mapping, name: str, shared: Sequence[str], added: Sequence[str]) -> dict[str, list[str]]:
    """For shared targets: the models new in B that B's ranking puts in the target's top 5.

    Adding models cannot change the pairwise affinities of the others, so this is where a
    new zoo version changes the advice a user gets.
    """
    new = set(added)
    rankings = b["rankings"].get(name, {})
    found = {t: [s for s in rankings.get(t, [])[:5] if s in new] for t in shared}
    return {t: sources for t, sources in found.items() if sources}


def compare_estimator(name: str, a: Mapping, b: Mapping, n_boot: int, seed: int) -> dict[str, Any] | None:
    """One estimator both reports ran; None when they share fewer than two models."""
    ea, eb = a["estimators"][name], b["estimators"][name]
    shared = [m for m in ea["models"] if m in set(eb["models"])]
    if len(shared) < 2:
        return None
    ma, mb = submatrix(ea, shared), submatrix(eb, shared)
    per_target = ranking_changes(ma, mb, shared)
    kendalls = np.array([_nan(p["kendall"]) for p in per_target.values()])
    overlaps = np.array([_nan(p["top5_overlap"]) for p in per_target.values()])
    moved = sorted(({"target": t, **m} for t, p in per_target.items() for m in p["moved"]),
                   key=lambda m: (-abs(m["shift"]), m["target"], m["rank_a"]))
    out = {
        "shared_models": shared,
        "affinity": affinity_correlation(ma, mb),
        "max_abs_affinity_change": _num(float(np.nanmax(np.abs(mb - ma)))) if ma.size else None,
        "mean_kendall": _num(nanmean(kendalls)),
        "mean_top5_overlap": _num(nanmean(overlaps)),
        "most_moved": moved[:TOP],
        "per_target": per_target,
        "ground_truth": None,
        "as_reported": {"a": as_reported(a["evaluation"].get(name)), "b": as_reported(b["evaluation"].get(name))},
        "added_in_top5": added_in_top5(b, name, shared, match_models(a, b)["added"]),
    }
    eva, evb = a["evaluation"].get(name), b["evaluation"].get(name)
    if eva and evb:
        in_a, in_b = set(eva.get("models", shared)), set(evb.get("models", shared))
        common = [m for m in shared if m in in_a and m in in_b]  # shared models that both evaluations scored
        if in_a == in_b == set(common):  # same models: the reports' own per-target values
            pa, pb, basis = eva["per_target"], evb["per_target"], "reported per-target values"
        else:  # different model sets: a fair comparison re-scores both on the common models, with run's evaluation
            pa, pb = restricted_per_target(a, name, common), restricted_per_target(b, name, common)
            basis = f"recomputed on the {len(common)} shared models"
        out["ground_truth"] = ground_truth_deltas(pa, pb, n_boot, seed, basis)
    return out


def compare_reports(a: Mapping, b: Mapping, *, n_boot: int = 2000, seed: int = 0) -> dict[str, Any]:
    """The whole comparison as plain JSON types (compare.json)."""
    names_a, names_b = list(a["estimators"]), list(b["estimators"])
    shared = [n for n in names_a if n in names_b]
    estimators = {n: compare_estimator(n, a, b, n_boot, seed) for n in shared}
    return {
        "models": match_models(a, b),
        "estimators": {n: e for n, e in estimators.items() if e is not None},
        "too_few_shared_models": [n for n, e in estimators.items() if e is None],
        "only_in_a": [n for n in names_a if n not in names_b],
        "only_in_b": [n for n in names_b if n not in names_a],
        "n_boot": n_boot, "seed": seed,
    }
