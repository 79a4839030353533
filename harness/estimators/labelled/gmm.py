"""A small diagonal-covariance Gaussian mixture (EM), seeded: NLEEP's pseudo-source classes.

Kept here rather than pulling in scikit-learn for one estimator.
"""

from __future__ import annotations

import numpy as np

ITERATIONS = 100
TOLERANCE = 1e-6
#: Variance floor, relative to the data's overall variance per dimension.
REG = 1e-6


def _log_resp(x: np.ndarray, weights: np.ndarray, means: np.ndarray, var: np.ndarray) -> tuple[np.ndarray, float]:
    """Log responsibilities (n, k) and the mean log-likelihood."""
    log_det = np.sum(np.log(var), axis=1)  # (k,)
    maha = (x**2) @ (1 / var).T - 2 * x @ (means / var).T + np.sum(means**2 / var, axis=1)
    log_p = -0.5 * (x.shape[1] * np.log(2 * np.pi) + log_det + maha) + np.log(weights)
    peak = log_p.max(axis=1, keepdims=True)
    log_norm = peak + np.log(np.exp(log_p - peak).sum(axis=1, keepdims=True))
    return log_p - log_norm, float(np.mean(log_norm))


def fit_posteriors(x: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Posterior probabilities (n, k) of a k-component mixture fitted to ``x`` (n, d)."""
    x = np.asarray(x, dtype=np.float64)
    n, d = x.shape
    if d == 0:
        return np.ones((n, 1))
    rng = np.random.default_rng(seed)
    k = max(1, min(k, n))
    floor = REG * max(float(x.var(axis=0).mean()), 1e-12)
    means = x[rng.choice(n, size=k, replace=False)].copy()
    var = np.tile(x.var(axis=0) + floor, (k, 1))
    weights = np.full(k, 1.0 / k)
    previous = -np.inf
    for _ in range(ITERATIONS):
        log_resp, ll = _log_resp(x, weights, means, var)
        resp = np.exp(log_resp)
        counts = resp.sum(axis=0) + 1e-10
        weights = counts / n
        means = resp.T @ x / counts[:, None]
        var = resp.T @ (x**2) / counts[:, None] - means**2 + floor
        var = np.maximum(var, floor)
        if abs(ll - previous) < TOLERANCE * max(1.0, abs(ll)):
            break
        previous = ll
    return np.exp(_log_resp(x, weights, means, var)[0])
