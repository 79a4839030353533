"""One target's (or one source's) estimated scores against the measured ones: the field's metrics.

Each function takes two aligned vectors (estimated, true) over the same candidates, ignores
pairs where either side is not finite, and returns NaN when the metric is undefined (fewer
than two pairs, a constant side) instead of a scipy warning. Higher = the estimate agrees
better with the measurement.

- Spearman and Kendall tau-b: the seeds' (and Taskonomy literature's) rank correlations.
- Weighted Kendall tau: ``scipy.stats.weightedtau`` with its defaults (hyperbolic weights
  1/(r+1), both orderings averaged), as LogME, SFDA, NCTI, ETran and the 2026 static-ranking
  study report it: swaps among the top candidates weigh more than swaps in the tail.
- Pearson: linear agreement of the raw scores.
- Rel@1: the measured transfer of the estimate's top-ranked candidate relative to the best
  candidate's. On non-negative measurements (accuracies, AHP win rates) it is the field's
  ratio ``true[top] / max(true)``; a measurement that can be negative (a gain over a random
  encoder) has no meaningful ratio, so there it is the gap closed between the worst and the
  best candidate, ``(true[top] - min) / (max - min)``. Both are 1 for a perfect pick.
- Best-in-top-n: 1 when the truly best candidate is among the estimate's top n.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import kendalltau, rankdata, weightedtau

#: The n of the best-in-top-n metrics a report carries.
TOP_N = (1, 3, 5)


def _finite_pairs(estimated, true) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(estimated, dtype=np.float64), np.asarray(true, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    return x[ok], y[ok]


def _defined(x: np.ndarray, y: np.ndarray) -> bool:
    return x.size >= 2 and np.ptp(x) > 0 and np.ptp(y) > 0


#: Above this many candidates Kendall's tau-b goes to scipy (O(n log n)); below, the O(n^2) pair
#: count here is exact and has none of scipy's per-call overhead (an evaluation makes ~600 calls).
PAIRWISE_MAX = 2000


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson's r of two non-constant vectors (centred dot product over the norms), in [-1, 1]."""
    xm, ym = x - x.mean(), y - y.mean()
    r = float(np.dot(xm, ym) / math.sqrt(float(np.dot(xm, xm)) * float(np.dot(ym, ym))))
    return min(1.0, max(-1.0, r))


def _kendall_tau_b(x: np.ndarray, y: np.ndarray) -> float:
    """Kendall's tau-b by counting pairs: (concordant - discordant) / sqrt((n0 - ties_x)(n0 - ties_y))."""
    if x.size > PAIRWISE_MAX:
        return float(kendalltau(x, y)[0])
    upper = np.triu_indices(x.size, k=1)
    sx = np.sign(x[:, None] - x[None, :])[upper]
    sy = np.sign(y[:, None] - y[None, :])[upper]
    n0 = sx.size
    untied_x, untied_y = n0 - int(np.count_nonzero(sx == 0)), n0 - int(np.count_nonzero(sy == 0))
    return float(np.dot(sx, sy) / math.sqrt(untied_x * untied_y))


def rank_correlations(estimated, true) -> tuple[float, float]:
    """Tie-aware Spearman (Pearson of average ranks, as scipy.stats.spearmanr) and Kendall tau-b
    (as scipy.stats.kendalltau); tested against scipy."""
    x, y = _finite_pairs(estimated, true)
    if not _defined(x, y):
        return math.nan, math.nan
    return _pearson(rankdata(x), rankdata(y)), _kendall_tau_b(x, y)


def weighted_tau(estimated, true) -> float:
    """Hyperbolically weighted Kendall tau (scipy's defaults, as the field computes it)."""
    x, y = _finite_pairs(estimated, true)
    if not _defined(x, y):
        return math.nan
    return float(weightedtau(x, y)[0])


def pearson(estimated, true) -> float:
    x, y = _finite_pairs(estimated, true)
    if not _defined(x, y):
        return math.nan
    return _pearson(x, y)


def _top_index(x: np.ndarray) -> int:
    """Index of the highest estimate; ties go to the first candidate (as the rankings do)."""
    return int(np.flatnonzero(x == x.max())[0])


def relative_top1(estimated, true) -> float:
    """Rel@1: see the module docstring (ratio on non-negative measurements, else gap closed)."""
    x, y = _finite_pairs(estimated, true)
    if x.size < 2:
        return math.nan
    picked, best, worst = y[_top_index(x)], y.max(), y.min()
    if worst >= 0:
        return float(picked / best) if best > 0 else math.nan
    return float((picked - worst) / (best - worst))


def best_in_top(estimated, true, n: int) -> float:
    """1.0 when a candidate with the best measured value is among the estimate's top ``n``, else 0.0."""
    x, y = _finite_pairs(estimated, true)
    if x.size < 2:
        return math.nan
    order = np.lexsort((np.arange(x.size), -x))  # descending estimate, ties in candidate order
    return float(bool(np.any(y[order[:n]] == y.max())))
