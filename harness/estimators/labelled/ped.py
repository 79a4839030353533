"""PED (Li et al., ICCV 2023): simulate the start of fine-tuning as a physical system, then score.

Fine-tuning pushes the target's classes apart; PED models that as a potential energy between
classes and lets the features move before any feature-based estimator scores them. Our
reading of the dynamics (not a line-by-line reimplementation of the authors' code):

- every class c is one particle at its mean m_c, with a Coulomb-like repulsion between
  classes: U = sum_{c < c'} 1 / ||m_c - m_c'||, in units of D, the mean distance between
  class means at the start (so the dynamics do not depend on the feature scale);
- ``STEPS`` explicit Euler steps: the force on class c, F_c = -dU/dm_c
  = sum_{c' != c} (m_c - m_c') / ||m_c - m_c'||^3, moves *every image of class c* by
  STEP * D * F_c (distances in units of D; one step moves a class by at most ``MAX_MOVE`` * D,
  so nearly coincident classes do not jump);
- images keep their offsets from their class mean (the within-class spread is unchanged):
  close classes, which repel most, separate most, as the source would have to separate them.

:func:`register_all` registers ``ped+NAME`` for every feature-based labelled estimator (not
LEEP, which reads the source's class probabilities); none runs by default: the moved features
need their own decompositions for every (source, target) pair, so ``ped+logme`` costs about
1.1 s per pair at 200 images x 1024 units (measured here, against 0.05 s for LogME reusing the
source's SVD), 10 minutes for the default zoo's labelled benchmark. Name them with
``--labelled-estimators``. Regression targets move by their quantile-bin classes.
"""

from __future__ import annotations

import numpy as np

from harness.estimators.labelled.base import LABELLED_ESTIMATORS, LabelledEstimator, TargetLabels, as_features, class_labels

STEPS = 5
STEP = 0.05
MAX_MOVE = 0.5
REFERENCE = "Li et al.: Exploring Model Transferability through the Lens of Potential Energy, ICCV 2023"


def class_forces(means: np.ndarray) -> np.ndarray:
    """F_c = sum_{c' != c} (m_c - m_c') / ||m_c - m_c'||^3 for every class (K, d)."""
    gram = means @ means.T
    sq = np.diag(gram)[:, None] - 2 * gram + np.diag(gram)[None, :]
    dist = np.sqrt(np.maximum(sq, 0.0))
    weight = np.where(dist > 0, 1.0 / np.maximum(dist, 1e-100) ** 3, 0.0)
    np.fill_diagonal(weight, 0.0)
    return weight.sum(axis=1)[:, None] * means - weight @ means


def ped_features(features, y: np.ndarray, steps: int = STEPS, step: float = STEP) -> np.ndarray:
    """The features after ``steps`` steps of class-wise repulsion (n, d)."""
    x = as_features(features).copy()
    onehot = np.eye(int(y.max()) + 1)[y]
    if onehot.shape[1] < 2:
        return x
    means = onehot.T @ x / onehot.sum(axis=0)[:, None]
    pairs = np.sqrt(np.maximum(((means[:, None, :] - means[None, :, :]) ** 2).sum(axis=2), 0.0))
    scale = float(pairs[~np.eye(len(means), dtype=bool)].mean())
    if scale <= 0:
        return x
    u = means / scale
    for _ in range(steps):
        move = step * class_forces(u)
        norm = np.linalg.norm(move, axis=1, keepdims=True)
        move = move * np.minimum(1.0, MAX_MOVE / np.maximum(norm, 1e-300))
        u = u + move
        x += scale * move[y]
    return x


def wrap(inner: LabelledEstimator) -> LabelledEstimator:
    """``ped+NAME``: PED's dynamics, then ``inner`` on the moved features."""
    name = f"ped+{inner.name}"

    def moved(features, labels: TargetLabels) -> np.ndarray:
        return ped_features(features, class_labels(labels, name))

    def fn(features, labels: TargetLabels, source_probs: np.ndarray | None = None) -> float:
        return inner.fn(moved(features, labels), labels, source_probs)

    terms = None
    if inner.terms is not None:
        def terms(features, labels: TargetLabels, source_probs: np.ndarray | None = None) -> np.ndarray:
            return inner.terms(moved(features, labels), labels, source_probs)

    return LabelledEstimator(name, fn, f"PED feature dynamics, then {inner.name}", False,
                             f"{REFERENCE}; then {inner.name}", False, terms, inner.combine)


def register_all() -> None:
    """Register ``ped+NAME`` for every feature-based estimator registered so far."""
    for name in list(LABELLED_ESTIMATORS.names()):
        inner = LABELLED_ESTIMATORS.get(name)
        if inner.needs_source_probs or name.startswith("ped+") or f"ped+{name}" in LABELLED_ESTIMATORS:
            continue
        wrapped = wrap(inner)
        LABELLED_ESTIMATORS.add(wrapped.name, wrapped)
