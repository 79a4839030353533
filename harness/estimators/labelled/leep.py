"""LEEP (Nguyen et al., ICML 2020) and NLEEP (Li et al., CVPR 2021).

LEEP: with the source's class probabilities theta(x) (n, Z), the empirical joint
P(y, z) = mean_i theta_z(x_i) [y_i = y] gives P(y | z); LEEP = mean_i log sum_z P(y_i | z)
theta_z(x_i), the log-likelihood of the "expected empirical predictor".

Sources without class probabilities (dense or regression heads, multi-task models) use NLEEP's
recipe for theta: posteriors of a Gaussian mixture fitted to their features. NLEEP always does:
features reduced by PCA to 80% of the variance, a diagonal-covariance mixture with
``5 x target classes`` components (seeded EM, :mod:`.gmm`), posteriors as theta.
"""

from __future__ import annotations

import numpy as np

from harness.estimators.labelled.base import TargetLabels, class_labels, pca, register
from harness.estimators.labelled.gmm import fit_posteriors

#: NLEEP's mixture has this many components per target class (the paper's V = 5K).
COMPONENTS_PER_CLASS = 5
#: PCA keeps this fraction of the feature variance before the mixture is fitted (the paper's 0.8).
PCA_VARIANCE = 0.8


def leep_score(theta: np.ndarray, y: np.ndarray) -> float:
    """LEEP of class vector ``y`` (n,) under source probabilities ``theta`` (n, Z)."""
    theta = np.asarray(theta, dtype=np.float64)
    n = theta.shape[0]
    onehot = np.eye(int(y.max()) + 1)[y]
    joint = onehot.T @ theta / n  # (K, Z)
    conditional = joint / np.maximum(joint.sum(axis=0, keepdims=True), 1e-300)
    likelihood = np.sum(theta * conditional[y], axis=1)
    return float(np.mean(np.log(np.maximum(likelihood, 1e-300))))


def mixture_posteriors(features: np.ndarray, n_classes: int, seed: int = 0) -> np.ndarray:
    """NLEEP's theta: GMM posteriors on PCA-reduced features."""
    reduced = pca(features, keep_variance=PCA_VARIANCE)
    components = min(COMPONENTS_PER_CLASS * n_classes, max(1, reduced.shape[0] // 2))
    return fit_posteriors(reduced, components, seed=seed)


@register("leep", "LEEP: log-likelihood of the expected empirical predictor from the source's class probabilities "
                  "(GMM posteriors on features for sources without a classifier head)", needs_source_probs=True,
          reference="Nguyen, Hassner, Seeger, Archambeau: LEEP: A New Measure to Evaluate Transferability of Learned Representations, ICML 2020")
def leep(features: np.ndarray, labels: TargetLabels, source_probs: np.ndarray | None = None) -> float:
    y = class_labels(labels, "leep")
    theta = source_probs if source_probs is not None else mixture_posteriors(features, int(y.max()) + 1)
    return leep_score(theta, y)


@register("nleep", "NLEEP: LEEP with Gaussian-mixture posteriors on PCA-reduced source features",
          reference="Li et al.: Ranking Neural Checkpoints, CVPR 2021")
def nleep(features: np.ndarray, labels: TargetLabels, source_probs: np.ndarray | None = None) -> float:
    y = class_labels(labels, "nleep")
    return leep_score(mixture_posteriors(features, int(y.max()) + 1), y)
