"""Percentile bootstrap over targets: seeded, paired across statistics, NaN-aware."""

from __future__ import annotations

import numpy as np


def bootstrap_indices(n_items: int, n_boot: int, seed: int) -> np.ndarray:
    """``(n_boot, n_items)`` resampling indices; one draw shared by every statistic (paired CIs)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, n_items, size=(max(n_boot, 0), n_items))


def nanmean(values: np.ndarray) -> float:
    """Mean of the finite entries, NaN when there are none (and no RuntimeWarning)."""
    v = np.asarray(values, dtype=np.float64)
    ok = ~np.isnan(v)
    return float(v[ok].mean()) if ok.any() else float("nan")


def percentile_ci(values: np.ndarray, indices: np.ndarray, confidence: float = 0.95) -> list[float] | None:
    """Percentile CI of the mean of ``values`` (per-target numbers, NaN = undefined target).

    A resample whose targets are all undefined is dropped; ``None`` when nothing is left
    (no resamples or no defined target).
    """
    v = np.asarray(values, dtype=np.float64)
    if indices.size == 0:
        return None
    samples = v[indices]
    ok = ~np.isnan(samples)
    counts = ok.sum(axis=1)
    sums = np.where(ok, samples, 0.0).sum(axis=1)
    keep = counts > 0
    if not keep.any():
        return None
    means = sums[keep] / counts[keep]
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(means, [alpha, 1.0 - alpha])
    return [float(lo), float(hi)]
