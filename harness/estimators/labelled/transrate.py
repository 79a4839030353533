"""TransRate (Huang et al., ICML 2022): mutual information between features and labels as coding rates.

R(Z, eps) = 1/2 logdet(I + d / (n eps^2) Z^T Z) is the rate of coding centred features Z to
precision eps; TransRate = R(Z) - sum_y (n_y / n) R(Z_y), the rate saved by knowing the label.
Features are centred and scaled to unit mean squared norm per image first, so eps means the
same for every source whatever its activation scale (documented deviation from using raw
activations; the paper normalises features too).
"""

from __future__ import annotations

import numpy as np

from harness.estimators.labelled.base import TargetLabels, as_features, class_labels, register

EPS = 1e-1


def coding_rate(z: np.ndarray, eps: float = EPS) -> float:
    n, d = z.shape
    if n == 0:
        return 0.0
    # logdet(I_d + c Z^T Z) = logdet(I_n + c Z Z^T): use the smaller Gram matrix.
    c = d / (n * eps**2)
    gram = z @ z.T if n <= d else z.T @ z
    sign, logdet = np.linalg.slogdet(np.eye(gram.shape[0]) + c * gram)
    return 0.5 * float(logdet)


def transrate_score(features: np.ndarray, y: np.ndarray, eps: float = EPS) -> float:
    z = as_features(features)
    z = z - z.mean(axis=0, keepdims=True)
    scale = np.sqrt(np.mean(np.sum(z**2, axis=1)))
    z = z / max(scale, 1e-12)
    n = z.shape[0]
    conditional = sum((np.sum(y == c) / n) * coding_rate(z[y == c], eps) for c in np.unique(y))
    return coding_rate(z, eps) - conditional


@register("transrate", "TransRate: coding rate of the features minus their class-conditional coding rate")
def transrate(features: np.ndarray, labels: TargetLabels, source_probs: np.ndarray | None = None) -> float:
    return transrate_score(features, class_labels(labels, "transrate"))
