"""Duality Diagram Similarity (DDS) between models' probe-layer features, and its whole grid.

Dwivedi, Huang, Cichy & Roig, "Duality Diagram Similarity: a generic framework for
initialization selection in task transfer learning", ECCV 2020. Each model's (images x units)
features X go through three choices, and two models' results are compared by a fourth:

1. normalisation of X (:data:`DDS_NORMALISATIONS`): ``none``; ``centring`` (every unit's mean
   over the images removed); ``zscore`` (centred and divided by the unit's population standard
   deviation, as scikit-learn's StandardScaler; a constant unit keeps scale 1); ``layernorm``
   (every image standardised over all its units; constant rows become 0).
2. an image x image kernel or distance (:data:`DDS_FUNCTIONS`): distances ``pearson``
   (1 - correlation of two images' feature vectors), ``euclidean``, ``cosine`` (1 - cosine);
   kernels ``linear`` (X X^T), ``rbf`` (sigma = :data:`DDS_RBF_FRACTION` x the median distance
   between distinct images, the paper code's 0.5) and ``laplacian`` (``exp(-gamma |x_i - x_j|_1)``
   with gamma = 1 / units, scikit-learn's default, which the paper's code uses). An undefined
   correlation or cosine (a constant or zero image) counts as distance 1, as in
   :func:`harness.estimators.ranks.condensed_distances`; distance diagonals are 0.
3. the comparison of two n x n matrices (:data:`DDS_COMPARISONS`): ``cka`` (biased HSIC, the
   matrices centred like Gram matrices), ``cka-debiased`` (unbiased HSIC; see
   :mod:`harness.estimators.cka`), ``pearson`` and ``spearman`` (correlations of the n(n-1)/2
   off-diagonal entries; ``centring`` + ``pearson`` + ``spearman`` is RSA, :mod:`harness.estimators.rsa`).

Registered: ``dds`` = ``zscore`` + ``laplacian`` + ``cka-debiased``, the setting the paper reports
best on Taskonomy (its ablation: Laplacian kernel, z-scored features, debiased CKA; the authors'
published notebook gives it the highest correlation with transfer performance, 0.860, of all
kernel x normalisation x biased/debiased settings). The rest of the grid is reached through
:func:`dds_matrix`, not through registered names, to keep the estimator list short.

Deviations from the paper: group, instance and batch normalisation need the feature map's
channel layout, which the flattened (and possibly pooled) probe-layer features no longer carry,
so they are left out (batch norm per unit equals ``zscore``); the authors' code adds eps = 1e-9
to variances where we treat a zero variance as 1; the RBF median is taken over distinct image
pairs (the authors' code includes the zero diagonal of the n x n matrix).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harness.common.errors import HarnessError
from harness.estimators.base import register, stacked_features
from harness.estimators.model_vectors import model_vectors
from harness.estimators.cka import ZERO_TOLERANCE, centred, linear_gram, rbf_from_squared, squared_distances, u_centred, unit_upper
from harness.estimators.params import EstimatorParams
from harness.estimators.ranks import standardized_ranks, unit_vector_affinity
from harness.probing.artifacts import ModelArtifacts

DDS_PAPER = ("Dwivedi, Huang, Cichy & Roig, Duality Diagram Similarity: a generic framework for initialization "
             "selection in task transfer learning, ECCV 2020")

DDS_NORMALISATIONS = ("none", "centring", "zscore", "layernorm")
DDS_FUNCTIONS = ("pearson", "euclidean", "cosine", "linear", "rbf", "laplacian")
DDS_COMPARISONS = ("cka", "cka-debiased", "pearson", "spearman")
#: The registered ``dds``: the paper's best setting.
DDS_DEFAULT = ("zscore", "laplacian", "cka-debiased")
#: RBF bandwidth as a fraction of the median distance (the DDS code's ``gram_rbf(x, 0.5)``).
DDS_RBF_FRACTION = 0.5


def _standardise(x: np.ndarray, axis: int) -> np.ndarray:
    mean = x.mean(axis=axis, keepdims=True)
    std = x.std(axis=axis, keepdims=True)
    return (x - mean) / np.where(std > 0, std, 1.0)


def normalise(features: np.ndarray, normalisation: str) -> np.ndarray:
    """Step 1: one model's features, normalised (float64 copy)."""
    x = np.asarray(features, dtype=np.float64)
    if normalisation == "none":
        return x.copy()
    if normalisation == "centring":
        return x - x.mean(axis=0, keepdims=True)
    if normalisation == "zscore":
        return _standardise(x, axis=0)
    return _standardise(x, axis=1)  # layernorm


