"""LogME (You et al., ICML 2021): the log marginal evidence of a Bayesian linear head.

For every target column y, the evidence of y = F w + noise with w ~ N(0, 1/alpha), noise ~
N(0, 1/beta) is maximised over (alpha, beta) by the MacKay fixed point; LogME is the mean
per-image evidence over target columns (one-hot columns for classification, the pooled label
vector's columns for regression). Everything runs in the SVD basis of F, so each fixed-point
step is O(min(n, d)).
"""

from __future__ import annotations

import numpy as np

from harness.estimators.labelled.base import TargetLabels, class_labels, prepared, register

MAX_ITERATIONS = 100
TOLERANCE = 1e-3


def evidence(sigma: np.ndarray, x2: np.ndarray, outside: np.ndarray, n: int, d: int) -> np.ndarray:
    """Maximised evidence / n for every target column at once.

    ``sigma``: F's squared singular values (k,); ``x2``: (U^T y)^2 per column (k, m);
    ``outside``: the part of ||y||^2 outside F's column space (m,). Each column runs its own
    fixed point (alpha, beta); converged columns stop moving.
    """
    m = x2.shape[1]
    alpha, beta = np.ones(m), np.ones(m)
    s = sigma[:, None]
    active = np.ones(m, dtype=bool)
    for _ in range(MAX_ITERATIONS):
        t = alpha / beta
        gamma = np.sum(s / (s + t), axis=0)
        m2 = np.sum(s * x2 / (s + t) ** 2, axis=0)
        res2 = np.sum(x2 * (t / (s + t)) ** 2, axis=0) + outside
        new_alpha = gamma / (m2 + 1e-5)
        new_beta = (n - gamma) / (res2 + 1e-5)
        alpha = np.where(active, new_alpha, alpha)
        beta = np.where(active, new_beta, beta)
        active &= np.abs(alpha / beta - t) / t >= TOLERANCE
        if not active.any():
            break
    t = alpha / beta
    m2 = np.sum(s * x2 / (s + t) ** 2, axis=0)
    res2 = np.sum(x2 * (t / (s + t)) ** 2, axis=0) + outside
    eig = np.zeros(d)
    eig[: len(sigma)] = sigma
    log_det = np.sum(np.log(alpha[None, :] + beta[None, :] * eig[:, None]), axis=0)
    value = (n / 2 * np.log(beta) + d / 2 * np.log(alpha) - n / 2 * np.log(2 * np.pi)
             - beta / 2 * res2 - alpha / 2 * m2 - 0.5 * log_det)
    return value / n


def logme_score(features: np.ndarray, targets: np.ndarray) -> float:
    """Mean evidence over the columns of ``targets`` (n, k)."""
    f = prepared(features)
    n, d = f.shape
    u, s = f.svd()
    y = np.asarray(targets, dtype=np.float64).reshape(n, -1)
    proj = u.T @ y
    outside = np.maximum(np.sum(y**2, axis=0) - np.sum(proj**2, axis=0), 0.0)
    return float(np.mean(evidence(s**2, proj**2, outside, n, d)))


@register("logme", "LogME: log marginal evidence of a Bayesian linear head on the features (classification: one-hot; regression: pooled labels)",
          reference="You, Liu, Wang, Long: LogME: Practical Assessment of Pre-trained Models for Transfer Learning, ICML 2021")
def logme(features: np.ndarray, labels: TargetLabels, source_probs: np.ndarray | None = None) -> float:
    if labels.values is not None:
        values = np.asarray(labels.values, dtype=np.float64)
        return logme_score(features, values)
    y = class_labels(labels, "logme")
    return logme_score(features, np.eye(int(y.max()) + 1)[y])
