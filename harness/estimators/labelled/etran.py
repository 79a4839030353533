"""ETran (Gholami et al., ICCV 2023): energy-based transferability.

Classification targets:  ETran = S_en + S_lda.

- S_en = 1/n sum_i logsumexp_j f_ij: the (negative free) energy of each image when the
  source's features are read as logits, averaged. High energy = the image is
  "in-distribution" for the source. It does not use the labels (the paper averages over
  all target images; we do not keep only a top or bottom fraction as some of its
  experiments do). It depends on the activation scale, as published.
- S_lda = 1/n sum_i p(y_i | f_i): the mean true-class probability of the shrunk LDA shared with
  :mod:`.sfda` (adaptive lam = exp(-5 sigma_max(S_w))). The paper averages probabilities, not
  their logarithm.

Regression targets (``labels.values``, including dense labels pooled per image):
ETran = S_en + S_reg with S_reg = -1/(n k) ||Y - (1 b + F_c W)||^2, the training mean squared
residual of a ridge regression of the centred label matrix on the centred features, penalty
``RIDGE`` x the mean squared singular value of F_c. (Published as a plain least-squares
residual; with at least as many feature units as images that residual is 0 for every source,
so a small, scale-relative ridge penalty is added: documented deviation.) The LDA term is not
used for regression targets: their classes are only quantile bins.

The paper's third term (S_svd, for object detection) has no counterpart here.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from harness.estimators.labelled.base import TargetLabels, as_features, class_labels, prepared, register
from harness.estimators.labelled.sfda import lda_log_posteriors

#: Ridge penalty of S_reg, relative to the mean squared singular value of the centred features.
RIDGE = 1e-2


def energy_term(features) -> float:
    """S_en: mean over images of logsumexp of the features."""
    return float(np.mean(logsumexp(as_features(features), axis=1)))


def lda_term(features, y: np.ndarray) -> float:
    """S_lda: mean true-class probability of the shrunk LDA."""
    source = prepared(features)
    u, s = source.centred_svd()
    log_post, _ = lda_log_posteriors(u * s, y, source.shape[1])
    return float(np.mean(np.exp(log_post[np.arange(len(y)), y])))


def regression_term(features, values: np.ndarray) -> float:
    """S_reg: minus the mean squared ridge residual of the centred values on the centred features."""
    u, s = prepared(features).centred_svd()
    target = np.asarray(values, dtype=np.float64).reshape(len(u), -1)
    target = target - target.mean(axis=0, keepdims=True)
    penalty = RIDGE * float(np.mean(s**2)) if s.size else 0.0
    proj = u.T @ target
    shrink = (s**2 / (s**2 + penalty))[:, None] if penalty > 0 else (s > 0)[:, None].astype(float)
    residual = target - u @ (shrink * proj)
    return -float(np.mean(residual**2))


def etran_score(features, labels: TargetLabels) -> float:
    if labels.values is not None:
        return energy_term(features) + regression_term(features, labels.values)
    return energy_term(features) + lda_term(features, class_labels(labels, "etran"))


@register("etran", "ETran: energy (logsumexp of the features) + LDA true-class probability; regression: energy + minus the ridge residual",
          reference="Gholami et al.: ETran: Energy-Based Transferability Estimation, ICCV 2023")
def etran(features, labels: TargetLabels, source_probs: np.ndarray | None = None) -> float:
    return etran_score(features, labels)
