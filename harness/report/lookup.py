"""Lookups the report renderers share: true ranks by model id, the one model order of all heatmaps."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def true_ranks(report: Mapping, estimator: str, target: str) -> dict[str, int | None]:
    """source id -> its true rank for ``target``, matched by id (not by position).

    The report's ranking covers every zoo model; the evaluation ranks only the models the
    ground truth knows. Matching by position put every label after a missing model on the
    wrong source; a source absent here has no ground truth.
    """
    row = (((report.get("evaluation") or {}).get(estimator) or {}).get("per_target") or {}).get(target) or {}
    return dict(zip(row.get("estimated_ranking") or [], row.get("true_rank_of_estimated_sources") or []))


def models_without_truth(report: Mapping) -> list[str]:
    """Zoo models the evaluation left out because the ground truth does not name them."""
    gt = report.get("ground_truth") or {}
    if gt.get("missing_models") is not None:
        return list(gt["missing_models"])
    evaluation = report.get("evaluation") or {}
    if not evaluation:
        return []
    evaluated = set(next(iter(evaluation.values())).get("models") or [])
    return [m["id"] for m in report["models"] if m["id"] not in evaluated]


def model_order(report: Mapping) -> tuple[list[str], str]:
    """One order for every heatmap and gallery, and what it is.

    The ground truth's task-tree leaf order when there is one (models it lacks appended at
    the end), else the first estimator's tree order, else the zoo order.
    """
    ids = [m["id"] for m in report["models"]]
    gt = report.get("ground_truth") or {}
    if gt.get("tree_leaf_order"):
        order = [m for m in gt["tree_leaf_order"] if m in ids]
        return order + [m for m in ids if m not in order], "ground-truth task-tree order"
    trees = report.get("tree_leaf_order") or {}
    for name in report.get("estimators", {}):
        if trees.get(name):
            order = [m for m in trees[name] if m in ids]
            return order + [m for m in ids if m not in order], f"task-tree order of {name} (no ground truth)"
    return ids, "zoo order"


def filled_for_tree(matrix: np.ndarray) -> np.ndarray:
    """A ground truth with its unmeasured pairs set to the mean of the measured ones.

    Only for the task tree, which needs every entry: a column nobody measured (a model that
    is a source only) becomes a constant and does not change any distance between rows.
    """
    m = np.asarray(matrix, dtype=np.float64)
    return np.where(np.isfinite(m), m, np.nanmean(m)) if np.isfinite(m).any() else m
