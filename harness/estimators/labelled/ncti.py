"""NCTI (Wang et al., ICCV 2023): how far a source's features are from neural collapse on the target.

Three terms per (source, target), each "closer to collapse = higher":

- ``vc`` (within-class variability collapse, NC1):  -1/K tr(S_w S_b^+), S_w and S_b the
  within- and between-class covariances of the features (1/n).
- ``seli`` (simplex-encoded-label-interpolation geometry): the nuclear norm of the softmax of
  the features projected on their K leading principal components (each component's sign
  chosen so that its largest score is positive), ||softmax(Z_K)||_*, divided
  by sqrt(n K) (its value for confident, balanced one-hot rows), so it lies in (0, 1]. Collapsed
  features give near one-hot, full-rank (K) probability rows.
- ``ncc`` (nearest-class-centre classifier): 1/n sum_i log p(y_i | f_i) with
  p(c | f) = softmax_c(-||f - m_c||^2 / (2 s^2)), s^2 the pooled within-class variance per unit:
  the probabilistic nearest-centre rule, invariant to the feature scale.

Combination. NCTI normalises each term across the candidate sources of one target and adds
them: here :func:`combine` min-max scales every term over the sources of a target column to
[0, 1] and sums them with equal weights (a term constant over the sources contributes 0);
:mod:`.matrix` applies it per target column through the registry's ``combine`` hook. Called on
one pair alone (no other sources to normalise against), ``ncti`` returns the sum of the three
terms each on a fixed [0, 1] scale: 1 / (1 + NC1), the SELI term, and exp(ncc) (the geometric
mean true-class probability).
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_softmax, softmax

from harness.estimators.labelled.base import TargetLabels, class_labels, prepared, register

RCOND = 1e-10


def _pc(features) -> np.ndarray:
    u, s = prepared(features).centred_svd()
    return u * s


def vc_term(features, y: np.ndarray) -> float:
    """-NC1 = -1/K tr(S_w S_b^+)."""
    z = _pc(features)
    onehot = np.eye(int(y.max()) + 1)[y]
    counts = onehot.sum(axis=0)
    means = onehot.T @ z / counts[:, None]
    resid = z - means[y]
    within = resid.T @ resid / len(y)
    centred = means - z.mean(axis=0)
    between = (centred * (counts / len(y))[:, None]).T @ centred
    pinv = np.linalg.pinv(between, rcond=RCOND, hermitian=True)
    return -float(np.trace(within @ pinv)) / len(counts)


def seli_term(features, k: int) -> float:
    """||softmax(top-K principal components)||_* / sqrt(n K)."""
    z = _pc(features)[:, :k]
    # a principal component's sign is arbitrary and the softmax is not: the largest score of each is made positive
    peak = z[np.abs(z).argmax(axis=0), np.arange(z.shape[1])]
    probs = softmax(z * np.where(peak < 0, -1.0, 1.0), axis=1)
    return float(np.linalg.svd(probs, compute_uv=False).sum() / np.sqrt(len(z) * k))


def ncc_term(features, y: np.ndarray) -> float:
    """Mean log-likelihood of the true class under the isotropic nearest-centre rule."""
    z = _pc(features)
    onehot = np.eye(int(y.max()) + 1)[y]
    means = onehot.T @ z / onehot.sum(axis=0)[:, None]
    var = max(float(np.mean((z - means[y]) ** 2)), 1e-12)
    sq = (z**2).sum(axis=1)[:, None] - 2 * z @ means.T + (means**2).sum(axis=1)[None, :]
    log_post = log_softmax(-sq / (2 * var), axis=1)
    return float(np.mean(log_post[np.arange(len(y)), y]))


def ncti_terms(features, y: np.ndarray) -> np.ndarray:
    """The three raw terms (vc, seli, ncc) of one (source, target) pair."""
    k = int(y.max()) + 1
    return np.array([vc_term(features, y), seli_term(features, k), ncc_term(features, y)])


def combine(terms: np.ndarray) -> np.ndarray:
    """(sources, 3) raw terms of one target -> one NCTI per source: min-max per term over the sources, summed."""
    terms = np.asarray(terms, dtype=np.float64)
    low, high = terms.min(axis=0), terms.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    return np.sum(np.where(high > low, (terms - low) / span, 0.0), axis=1)


def fixed_scale(terms: np.ndarray) -> float:
    """One pair alone: 1/(1 + NC1) + SELI + exp(ncc), each in [0, 1]."""
    vc, seli, ncc = terms
    return float(1.0 / (1.0 - vc) + seli + np.exp(ncc))


def _terms(features, labels: TargetLabels, source_probs: np.ndarray | None = None) -> np.ndarray:
    return ncti_terms(features, class_labels(labels, "ncti"))


@register("ncti", "NCTI: within-class collapse + SELI nuclear norm + nearest-centre log-likelihood, min-max normalised over the sources of each target",
          reference="Wang et al.: How Far Pre-trained Models Are from Neural Collapse on the Target Dataset "
                    "Informs their Transferability, ICCV 2023", terms=_terms, combine=combine)
def ncti(features, labels: TargetLabels, source_probs: np.ndarray | None = None) -> float:
    return fixed_scale(_terms(features, labels))
