"""Static rankers: baselines that order sources the same way whatever the target.

An estimator is only worth its cost if it beats a ranking that ignores the target. The
2026 static-ranking study (Singh et al., ICLR 2026) found that ordering sources by model
size reaches weighted Kendall tau 0.91 on the standard 11 x 11 benchmark, against 0.57 for
LogME. Every evaluation therefore scores these rankers beside the estimators, through the
same :func:`harness.evaluation.metrics.evaluate`:

- ``static:size``: the source's parameter count (bigger = better), when sizes are known;
- ``static:prior``: leave-one-target-out prior: for target t, each source's mean measured
  affinity over the *other* targets (t and the source itself excluded). It knows which
  sources transfer well in general, which no estimator is told, but never sees target t.

Both return an ``A[source, target]`` matrix over the given ids, NaN where undefined.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from harness.evaluation.ground_truth import GroundTruth

SIZE = "static:size"
PRIOR = "static:prior"
DESCRIPTIONS = {
    SIZE: "every target ranks the sources by parameter count (larger first)",
    PRIOR: "leave-one-target-out prior: a source's mean measured affinity over the other targets",
}


def size_ranker(model_ids: Sequence[str], sizes: Mapping[str, float]) -> np.ndarray:
    """``A[s, t] = parameters of s`` (NaN for a model of unknown size)."""
    column = np.array([float(sizes.get(m, np.nan)) for m in model_ids], dtype=np.float64)
    return np.repeat(column[:, None], len(model_ids), axis=1)


def prior_ranker(model_ids: Sequence[str], gt: GroundTruth) -> np.ndarray:
    """``A[s, t]`` = mean of the measured ``truth[s, u]`` over targets u not in {s, t}."""
    ids = list(model_ids)
    truth = gt.submatrix(ids, ids)
    out = np.full(truth.shape, np.nan)
    for t in range(len(ids)):
        for s in range(len(ids)):
            others = [u for u in range(len(ids)) if u not in (s, t)]
            values = truth[s, others]
            values = values[np.isfinite(values)]
            if values.size:
                out[s, t] = float(values.mean())
    return out


def static_rankers(model_ids: Sequence[str], gt: GroundTruth, sizes: Mapping[str, float] | None = None) -> dict[str, np.ndarray]:
    """The static baselines that can be built: the prior always, size when every model's is known
    and they are not all equal (a constant ranking says nothing)."""
    out = {PRIOR: prior_ranker(model_ids, gt)}
    if sizes and all(m in sizes for m in model_ids) and len({sizes[m] for m in model_ids}) > 1:
        out = {SIZE: size_ranker(model_ids, sizes), **out}
    return out
