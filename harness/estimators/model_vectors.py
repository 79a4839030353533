"""Per-model estimator vectors, kept across runs beside the artifact cache.

``rsa``, ``depara_edge``, the ``cka`` family and ``dds`` reduce every model to one normalised
vector (the standardised ranks of its image-pair distances, or its centred Gram matrix as a
unit vector) and compare two models by an inner product. The reduction is the expensive part
(an n x n distance matrix and a rank transform per model); the inner products of all pairs are
cheap (one dot product per pair, :func:`harness.estimators.ranks.pairwise_dots`). A vector depends only on the model's features and the reduction, so a
run that adds one model to a cached zoo computes one vector per reduction and reads the others
back (measured on the default zoo: see docs/scale.md).

Key: the features file's own sha256 (vouched for by the verified cache entry it came from), the
reduction's name with its parameters, and the source of :mod:`harness.estimators` with the
numpy and scipy versions. Features without such a checksum (arrays made in memory, image
subsets of the stability resampling) are never kept: their vectors are computed every time.
Storage, checksums and pruning: :mod:`harness.runtime.cache.derived` (kind ``vectors``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import numpy as np

from harness.runtime.cache import derived


def model_vectors(features: Sequence, reduction: str, reduce: Callable[[object], np.ndarray]) -> Iterator[np.ndarray]:
    """``reduce(f)`` for every model's features ``f``, one at a time, read back where kept before.

    ``reduction`` names the reduction and every parameter it takes (e.g. ``"cka:linear:debiased"``):
    two reductions with the same name must compute the same vector.
    """
    for f in features:
        checksum = getattr(f, "content_sha256", None)
        if checksum is None or not derived.kept():
            yield np.asarray(reduce(f), dtype=np.float64)
            continue
        key = derived.content_key(derived.code_digest("harness.estimators"), checksum, reduction)
        payload = derived.load("vectors", key)
        if payload is not None and len(payload) % 8 == 0:
            yield np.frombuffer(payload, dtype="<f8")
            continue
        vector = np.ascontiguousarray(reduce(f), dtype=np.float64)
        derived.store("vectors", key, vector.astype("<f8", copy=False).tobytes())
        yield vector
