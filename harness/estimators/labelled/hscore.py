"""H-score (Bao et al., ICIP 2019) and two variants: how well class-conditional means separate, in whitened units.

``hscore`` (the published definition, raw features f centred, g(x) = E[f | y(x)]):

    H = tr( cov(f)^+ cov(g) )

With at least as many feature units as images, cov(f) has rank n - 1 and H = K - 1 for every
source: the published definition cannot rank sources then (kept as published; use a variant).

``hscore-shrinkage`` (Ibrahim, Ponomareva, Mazumder, ECML-PKDD 2022): cov(f) replaced by the
Ledoit-Wolf shrunk covariance, cov(g) scaled by the same (1 - a):

    S_a = (1 - a) cov(f) + a mu I,   mu = tr(cov(f)) / d,
    H_a = tr( S_a^-1 (1 - a) cov(g) ),
    a   = min(b2, d2) / d2,  b2 = 1/n^2 sum_i ||f_i f_i^T - cov(f)||_F^2,  d2 = ||cov(f) - mu I||_F^2

(the Ledoit-Wolf 2004 optimal shrinkage intensity; covariances with 1/n).

``hscore-pca`` (this harness's earlier variant, not default): H on features first reduced by
PCA to at most ``PCA_DIMS`` components and n/4, so that cov(f) is well conditioned.

All three run in the principal-component basis of the centred features (cached per source):
class means lie in the span of the features, so nothing outside it contributes.
"""

from __future__ import annotations

import numpy as np

from harness.estimators.labelled.base import TargetLabels, class_labels, pca, prepared, register

#: PCA dimensions kept before the covariances in ``hscore-pca`` (at most a quarter of the images).
PCA_DIMS = 64
#: Principal components with variance below this fraction of the largest count as zero (the pseudo-inverse's cut).
RCOND = 1e-10


def _class_mean_energy(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """sum_c (n_c / n) m_c^2 per component: the diagonal of cov(g) in the principal basis."""
    onehot = np.eye(int(y.max()) + 1)[y]
    counts = onehot.sum(axis=0)
    means = (onehot.T @ z) / np.maximum(counts[:, None], 1)
    return (counts[:, None] / len(y) * means**2).sum(axis=0)


def hscore_score(features, y: np.ndarray) -> float:
    """``hscore-pca``: H on PCA-reduced features."""
    source = prepared(features)
    f = pca(source, max_dims=min(PCA_DIMS, max(1, source.shape[0] // 4)))
    cov = f.T @ f / f.shape[0]
    onehot = np.eye(int(y.max()) + 1)[y]
    class_means = (onehot.T @ f) / np.maximum(onehot.sum(axis=0)[:, None], 1)
    g = class_means[y]  # E[f | y] per image
    cov_g = g.T @ g / f.shape[0]
    return float(np.trace(np.linalg.pinv(cov, rcond=1e-10, hermitian=True) @ cov_g))


def _whitened(features, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, int, int]:
    """(cov(f)'s eigenvalues on the features' span, cov(g)'s diagonal in that basis, n, d)."""
    source = prepared(features)
    n, d = source.shape
    u, s = source.centred_svd()
    z = u * s  # centred features in their principal basis (n, r)
    return s**2 / n, _class_mean_energy(z, y), n, d


def hscore_published(features, y: np.ndarray) -> float:
    """tr(cov(f)^+ cov(g)) on the raw centred features."""
    lam, energy, _, _ = _whitened(features, y)
    keep = lam > RCOND * max(float(lam.max(initial=0.0)), 1e-300)
    return float(np.sum(energy[keep] / lam[keep]))


def ledoit_wolf(features) -> float:
    """The Ledoit-Wolf shrinkage intensity a of the centred features' covariance (towards mu I)."""
    source = prepared(features)
    n, d = source.shape
    u, s = source.centred_svd()
    lam = s**2 / n
    mu = float(lam.sum()) / d
    row_norms = np.sum((u * s) ** 2, axis=1)
    b2 = (np.sum(row_norms**2) - n * np.sum(lam**2)) / n**2
    d2 = float(np.sum((lam - mu) ** 2) + (d - len(lam)) * mu**2)
    return 0.0 if d2 <= 0 else float(min(max(b2, 0.0), d2) / d2)


def hscore_shrunk(features, y: np.ndarray) -> float:
    """tr(S_a^-1 (1 - a) cov(g)) with Ledoit-Wolf's a."""
    lam, energy, _, d = _whitened(features, y)
    a = ledoit_wolf(features)
    mu = float(lam.sum()) / d
    den = (1 - a) * lam + a * mu
    keep = den > RCOND * max(float(den.max(initial=0.0)), 1e-300)
    return float((1 - a) * np.sum(energy[keep] / den[keep]))


@register("hscore", "H-score: tr(cov(f)^+ cov(E[f|y])) on the raw centred features (as published; K-1 for every source when units >= images)",
          reference="Bao et al.: An Information-Theoretic Approach to Transferability in Task Transfer Learning, ICIP 2019",
          default=False)  # degenerate (K-1 for every source) whenever units >= probe images, as on the default zoo
def hscore(features, labels: TargetLabels, source_probs: np.ndarray | None = None) -> float:
    return hscore_published(features, class_labels(labels, "hscore"))


@register("hscore-shrinkage", "H-score with the Ledoit-Wolf shrunk feature covariance (well defined when units >= images)",
          reference="Ibrahim, Ponomareva, Mazumder: Newer is not always better: Rethinking transferability metrics, their "
                    "peculiarities, stability and performance, ECML-PKDD 2022")
def hscore_shrinkage(features, labels: TargetLabels, source_probs: np.ndarray | None = None) -> float:
    return hscore_shrunk(features, class_labels(labels, "hscore-shrinkage"))


@register("hscore-pca", "H-score on PCA features (at most 64 dims and n/4): the harness's earlier variant",
          reference="Bao et al., ICIP 2019 (H-score), with a PCA reduction added by this harness", default=False)
def hscore_pca(features, labels: TargetLabels, source_probs: np.ndarray | None = None) -> float:
    return hscore_score(features, class_labels(labels, "hscore-pca"))
