"""H-score (Bao et al., ICIP 2019): how well class-conditional means separate, in whitened units.

H = tr(cov(f)^+ cov(E[f | y])), features centred; the pseudo-inverse keeps it defined when
there are more units than images.
"""

from __future__ import annotations

import numpy as np

from harness.estimators.labelled.base import TargetLabels, as_features, class_labels, register


def hscore_score(features: np.ndarray, y: np.ndarray) -> float:
    f = as_features(features)
    f = f - f.mean(axis=0, keepdims=True)
    cov = f.T @ f / f.shape[0]
    onehot = np.eye(int(y.max()) + 1)[y]
    class_means = (onehot.T @ f) / np.maximum(onehot.sum(axis=0)[:, None], 1)
    g = class_means[y]  # E[f | y] per image
    cov_g = g.T @ g / f.shape[0]
    return float(np.trace(np.linalg.pinv(cov, rcond=1e-10, hermitian=True) @ cov_g))


@register("hscore", "H-score: tr(cov(f)^+ cov(E[f|y])), class separation in whitened feature units")
def hscore(features: np.ndarray, labels: TargetLabels, source_probs: np.ndarray | None = None) -> float:
    return hscore_score(features, class_labels(labels, "hscore"))
