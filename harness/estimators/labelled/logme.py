"""LogME (You et al., ICML 2021): the log marginal evidence of a Bayesian linear head.

For every target column y, the evidence of y = F w + noise with w ~ N(0, 1/alpha), noise ~
N(0, 1/beta) is maximised over (alpha, beta) by the MacKay fixed point; LogME is the mean
per-image evidence over target columns (one-hot columns for classification, the pooled label
vector's columns for regression). Everything runs in the SVD basis of F, so each fixed-point
step is O(min(n, d)).
"""

from __future__ import annotations

import numpy as np

from harness.estimators.labelled.base import TargetLabels, as_features, class_labels, register

MAX_ITERATIONS = 100
TOLERANCE = 1e-3


def evidence(sigma: np.ndarray, x2: np.ndarray, outside: float, n: int, d: int) -> tuple[float, float, float]:
    """Maximised evidence for one target column, given F's squared singular values ``sigma``.

    ``x2`` = (U^T y)^2 (projection on F's left singular vectors) and ``outside`` = the part of
    ||y||^2 outside F's column space. Returns (evidence / n, alpha, beta).
    """
    alpha, beta = 1.0, 1.0
    for _ in range(MAX_ITERATIONS):
        t = alpha / beta
        gamma = float(np.sum(sigma / (sigma + t)))
        m2 = float(np.sum(sigma * x2 / (sigma + t) ** 2))
        res2 = float(np.sum(x2 * (t / (sigma + t)) ** 2)) + outside
        alpha = gamma / (m2 + 1e-5)
        beta = (n - gamma) / (res2 + 1e-5)
        if abs(alpha / beta - t) / t < TOLERANCE:
            break
    t = alpha / beta
    m2 = float(np.sum(sigma * x2 / (sigma + t) ** 2))
    res2 = float(np.sum(x2 * (t / (sigma + t)) ** 2)) + outside
    eig = np.zeros(d)
    eig[: len(sigma)] = sigma
    value = (n / 2 * np.log(beta) + d / 2 * np.log(alpha) - n / 2 * np.log(2 * np.pi)
             - beta / 2 * res2 - alpha / 2 * m2 - 0.5 * float(np.sum(np.log(alpha + beta * eig))))
    return value / n, alpha, beta


def logme_score(features: np.ndarray, targets: np.ndarray) -> float:
    """Mean evidence over the columns of ``targets`` (n, k)."""
    f = as_features(features)
    n, d = f.shape
    u, s, _ = np.linalg.svd(f, full_matrices=False)
    sigma = s**2
    y = np.asarray(targets, dtype=np.float64).reshape(n, -1)
    proj = u.T @ y
    outside = np.maximum(np.sum(y**2, axis=0) - np.sum(proj**2, axis=0), 0.0)
    return float(np.mean([evidence(sigma, proj[:, j] ** 2, float(outside[j]), n, d)[0] for j in range(y.shape[1])]))


@register("logme", "LogME: log marginal evidence of a Bayesian linear head on the features (classification: one-hot; regression: pooled labels)")
def logme(features: np.ndarray, labels: TargetLabels, source_probs: np.ndarray | None = None) -> float:
    if labels.values is not None:
        values = np.asarray(labels.values, dtype=np.float64)
        return logme_score(features, values)
    y = class_labels(labels, "logme")
    return logme_score(features, np.eye(int(y.max()) + 1)[y])
