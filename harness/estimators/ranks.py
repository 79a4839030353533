"""Spearman correlation between models' image-pair distance vectors, for all pairs at once.

Each model's condensed distance vector (n(n-1)/2 entries, ~500k for 1000 images) is rank
transformed once (average ranks for ties, as scipy.stats.spearmanr does), centred and scaled
to unit norm; Spearman for every pair of models is then the inner product of their rows of Z,
one dot product per pair (:func:`pairwise_dots`), or block matrix products once Z is spilled to disk.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable

import numpy as np
from scipy.spatial.distance import pdist
from scipy.stats import rankdata


def condensed_distances(features: np.ndarray, metric: str, centre_columns: bool) -> np.ndarray:
    """pdist over image pairs; pairs with an undefined distance count as distance 1.

    pdist gives NaN for 'cosine' when a row has zero norm and for 'correlation' when a row is
    constant. We read those as similarity 0 (distance 1), the same convention as the map
    cosine for zero maps, so degenerate features stay NaN-free and rankable.
    """
    f = np.asarray(features, dtype=np.float64)
    if centre_columns:
        f = f - f.mean(axis=0, keepdims=True)
    d = pdist(f, metric)
    d[~np.isfinite(d)] = 1.0
    return d


def standardized_ranks(vector: np.ndarray) -> np.ndarray:
    """Average ranks, centred, unit norm; a constant vector (no ranking) becomes all zeros."""
    r = rankdata(vector)  # method='average': tie-aware
    r -= r.mean()
    norm = float(np.linalg.norm(r))
    return r / norm if norm > 0 else np.zeros_like(r)


def spearman_matrix(vectors: Iterable[np.ndarray], chunk_bytes: int = 256 * 2**20) -> np.ndarray:
    """Spearman between every pair of equal-length vectors; diagonal 1.

    Off-diagonal pairs involving a constant vector get 0 (Spearman is undefined there; 0 says
    "no evidence of shared structure" and keeps the matrix NaN-free).

    Memory does not grow with the number of models: the vectors are consumed one at a time
    and, once all of them together would exceed ``chunk_bytes``, their standardised ranks
    are spilled to a temporary file and the Gram matrix is accumulated over column chunks.
    """
    return unit_vector_affinity((standardized_ranks(v) for v in vectors), chunk_bytes)


def unit_vector_affinity(unit_vectors: Iterable[np.ndarray], chunk_bytes: int = 256 * 2**20) -> np.ndarray:
    """Inner products of every pair of unit (or zero) vectors, clipped to [-1, 1], diagonal 1.

    The common last step of the Gram-type estimators (Spearman of standardised ranks, CKA and
    DDS of normalised centred matrices); rounding can push a product of unit vectors past 1.
    """
    s = inner_product_matrix(unit_vectors, chunk_bytes)
    np.clip(s, -1.0, 1.0, out=s)
    np.fill_diagonal(s, 1.0)
    return s


def inner_product_matrix(vectors: Iterable[np.ndarray], chunk_bytes: int = 256 * 2**20) -> np.ndarray:
    """G[s, t] = <v_s, v_t> for equal-length float64 vectors, memory bounded as in :func:`spearman_matrix`.

    Shared by every estimator that reduces each model to one (already normalised) vector (CKA's
    centred Gram matrices, DDS's comparisons): in memory one dot product per pair (:func:`pairwise_dots`),
    spilled to disk block matrix products.
    """
    with _RankStore(chunk_bytes) as store:
        for v in vectors:
            store.add(np.asarray(v, dtype=np.float64))
        return store.gram()


def pairwise_dots(rows: list[np.ndarray]) -> np.ndarray:
    """G[s, t] = <rows[s], rows[t]>, each entry one dot product of the two vectors alone.

    A matrix product would be faster, but its entries depend in the last bits on where the two
    rows sit among the others (BLAS tiles the product by position): adding a model would then
    change the other pairs' values by ~1e-17 and no evaluation of them could be reused (see
    :mod:`harness.runtime.cache.derived`). One dot per pair keeps A[s, t] a function of s and t
    only; at 38 models x 200 images it costs ~10 ms.
    """
    n = len(rows)
    g = np.empty((n, n))
    for s in range(n):
        for t in range(s, n):
            g[s, t] = g[t, s] = float(np.dot(rows[s], rows[t]))
    return g


class _RankStore:
    """Rows of Z kept in memory while small, else in one float64 file per row on disk."""

    def __init__(self, chunk_bytes: int) -> None:
        self.chunk_bytes, self.rows, self.files, self.length, self.tmp = chunk_bytes, [], [], 0, None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        if self.tmp is not None:
            self.tmp.cleanup()

    def add(self, z: np.ndarray) -> None:
        self.length = z.shape[0]
        count = len(self.rows) + len(self.files) + 1
        if self.tmp is None and count * z.nbytes <= self.chunk_bytes:
            self.rows.append(z)
            return
        if self.tmp is None:
            self.tmp = tempfile.TemporaryDirectory(prefix="harness-ranks-")
            for row in self.rows:
                self._spill(row)
            self.rows = []
        self._spill(z)

    def _spill(self, z: np.ndarray) -> None:
        path = os.path.join(self.tmp.name, f"{len(self.files)}.f64")
        z.astype(np.float64).tofile(path)
        self.files.append(path)

    def gram(self) -> np.ndarray:
        if self.tmp is None:
            return pairwise_dots(self.rows)
        n = len(self.files)
        step = max(1, self.chunk_bytes // (8 * n))
        s = np.zeros((n, n))
        for start in range(0, self.length, step):
            count = min(step, self.length - start)
            block = np.stack([np.fromfile(f, dtype=np.float64, count=count, offset=8 * start) for f in self.files])
            s += block @ block.T
        return s
