"""Labelled estimators over a zoo: ``A[source, target]`` = score(source's features, target's labels).

Targets are the zoo models whose task has labels on the probe set; models sharing a task share
a column. Sources contribute their probe-layer features (and, for LEEP, class probabilities
where given). Estimators with a ``combine`` hook (NCTI) score a whole target column at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from harness.probing.artifacts import ModelArtifacts
from harness.common.cost import measured
from harness.estimators.base import stacked_features
from harness.estimators.labelled.base import LABELLED_ESTIMATORS, Features, LabelledEstimator, TargetLabels


def source_column(estimator: LabelledEstimator, features: Sequence[Features], target: TargetLabels,
                  probs: Sequence[np.ndarray | None]) -> np.ndarray:
    """Scores of every source for one target: per pair, or through ``combine`` across the sources (NCTI)."""
    if estimator.combine is None:
        return np.array([float(estimator.fn(f, target, p)) for f, p in zip(features, probs)])
    terms = np.array([np.asarray(estimator.terms(f, target, p), dtype=np.float64) for f, p in zip(features, probs)])
    return np.asarray(estimator.combine(terms), dtype=np.float64)


def _probs(estimator: LabelledEstimator, ids: Sequence[str], source_probs: Mapping[str, np.ndarray] | None) -> list:
    return [(source_probs or {}).get(i) if estimator.needs_source_probs else None for i in ids]


def labelled_affinities(
    artifacts: Sequence[ModelArtifacts],
    labels: Mapping[str, TargetLabels],
    names: Sequence[str],
    source_probs: Mapping[str, np.ndarray] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
    """({estimator: N x N matrix}, {estimator: {"seconds", "peak_mb"}}); the diagonal is left as computed."""
    features = [Features(f) for f in stacked_features(artifacts)]
    ids = [a.model_id for a in artifacts]
    tasks = [a.task for a in artifacts]
    matrices, costs = {}, {}
    for name in names:
        estimator = LABELLED_ESTIMATORS.get(name)
        matrix = np.full((len(ids), len(ids)), np.nan)
        with measured() as cost:
            columns = {task: source_column(estimator, features, labels[task], _probs(estimator, ids, source_probs))
                       for task in dict.fromkeys(tasks) if task in labels}
        for t, task in enumerate(tasks):
            if task in columns:
                matrix[:, t] = columns[task]
        matrices[name] = matrix
        costs[name] = cost.as_dict()
    return matrices, costs


def column_scores(artifacts: Sequence[ModelArtifacts], target: TargetLabels, names: Sequence[str],
                  source_probs: Mapping[str, np.ndarray] | None = None) -> dict[str, dict[str, float]]:
    """For one labelled target (``--labels``): {estimator: {source id: score}}."""
    features = [Features(f) for f in stacked_features(artifacts)]
    ids = [a.model_id for a in artifacts]
    out = {}
    for name in names:
        estimator = LABELLED_ESTIMATORS.get(name)
        column = source_column(estimator, features, target, _probs(estimator, ids, source_probs))
        out[name] = {i: float(v) for i, v in zip(ids, column)}
    return out
