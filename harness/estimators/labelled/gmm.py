"""A small diagonal-covariance Gaussian mixture (EM), seeded: NLEEP's pseudo-source classes.

EM starts from seeded k-means (k-means++ seeding, a few Lloyd iterations), as the usual GMM
fitting does: started from random data points, several components share one cluster and
others straddle two, and NLEEP stays far below its maximum even on well-separated classes.
Kept here rather than pulling in scikit-learn for one estimator.
"""

from __future__ import annotations

import numpy as np

ITERATIONS = 100
#: Lloyd iterations of the k-means that starts EM.
KMEANS_ITERATIONS = 10
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


def _sq_dist(x: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances (n, k), clipped at 0."""
    return np.maximum((x**2).sum(axis=1)[:, None] - 2 * x @ centres.T + (centres**2).sum(axis=1)[None, :], 0.0)


def kmeans_plus_plus(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k seeds: the first uniform, each next drawn with probability proportional to its squared distance to the chosen."""
    n = x.shape[0]
    centres = [x[rng.integers(n)]]
    closest = _sq_dist(x, centres[0][None, :])[:, 0]
    for _ in range(1, k):
        total = closest.sum()
        index = rng.choice(n, p=closest / total) if total > 0 else rng.integers(n)
        centres.append(x[index])
        closest = np.minimum(closest, _sq_dist(x, x[index][None, :])[:, 0])
    return np.array(centres)


def kmeans(x: np.ndarray, k: int, rng: np.random.Generator, iterations: int = KMEANS_ITERATIONS) -> tuple[np.ndarray, np.ndarray]:
    """(centres (k, d), assignment (n,)): k-means++ seeds refined by Lloyd iterations; empty clusters keep their centre."""
    centres = kmeans_plus_plus(x, k, rng)
    assign = _sq_dist(x, centres).argmin(axis=1)
    for _ in range(iterations):
        onehot = np.eye(k)[assign]
        counts = onehot.sum(axis=0)
        centres = np.where(counts[:, None] > 0, onehot.T @ x / np.maximum(counts[:, None], 1), centres)
        new = _sq_dist(x, centres).argmin(axis=1)
        if np.array_equal(new, assign):
            break
        assign = new
    return centres, assign


def fit_posteriors(x: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """Posterior probabilities (n, k) of a k-component mixture fitted to ``x`` (n, d)."""
    x = np.asarray(x, dtype=np.float64)
    n, d = x.shape
    if d == 0:
        return np.ones((n, 1))
    rng = np.random.default_rng(seed)
    k = max(1, min(k, n))
    floor = REG * max(float(x.var(axis=0).mean()), 1e-12)
    means, assign = kmeans(x, k, rng)
    onehot = np.eye(k)[assign]
    counts = onehot.sum(axis=0)
    weights = np.maximum(counts, 1) / np.maximum(counts, 1).sum()
    # per-cluster variances; a cluster of one point gets the data's variance
    var = onehot.T @ (x**2) / np.maximum(counts[:, None], 1) - means**2
    var = np.where(counts[:, None] > 1, np.maximum(var, 0.0), x.var(axis=0)) + floor
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
