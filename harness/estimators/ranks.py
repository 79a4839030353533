"""Spearman correlation between models' image-pair distance vectors, for all pairs at once.

Each model's condensed distance vector (n(n-1)/2 entries, ~500k for 1000 images) is rank
transformed once (average ranks for ties, as scipy.stats.spearmanr does), centred and scaled
to unit norm; Spearman for every pair of models is then one matrix product Z @ Z.T.
"""

from __future__ import annotations

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


def spearman_matrix(vectors: Iterable[np.ndarray]) -> np.ndarray:
    """Spearman between every pair of equal-length vectors; diagonal 1.

    Off-diagonal pairs involving a constant vector get 0 (Spearman is undefined there; 0 says
    "no evidence of shared structure" and keeps the matrix NaN-free).
    """
    z = np.stack([standardized_ranks(v) for v in vectors])
    s = z @ z.T
    np.clip(s, -1.0, 1.0, out=s)
    np.fill_diagonal(s, 1.0)
    return s
