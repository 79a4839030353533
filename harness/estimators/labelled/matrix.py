"""Labelled estimators over a zoo: ``A[source, target]`` = score(source's features, target's labels).

Targets are the zoo models whose task has labels on the probe set; models sharing a task share
a column. Sources contribute their probe-layer features (and, for LEEP, class probabilities
where given).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import numpy as np

from harness.probing.artifacts import ModelArtifacts
from harness.estimators.base import stacked_features
from harness.estimators.labelled.base import LABELLED_ESTIMATORS, Features, TargetLabels


def labelled_affinities(
    artifacts: Sequence[ModelArtifacts],
    labels: Mapping[str, TargetLabels],
    names: Sequence[str],
    source_probs: Mapping[str, np.ndarray] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """({estimator: N x N matrix}, {estimator: seconds}); the diagonal is left as computed."""
    features = [Features(f) for f in stacked_features(artifacts)]
    ids = [a.model_id for a in artifacts]
    tasks = [a.task for a in artifacts]
    matrices, seconds = {}, {}
    for name in names:
        estimator = LABELLED_ESTIMATORS.get(name)
        tick = time.perf_counter()
        matrix = np.full((len(ids), len(ids)), np.nan)
        by_task: dict[tuple[int, str], float] = {}
        for s, feats in enumerate(features):
            probs = (source_probs or {}).get(ids[s]) if estimator.needs_source_probs else None
            for t, task in enumerate(tasks):
                if task not in labels:
                    continue
                key = (s, task)
                if key not in by_task:
                    by_task[key] = float(estimator.fn(feats, labels[task], probs))
                matrix[s, t] = by_task[key]
        matrices[name] = matrix
        seconds[name] = time.perf_counter() - tick
    return matrices, seconds


def column_scores(artifacts: Sequence[ModelArtifacts], target: TargetLabels, names: Sequence[str],
                  source_probs: Mapping[str, np.ndarray] | None = None) -> dict[str, dict[str, float]]:
    """For one labelled target (``--labels``): {estimator: {source id: score}}."""
    features = [Features(f) for f in stacked_features(artifacts)]
    out = {}
    for name in names:
        estimator = LABELLED_ESTIMATORS.get(name)
        out[name] = {a.model_id: float(estimator.fn(f, target, (source_probs or {}).get(a.model_id) if estimator.needs_source_probs else None))
                     for a, f in zip(artifacts, features)}
    return out
