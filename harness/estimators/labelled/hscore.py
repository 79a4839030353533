"""H-score (Bao et al., ICIP 2019): how well class-conditional means separate, in whitened units.

H = tr(cov(f)^+ cov(E[f | y])), features centred. With as many units as images the empirical
covariance is singular and H degenerates to K - 1 for every source, so features are first
reduced by PCA to at most ``PCA_DIMS`` components (fewer than the probe images); the
pseudo-inverse handles what rank deficiency remains.
"""

from __future__ import annotations

import numpy as np

from harness.estimators.labelled.base import TargetLabels, class_labels, pca, prepared, register

#: PCA dimensions kept before the covariances (at most a quarter of the images).
PCA_DIMS = 64


def hscore_score(features: np.ndarray, y: np.ndarray) -> float:
    source = prepared(features)
    f = pca(source, max_dims=min(PCA_DIMS, max(1, source.shape[0] // 4)))
    cov = f.T @ f / f.shape[0]
    onehot = np.eye(int(y.max()) + 1)[y]
    class_means = (onehot.T @ f) / np.maximum(onehot.sum(axis=0)[:, None], 1)
    g = class_means[y]  # E[f | y] per image
    cov_g = g.T @ g / f.shape[0]
    return float(np.trace(np.linalg.pinv(cov, rcond=1e-10, hermitian=True) @ cov_g))


@register("hscore", "H-score: tr(cov(f)^+ cov(E[f|y])), class separation in whitened feature units")
def hscore(features: np.ndarray, labels: TargetLabels, source_probs: np.ndarray | None = None) -> float:
    return hscore_score(features, class_labels(labels, "hscore"))