def _one_minus_cosine(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1)
    ok = norms > 0
    unit = np.divide(x, norms[:, None], out=np.zeros_like(x), where=ok[:, None])
    d = 1.0 - unit @ unit.T
    d[~(ok[:, None] & ok[None, :])] = 1.0  # undefined cosine: similarity 0
    np.fill_diagonal(d, 0.0)
    return np.clip(d, 0.0, 2.0)


def _cityblock(x: np.ndarray) -> np.ndarray:
    """|x_i - x_j|_1 for all image pairs (scipy's compiled pdist: ~20x the numpy broadcast, equal to 1e-12)."""
    from scipy.spatial.distance import pdist, squareform

    return squareform(pdist(x, "cityblock"))


def image_matrix(x: np.ndarray, function: str) -> np.ndarray:
    """Step 2: the n x n kernel or distance matrix of normalised features."""
    if function == "pearson":
        return _one_minus_cosine(x - x.mean(axis=1, keepdims=True))
    if function == "cosine":
        return _one_minus_cosine(x)
    if function == "laplacian":
        return np.exp(-_cityblock(x) / max(x.shape[1], 1))
    gram = linear_gram(x)
    if function == "linear":
        return gram
    d2 = squared_distances(gram)
    return np.sqrt(d2) if function == "euclidean" else rbf_from_squared(d2, DDS_RBF_FRACTION)


def comparison_vector(matrix: np.ndarray, comparison: str) -> np.ndarray:
    """Step 3: the matrix as a vector whose dot products are the comparison (0 vector: no structure)."""
    n = matrix.shape[0]
    noise = ZERO_TOLERANCE * n * float(np.abs(matrix).max(initial=0.0))
    if comparison == "cka":
        return unit_upper(centred(matrix), noise)
    if comparison == "cka-debiased":
        if n < 4:
            raise HarnessError(f"DDS comparison 'cka-debiased' needs at least 4 probe images, got {n}")
        return unit_upper(u_centred(matrix), noise)
    upper = matrix[np.triu_indices(n, 1)]
    if comparison == "spearman":
        return standardized_ranks(upper)
    v = upper - upper.mean()
    norm = float(np.linalg.norm(v))
    return v / norm if norm > noise else np.zeros_like(v)


def _check(value: str, valid: tuple[str, ...], what: str) -> None:
    if value not in valid:
        raise HarnessError(f"DDS {what} {value!r}: expected one of {', '.join(valid)}")


def dds_matrix(features: Sequence[np.ndarray], normalisation: str = DDS_DEFAULT[0], function: str = DDS_DEFAULT[1],
               comparison: str = DDS_DEFAULT[2], chunk_bytes: int = 256 * 2**20) -> np.ndarray:
    """DDS for every pair of models at one grid point; diagonal 1, values in [-1, 1].

    ``features``: per model an (n_images, units) array or lazy view, read one model at a time;
    each model's comparison vector is kept across runs (see :mod:`harness.estimators.model_vectors`).
    """
    _check(normalisation, DDS_NORMALISATIONS, "normalisation")
    _check(function, DDS_FUNCTIONS, "kernel/distance")
    _check(comparison, DDS_COMPARISONS, "comparison")
    vectors = model_vectors(features, f"dds:{normalisation}:{function}:{comparison}",
                            lambda f: comparison_vector(image_matrix(normalise(f, normalisation), function), comparison))
    return unit_vector_affinity(vectors, chunk_bytes)


@register("dds", (), reference=DDS_PAPER)
def dds_affinity(artifacts: Sequence[ModelArtifacts], params: EstimatorParams) -> np.ndarray:
    """DDS of the models' probe-layer features: z-scored units, Laplacian kernel, debiased CKA (the paper's best).

    Other settings of the grid: :func:`dds_matrix`.
    """
    return dds_matrix(stacked_features(artifacts), *DDS_DEFAULT, chunk_bytes=params.chunk_bytes)
