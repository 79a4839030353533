"""The one evaluation path: several estimators' affinities + the static baselines, against one ground truth.

``harness run`` (estimates from probing) and ``harness evaluate`` (estimates computed
elsewhere) both call :func:`evaluate_suite`, so a matrix gets the same metrics, CIs, static
baselines and paired differences whichever way it arrived.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from harness.evaluation.ground_truth import GroundTruth
from harness.evaluation.metrics import evaluate
from harness.evaluation.paired import best_baseline, paired_difference
from harness.evaluation.static import DESCRIPTIONS, static_rankers


def evaluate_suite(affinities: Mapping[str, np.ndarray], model_ids: Sequence[str], gt: GroundTruth, *,
                   sizes: Mapping[str, float] | None = None, n_boot: int = 1000, seed: int = 0) -> tuple[dict, dict]:
    """``({estimator: evaluation with "vs_static"}, {static ranker: evaluation with "description"})``.

    Every estimator's ``vs_static`` is its paired difference to the best static ranker (the
    one with the highest mean Spearman), so a reader sees at once whether it earns its cost.
    """
    ids = list(model_ids)
    evaluation = {name: evaluate(matrix, ids, gt, n_boot=n_boot, seed=seed) for name, matrix in affinities.items()}
    baselines: dict[str, dict[str, Any]] = {}
    for name, matrix in static_rankers(ids, gt, sizes).items():
        result = evaluate(matrix, ids, gt, n_boot=n_boot, seed=seed)
        # A static ranker scores a source the same for every target (or, for the prior, by
        # construction against its own row): a per-source correlation says nothing about it.
        result.update({key: None for key in result if key.startswith("per_source_")}, per_source={})
        baselines[name] = {"description": DESCRIPTIONS[name], **result}
    best = best_baseline(baselines)
    if best is not None:
        for result in evaluation.values():
            result["vs_static"] = paired_difference(result, baselines[best], best, n_boot=n_boot, seed=seed)
    return evaluation, baselines
