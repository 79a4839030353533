"""What a labelled estimator receives, and the registry it lives in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from harness.common.errors import HarnessError
from harness.common.registry import Registry


@dataclass(frozen=True)
class TargetLabels:
    """Labels of one target task on the probe images (rows in probe-set order).

    ``classes`` is an int vector (n,) for classification targets, or None. ``values`` is a
    float matrix (n, k) for regression targets (dense labels pooled to a per-image vector; see
    :mod:`harness.probes.labels`), or None. Regression targets also get ``classes``: the
    quantile bins of the first principal component of ``values``, so that the estimators that
    only define classification (LEEP, NLEEP, H-score, TransRate, GBC) still apply; LogME uses
    ``values`` directly.
    """

    task: str
    classes: np.ndarray | None
    values: np.ndarray | None

    @property
    def n_images(self) -> int:
        return int(len(self.classes) if self.classes is not None else len(self.values))


@dataclass(frozen=True)
class LabelledEstimator:
    """One registered estimator: ``fn(features, labels, source_probs)`` -> score (higher = better).

    ``reference``: the paper (authors, title, venue year), shown in the docs and ``harness list``.
    ``default``: run when ``--labelled-estimators`` is not given (variants and wrappers are off).
    ``terms`` and ``combine``: for estimators that are defined across the *set* of sources for a
    target (NCTI normalises each term over the candidate models): ``terms(features, labels,
    source_probs)`` gives one source's raw terms (m,), and ``combine`` maps the (sources, m)
    matrix of one target column to one score per source. ``fn`` alone is then the
    single-pair score on a fixed scale (documented per estimator).
    """

    name: str
    fn: Callable[[np.ndarray, TargetLabels, np.ndarray | None], float]
    description: str
    needs_source_probs: bool = False
    reference: str = ""
    default: bool = True
    terms: Callable[[np.ndarray, TargetLabels, np.ndarray | None], np.ndarray] | None = None
    combine: Callable[[np.ndarray], np.ndarray] | None = None


class LabelledRegistry(Registry[LabelledEstimator]):
    """The registry, plus the names run by default."""

    def default_names(self) -> list[str]:
        return [name for name in self.names() if self.get(name).default]


LABELLED_ESTIMATORS: LabelledRegistry = LabelledRegistry("labelled estimator")


def register(name: str, description: str, needs_source_probs: bool = False, *, reference: str,
             default: bool = True, terms=None, combine=None):
    """Decorator registering a score function under ``name`` (``reference`` is required: every estimator cites its paper)."""

    def decorate(fn):
        LABELLED_ESTIMATORS.add(name, LabelledEstimator(name, fn, description, needs_source_probs, reference, default,
                                                        terms, combine))
        return fn

    return decorate


def default_labelled_names() -> list[str]:
    """Names of the estimators a run uses when ``--labelled-estimators`` is not given."""
    return LABELLED_ESTIMATORS.default_names()


def class_labels(labels: TargetLabels, estimator: str) -> np.ndarray:
    """The integer class vector, renumbered 0..K-1 (classes absent from the probe set dropped)."""
    if labels.classes is None:
        raise HarnessError(f"estimator {estimator!r}: target {labels.task!r} has no class labels")
    _, y = np.unique(np.asarray(labels.classes), return_inverse=True)
    return y.astype(np.int64)


class Features:
    """One source's (n, d) float64 features with its SVDs computed once.

    A labelled benchmark scores every source against every target task: the decompositions
    depend on the source only, so they are cached here instead of redone per target.
    """

    def __init__(self, features: np.ndarray) -> None:
        f = np.asarray(features, dtype=np.float64)
        self.array = f.reshape(f.shape[0], -1)
        self._svd: tuple[np.ndarray, np.ndarray] | None = None
        self._centred_svd: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.array.shape

    def svd(self) -> tuple[np.ndarray, np.ndarray]:
        """(U, s) of the raw features."""
        if self._svd is None:
            u, s, _ = np.linalg.svd(self.array, full_matrices=False)
            self._svd = (u, s)
        return self._svd

    def centred_svd(self) -> tuple[np.ndarray, np.ndarray]:
        """(U, s) of the column-centred features."""
        if self._centred_svd is None:
            u, s, _ = np.linalg.svd(self.array - self.array.mean(axis=0, keepdims=True), full_matrices=False)
            self._centred_svd = (u, s)
        return self._centred_svd


def prepared(features) -> Features:
    """``features`` as :class:`Features` (kept if it already is one)."""
    return features if isinstance(features, Features) else Features(features)


def as_features(features) -> np.ndarray:
    """(n, d) float64 features; more than 2-D is flattened per image."""
    return prepared(features).array


def pca(features, keep_variance: float | None = None, max_dims: int | None = None) -> np.ndarray:
    """Centred features projected on their leading principal components.

    ``keep_variance``: smallest number of components explaining that fraction of the variance;
    ``max_dims``: at most that many components.
    """
    u, s = prepared(features).centred_svd()
    k = len(s)
    if keep_variance is not None and s.size and np.sum(s**2) > 0:
        ratio = np.cumsum(s**2) / np.sum(s**2)
        k = int(np.searchsorted(ratio, keep_variance) + 1)
    if max_dims is not None:
        k = min(k, max_dims)
    return u[:, :k] * s[:k]
