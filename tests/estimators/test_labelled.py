"""Labelled estimators (LogME, LEEP, NLEEP, H-score, TransRate, GBC) against slow textbook versions."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from harness.estimators.labelled import LABELLED_ESTIMATORS, TargetLabels
from harness.estimators.labelled.gbc import gbc_score
from harness.estimators.labelled.gmm import fit_posteriors
from harness.estimators.labelled.hscore import hscore_score
from harness.estimators.labelled.leep import leep_score
from harness.estimators.labelled.logme import logme_score
from harness.estimators.labelled.transrate import transrate_score
from harness.estimators.labelled.base import pca


def _data(n=120, d=10, k=3, signal=1.5, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    rng.shuffle(y)
    f = rng.normal(size=(n, d))
    f[:, :k] += signal * np.eye(k)[y]
    return f, y


def _logme_slow(f: np.ndarray, y: np.ndarray) -> float:
    """MacKay's fixed point with explicit matrices, same stopping rule and damping constants."""
    n, d = f.shape
    ftf = f.T @ f
    sigma = np.linalg.eigvalsh(ftf)
    alpha, beta = 1.0, 1.0
    for _ in range(100):
        t = alpha / beta
        a = alpha * np.eye(d) + beta * ftf
        m = beta * np.linalg.solve(a, f.T @ y)
        gamma = np.sum(beta * sigma / (alpha + beta * sigma))
        alpha = gamma / (m @ m + 1e-5)
        beta = (n - gamma) / (np.sum((f @ m - y) ** 2) + 1e-5)
        if abs(alpha / beta - t) / t < 1e-3:
            break
    a = alpha * np.eye(d) + beta * ftf
    m = beta * np.linalg.solve(a, f.T @ y)
    ev = (n / 2 * np.log(beta) + d / 2 * np.log(alpha) - n / 2 * np.log(2 * np.pi)
          - beta / 2 * np.sum((f @ m - y) ** 2) - alpha / 2 * m @ m - 0.5 * np.linalg.slogdet(a)[1])
    return ev / n


@pytest.mark.parametrize("n,d", [(120, 10), (30, 50)])
def test_logme_matches_explicit_evidence(n, d):
    f, y = _data(n=n, d=d)
    onehot = np.eye(3)[y]
    slow = np.mean([_logme_slow(f, onehot[:, j]) for j in range(3)])
    assert logme_score(f, onehot) == pytest.approx(slow, rel=1e-6)


def test_logme_regression_prefers_informative_features():
    rng = np.random.default_rng(1)
    f = rng.normal(size=(200, 8))
    target = f[:, :2] @ np.array([[1.0, -2.0], [0.5, 1.0]]) + 0.1 * rng.normal(size=(200, 2))
    assert logme_score(f, target) > logme_score(rng.normal(size=(200, 8)), target) + 0.5


def _leep_slow(theta: np.ndarray, y: np.ndarray) -> float:
    n, z = theta.shape
    k = int(y.max()) + 1
    joint = np.zeros((k, z))
    for i in range(n):
        joint[y[i]] += theta[i] / n
    total = 0.0
    for i in range(n):
        total += np.log(sum(joint[y[i], j] / joint[:, j].sum() * theta[i, j] for j in range(z)))
    return total / n


def test_leep_matches_loops():
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(60, 7))
    theta = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = rng.integers(0, 4, 60)
    assert leep_score(theta, y) == pytest.approx(_leep_slow(theta, y), rel=1e-10)


def _hscore_slow(f: np.ndarray, y: np.ndarray) -> float:
    f = f - f.mean(axis=0)
    cov = np.cov(f, rowvar=False, bias=True)
    g = np.zeros_like(f)
    for c in np.unique(y):
        g[y == c] = f[y == c].mean(axis=0)
    cov_g = np.cov(g, rowvar=False, bias=True)
    return float(np.trace(np.linalg.inv(cov) @ cov_g))


def test_hscore_matches_covariances():
    f, y = _data()
    assert hscore_score(f, y) == pytest.approx(_hscore_slow(f, y), rel=1e-8)


def _rate_slow(z, eps):
    n, d = z.shape
    return 0.5 * np.linalg.slogdet(np.eye(d) + d / (n * eps**2) * z.T @ z)[1]


@pytest.mark.parametrize("n,d", [(120, 10), (30, 50)])
def test_transrate_matches_d_by_d_logdet(n, d):
    f, y = _data(n=n, d=d)
    z = f - f.mean(axis=0)
    z = z / np.sqrt(np.mean(np.sum(z**2, axis=1)))
    slow = _rate_slow(z, 0.1) - sum(np.mean(y == c) * _rate_slow(z[y == c], 0.1) for c in np.unique(y))
    assert transrate_score(f, y, 0.1) == pytest.approx(slow, rel=1e-8)


def _gbc_slow(f, y):
    z = pca(f, max_dims=64)
    floor = 1e-6 * z.var(axis=0).mean()
    total = 0.0
    for a, b in itertools.permutations(np.unique(y), 2):
        za, zb = z[y == a], z[y == b]
        ca, cb = np.diag(za.var(axis=0) + floor), np.diag(zb.var(axis=0) + floor)
        c = (ca + cb) / 2
        diff = za.mean(axis=0) - zb.mean(axis=0)
        db = diff @ np.linalg.inv(c) @ diff / 8 + 0.5 * np.log(np.linalg.det(c) / np.sqrt(np.linalg.det(ca) * np.linalg.det(cb)))
        total += np.exp(-db)
    return -total


def test_gbc_matches_full_matrix_formula():
    f, y = _data(d=6)
    assert gbc_score(f, y) == pytest.approx(_gbc_slow(f, y), rel=1e-8)


def test_gmm_posteriors_recover_separated_clusters():
    rng = np.random.default_rng(3)
    centres = np.array([[0, 0], [10, 0], [0, 10]], dtype=float)
    truth = np.repeat(np.arange(3), 50)
    x = centres[truth] + rng.normal(size=(150, 2))
    post = fit_posteriors(x, 3, seed=0)
    assert np.allclose(post.sum(axis=1), 1.0)
    found = post.argmax(axis=1)
    # every true cluster maps to one component (a permutation)
    assert all(len(set(found[truth == c])) == 1 for c in range(3)) and len(set(found)) == 3


@pytest.mark.parametrize("name", LABELLED_ESTIMATORS.names())
def test_every_estimator_prefers_informative_features(name):
    f, y = _data(n=150, d=12, signal=3.0, seed=4)
    noise = np.random.default_rng(5).normal(size=f.shape)
    labels = TargetLabels("t", y, None)
    fn = LABELLED_ESTIMATORS.get(name).fn
    assert fn(f, labels, None) > fn(noise, labels, None)
