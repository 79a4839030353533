"""Evaluation of estimated affinities against a ground truth, and the task similarity tree."""

from __future__ import annotations

from harness.evaluation.ground_truth import (
    PSEUDO_SOURCES,
    TASKONOMY_ALIASES,
    TASKONOMY_ORDER,
    GroundTruth,
    load_ground_truth,
    true_ranking,
    zoo_ground_truth,
)
from harness.evaluation.correlations import rank_correlations
from harness.evaluation.metrics import agreement, evaluate
from harness.evaluation.tree import TaskTree, task_tree

__all__ = [
    "PSEUDO_SOURCES", "TASKONOMY_ALIASES", "TASKONOMY_ORDER", "GroundTruth", "TaskTree", "agreement",
    "evaluate", "load_ground_truth", "rank_correlations", "task_tree", "true_ranking", "zoo_ground_truth",
]
