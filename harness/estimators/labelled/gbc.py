"""GBC (Pándy et al., CVPR 2022): Gaussian Bhattacharyya coefficient between target classes.

Each class of the target is a Gaussian with diagonal covariance in the PCA-reduced source
feature space; GBC = - sum over ordered class pairs of their Bhattacharyya coefficient
exp(-D_B). Less overlap between classes = higher (closer to 0) score.
"""

from __future__ import annotations

import numpy as np

from harness.estimators.labelled.base import TargetLabels, class_labels, pca, register

#: PCA dimensions kept before fitting the class Gaussians (the paper uses 64).
PCA_DIMS = 64
VAR_FLOOR = 1e-6


def bhattacharyya(mu1: np.ndarray, var1: np.ndarray, mu2: np.ndarray, var2: np.ndarray) -> float:
    """Bhattacharyya distance between two diagonal Gaussians."""
    var = (var1 + var2) / 2
    term1 = 0.125 * np.sum((mu1 - mu2) ** 2 / var)
    term2 = 0.5 * (np.sum(np.log(var)) - 0.5 * (np.sum(np.log(var1)) + np.sum(np.log(var2))))
    return float(term1 + term2)


def gbc_score(features: np.ndarray, y: np.ndarray) -> float:
    z = pca(features, max_dims=PCA_DIMS)
    floor = VAR_FLOOR * max(float(z.var(axis=0).mean()), 1e-12)
    stats = []
    for c in np.unique(y):
        zc = z[y == c]
        stats.append((zc.mean(axis=0), zc.var(axis=0) + floor))
    total = 0.0
    for i, (mi, vi) in enumerate(stats):
        for j, (mj, vj) in enumerate(stats):
            if i != j:
                total += np.exp(-bhattacharyya(mi, vi, mj, vj))
    return -float(total)


@register("gbc", "GBC: minus the summed Bhattacharyya overlap of per-class Gaussians in PCA-reduced features",
          reference="Pándy, Agostinelli, Uijlings, Ferrari, Mensink: Transferability Estimation using Bhattacharyya Class Separability, CVPR 2022")
def gbc(features: np.ndarray, labels: TargetLabels, source_probs: np.ndarray | None = None) -> float:
    return gbc_score(features, class_labels(labels, "gbc"))
