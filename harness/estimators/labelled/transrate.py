"""TransRate (Huang et al., ICML 2022): mutual information between features and labels as coding rates.

``transrate`` (as published; the code listing in the paper): features Z centred once over all images,

    R(Z, eps)  = 1/2 logdet( I_d + 1/(n eps) Z^T Z ),              eps = 1e-4
    TransRate  = R(Z, eps) - 1/K sum_c R(Z_c, eps)

where Z_c are the (globally centred) rows of class c and n in R(Z_c, eps) is their count n_c;
the class rates are averaged over the K classes. No further normalisation: the score depends
on the activation scale, as published.

``transrate-normalised`` (this harness's earlier variant, not default): R(Z, eps) = 1/2 logdet(I +
d/(n eps^2) Z^T Z) with eps = 0.1, Z centred and scaled to unit mean squared norm per image so
eps means the same for every source, and class rates weighted by n_c / n.

logdet(I_d + c Z^T Z) = logdet(I_n + c Z Z^T): the smaller Gram matrix is used.
"""

from __future__ import annotations

import numpy as np

from harness.estimators.labelled.base import TargetLabels, as_features, class_labels, register

#: ``transrate-normalised``'s precision (features at unit mean squared norm).
EPS = 1e-1
#: The published precision (the paper's listing: ``1 / (n * eps)`` with eps = 1e-4).
PAPER_EPS = 1e-4


def _rate(z: np.ndarray, c: float) -> float:
    """1/2 logdet(I + c Z^T Z)."""
    n = z.shape[0]
    if n == 0:
        return 0.0
    gram = z @ z.T if n <= z.shape[1] else z.T @ z
    return 0.5 * float(np.linalg.slogdet(np.eye(gram.shape[0]) + c * gram)[1])


def coding_rate(z: np.ndarray, eps: float = EPS) -> float:
    """``transrate-normalised``'s rate: 1/2 logdet(I + d/(n eps^2) Z^T Z)."""
    n, d = z.shape
    return _rate(z, d / (max(n, 1) * eps**2))


def transrate_score(features, y: np.ndarray, eps: float = EPS) -> float:
    """``transrate-normalised``."""
    z = as_features(features)
    z = z - z.mean(axis=0, keepdims=True)
    scale = np.sqrt(np.mean(np.sum(z**2, axis=1)))
    z = z / max(scale, 1e-12)
    n = z.shape[0]
    conditional = sum((np.sum(y == c) / n) * coding_rate(z[y == c], eps) for c in np.unique(y))
    return coding_rate(z, eps) - conditional


def transrate_published(features, y: np.ndarray, eps: float = PAPER_EPS) -> float:
    """TransRate as in the paper's listing."""
    z = as_features(features)
    z = z - z.mean(axis=0, keepdims=True)
    classes = np.unique(y)
    conditional = sum(_rate(z[y == c], 1.0 / (np.sum(y == c) * eps)) for c in classes) / len(classes)
    return _rate(z, 1.0 / (z.shape[0] * eps)) - conditional


@register("transrate", "TransRate: coding rate of the centred features minus the mean class-conditional rate (eps 1e-4, as published)",
          reference="Huang et al.: Frustratingly Easy Transferability Estimation, ICML 2022")
def transrate(features, labels: TargetLabels, source_probs: np.ndarray | None = None) -> float:
    return transrate_published(features, class_labels(labels, "transrate"))


@register("transrate-normalised", "TransRate on scale-normalised features (eps 0.1, classes weighted by size): the harness's earlier variant",
          reference="Huang et al., ICML 2022 (TransRate), with per-image scale normalisation added by this harness", default=False)
def transrate_normalised(features, labels: TargetLabels, source_probs: np.ndarray | None = None) -> float:
    return transrate_score(features, class_labels(labels, "transrate-normalised"))
