"""k-NN: leave-one-out nearest-neighbour accuracy of the frozen features, a strong simple baseline.

Features are L2-normalised per image and compared by cosine similarity; each image is
predicted from its ``K_NEIGHBOURS`` (10) most similar *other* images.

- Classification: the majority class of the neighbours (a tie goes to the tied class with
  the larger summed similarity); the score is the leave-one-out accuracy in [0, 1].
- Regression targets (``labels.values``): the neighbours' mean label vector; the score is the
  leave-one-out R^2 = 1 - sum ||v_i - vhat_i||^2 / sum ||v_i - vbar||^2 (pooled over the label
  columns; can be negative).

k-NN accuracy of frozen features is a long-standing probe of representation quality and has
been re-evaluated as a transferability estimator in recent benchmarks; no estimator-specific
paper is implied.
"""

from __future__ import annotations

import numpy as np

from harness.estimators.labelled.base import TargetLabels, as_features, class_labels, register

K_NEIGHBOURS = 10


def neighbours(features, k: int = K_NEIGHBOURS) -> tuple[np.ndarray, np.ndarray]:
    """(indices (n, k), cosine similarities (n, k)) of each image's k most similar other images."""
    x = as_features(features)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    sim = x @ x.T
    np.fill_diagonal(sim, -np.inf)
    k = max(1, min(k, len(x) - 1))
    idx = np.argsort(-sim, axis=1, kind="stable")[:, :k]
    return idx, np.take_along_axis(sim, idx, axis=1)


def knn_accuracy(features, y: np.ndarray, k: int = K_NEIGHBOURS) -> float:
    idx, sim = neighbours(features, k)
    n_classes = int(y.max()) + 1
    votes = np.zeros((len(y), n_classes))
    weight = np.zeros((len(y), n_classes))
    rows = np.repeat(np.arange(len(y)), idx.shape[1])
    np.add.at(votes, (rows, y[idx].ravel()), 1.0)
    np.add.at(weight, (rows, y[idx].ravel()), sim.ravel())
    # lexicographic (votes, summed similarity): similarity sums lie in [-k, k], so scaled they never outweigh a vote
    predicted = np.argmax(votes + weight / (4.0 * idx.shape[1]), axis=1)
    return float(np.mean(predicted == y))


def knn_r2(features, values: np.ndarray, k: int = K_NEIGHBOURS) -> float:
    v = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
    idx, _ = neighbours(features, k)
    predicted = v[idx].mean(axis=1)
    total = float(np.sum((v - v.mean(axis=0)) ** 2))
    return 1.0 - float(np.sum((v - predicted) ** 2)) / max(total, 1e-300)


@register("knn", "k-NN: leave-one-out 10-nearest-neighbour accuracy (cosine, L2-normalised features); regression: leave-one-out R^2",
          reference="k-NN accuracy of frozen features (e.g. Kornblith et al. 2019; re-evaluated as a transferability "
                    "estimator in 2025 benchmarks)")
def knn(features, labels: TargetLabels, source_probs: np.ndarray | None = None) -> float:
    if labels.values is not None:
        return knn_r2(features, labels.values)
    return knn_accuracy(features, class_labels(labels, "knn"))
