"""SFDA (Shao et al., ECCV 2022): transferability in a regularised, self-challenging Fisher space.

1. Regularised Fisher discriminant. With class priors pi_c, class means m_c, the within-class
   covariance S_w = sum_c pi_c cov(f | c) is shrunk adaptively,

       S_w' = (1 - lam) S_w + lam (tr(S_w) / d) I,    lam = max(exp(-a sigma_max(S_w)), 1e-10),  a = 5,

   so that features whose within-class spread is small (sigma_max small) get strong
   regularisation and well-spread ones almost none. Class posteriors are the softmax of the
   LDA scores  f S_w'^-1 m_c - 1/2 m_c S_w'^-1 m_c + log pi_c. (Projecting onto the K - 1
   Fisher directions first, as the paper does, gives the same scores: all discriminant
   information lies in those directions; the tests check this against the explicit projection.)
2. ConfMix (self-challenging). Each image is mixed towards the *other* classes: with p_i the
   softened confidence of its own class (the softmax, over classes, of the posteriors, as in
   the authors' release),  f_i' = p_i f_i + (1 - p_i) mbar_{-y_i},  mbar_{-c} the mean of the
   other classes' means. Confident images stay put; uncertain ones are pushed into the other
   classes, so only sources whose classes stay separable under that noise score well.
3. The discriminant is refitted on the mixed features with the same lam, and
   SFDA = 1/n sum_i log p(y_i | f_i')   (the paper's log-likelihood; the authors' release drops
   the log and averages probabilities).

Everything runs in the principal basis of the centred features (cached per source): class
means and images lie in that span, and tr(S_w) / d uses the full feature dimension d, so the
result equals the computation on the raw features.
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_softmax, softmax

from harness.estimators.labelled.base import TargetLabels, class_labels, prepared, register

#: a in lam = exp(-a sigma_max(S_w)) (the authors' value).
SHRINK_RATE = 5.0
MIN_SHRINKAGE = 1e-10


def class_stats(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(priors (K,), means (K, r), within-class covariance S_w (r, r)) with 1/n_c normalisation."""
    onehot = np.eye(int(y.max()) + 1)[y]
    counts = onehot.sum(axis=0)
    means = onehot.T @ x / counts[:, None]
    resid = x - means[y]
    return counts / len(y), means, resid.T @ resid / len(y)


def adaptive_shrinkage(within: np.ndarray) -> float:
    """lam = max(exp(-a sigma_max(S_w)), 1e-10)."""
    top = float(np.linalg.eigvalsh(within)[-1]) if within.size else 0.0
    return max(float(np.exp(-SHRINK_RATE * top)), MIN_SHRINKAGE)


def lda_log_posteriors(x: np.ndarray, y: np.ndarray, dim: int, shrinkage: float | None = None) -> tuple[np.ndarray, float]:
    """(log p(c | x_i) (n, K), lam) of the shrunk LDA fitted on (x, y); ``dim`` is the full feature dimension for tr(S_w)/d."""
    priors, means, within = class_stats(x, y)
    lam = adaptive_shrinkage(within) if shrinkage is None else shrinkage
    r = within.shape[0]
    spread = np.trace(within) / dim
    # constant features have no spread at all: fall back to the identity rather than a singular system
    shrunk = (1 - lam) * within + lam * spread * np.eye(r) if spread > 0 else np.eye(r)
    solved = np.linalg.solve(shrunk, means.T)  # S_w'^-1 m_c as columns (r, K)
    scores = x @ solved - 0.5 * np.sum(means.T * solved, axis=0) + np.log(priors)
    return log_softmax(scores, axis=1), lam


def confmix(x: np.ndarray, y: np.ndarray, log_post: np.ndarray) -> np.ndarray:
    """Each image mixed towards the mean of the other classes' means by its softened own-class confidence."""
    means = class_stats(x, y)[1]
    k = means.shape[0]
    others = (means.sum(axis=0, keepdims=True) - means) / max(k - 1, 1)
    p = softmax(np.exp(log_post), axis=1)[np.arange(len(y)), y][:, None]
    return p * x + (1 - p) * others[y]


def sfda_score(features, y: np.ndarray) -> float:
    source = prepared(features)
    u, s = source.centred_svd()
    x = u * s
    dim = source.shape[1]
    log_post, lam = lda_log_posteriors(x, y, dim)
    mixed = confmix(x, y, log_post)
    log_post, _ = lda_log_posteriors(mixed, y, dim, shrinkage=lam)
    return float(np.mean(log_post[np.arange(len(y)), y]))


@register("sfda", "SFDA: log-likelihood of a shrunk Fisher discriminant refitted after ConfMix noise towards the other classes",
          reference="Shao et al.: Not All Models Are Equal: Predicting Model Transferability "
                    "in a Self-challenging Fisher Space, ECCV 2022")
def sfda(features, labels: TargetLabels, source_probs: np.ndarray | None = None) -> float:
    return sfda_score(features, class_labels(labels, "sfda"))
