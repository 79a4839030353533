"""Centred kernel alignment (CKA) between models' probe-layer features, biased and debiased.

Kornblith, Norouzi, Lee & Hinton, "Similarity of Neural Network Representations Revisited",
ICML 2019: CKA(K, L) = HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L)) for the n x n kernel (Gram)
matrices K, L of two models' features over the same n probe images. Working on Gram matrices
lets models of any widths be compared.

- HSIC, biased (the ICML 2019 form): ``tr(K H L H) / (n-1)^2`` with ``H = I - 11^T/n``.
- HSIC, debiased: the unbiased estimator of Song et al. (JMLR 2012), as used for CKA by
  Nguyen, Raghu & Kornblith (ICLR 2021). It equals ``sum_{i != j} U(K)_ij U(L)_ij / (n(n-3))``
  where ``U`` is Szekely & Rizzo's (2014) U-centring of the zero-diagonal Gram matrix, which
  makes it an inner product like the biased form. Needs n >= 4 probe images.
- Kernels: ``linear`` (``K = X X^T``) and ``rbf`` (``exp(-|x_i - x_j|^2 / (2 sigma^2))``) with
  ``sigma = RBF_MEDIAN_FRACTION *`` the median Euclidean distance between distinct probe
  images, the paper's bandwidth heuristic ("a fraction of the median distance"; it reports 0.2,
  0.4 and 0.8). We take 0.8: on wide features with few images, small bandwidths push every
  off-diagonal kernel value towards 0 (the kernel tends to the identity for all models), which
  erases the structure CKA compares. The paper's code takes the median of the squared distances
  over the full n x n matrix (diagonal zeros included); we take it over distinct pairs only.

Registered: ``cka-linear``, ``cka-rbf``, ``cka-linear-debiased``, ``cka-rbf-debiased``, and
``cka`` = ``cka-linear-debiased``. Why that default: Kornblith et al. found linear and RBF
CKA to behave alike and recommend linear (no bandwidth to choose, cheaper); and the biased
HSIC is dominated by its bias when the probe set is small next to the feature width (for
48 images and ~1000 units, two *independent* random representations have linear Gram matrices
close to a multiple of the identity and biased CKA near 1), which the debiased estimator
removes. Every pair is one inner product of the models' normalised centred Gram matrices
(:func:`harness.estimators.ranks.inner_product_matrix`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harness.common.errors import HarnessError
from harness.estimators.base import register, stacked_features
from harness.estimators.model_vectors import model_vectors
from harness.estimators.params import EstimatorParams
from harness.estimators.ranks import unit_vector_affinity
from harness.probing.artifacts import ModelArtifacts

CKA_PAPER = "Kornblith et al., Similarity of Neural Network Representations Revisited, ICML 2019"
DEBIASED_PAPER = (CKA_PAPER + "; debiased HSIC: Song et al., JMLR 2012, as in Nguyen, Raghu & Kornblith, "
                  "Do Wide and Deep Networks Learn the Same Things?, ICLR 2021")

CKA_KERNELS = ("linear", "rbf")
#: RBF bandwidth sigma as a fraction of the median distance between distinct probe images.
RBF_MEDIAN_FRACTION = 0.8


def linear_gram(features: np.ndarray) -> np.ndarray:
    """K = X X^T in float64 (n x n)."""
    x = np.asarray(features, dtype=np.float64)
    return x @ x.T


def squared_distances(gram: np.ndarray) -> np.ndarray:
    """|x_i - x_j|^2 from a linear Gram matrix, rounding negatives clipped to 0, zero diagonal."""
    diag = np.diag(gram)
    d2 = diag[:, None] + diag[None, :] - 2.0 * gram
    np.maximum(d2, 0.0, out=d2)
    np.fill_diagonal(d2, 0.0)
    return d2


def rbf_from_squared(d2: np.ndarray, fraction: float) -> np.ndarray:
    """RBF kernel with sigma = ``fraction`` * median distance over distinct pairs.

    If that median is 0 (most images coincide) the kernel's limit is used: 1 for coinciding
    images, 0 otherwise.
    """
    n = d2.shape[0]
    median = float(np.median(np.sqrt(d2[np.triu_indices(n, 1)])))
    sigma = fraction * median
    if sigma > 0:
        return np.exp(-d2 / (2.0 * sigma * sigma))
    return (d2 == 0).astype(np.float64)


def rbf_gram(features: np.ndarray, fraction: float = RBF_MEDIAN_FRACTION) -> np.ndarray:
    """The RBF Gram matrix of the features (bandwidth from the median distance)."""
    return rbf_from_squared(squared_distances(linear_gram(features)), fraction)


def kernel_gram(features: np.ndarray, kernel: str) -> np.ndarray:
    """The n x n Gram matrix of one model's features for a kernel of :data:`CKA_KERNELS`."""
    if kernel == "linear":
        return linear_gram(features)
    if kernel == "rbf":
        return rbf_gram(features)
    raise HarnessError(f"CKA kernel {kernel!r}: expected one of {', '.join(CKA_KERNELS)}")


def centred(gram: np.ndarray) -> np.ndarray:
    """H K H: rows and columns of the symmetric Gram matrix centred (biased HSIC)."""
    k = np.asarray(gram, dtype=np.float64)
    col = k.mean(axis=0)
    return k - col[None, :] - col[:, None] + col.mean()


def u_centred(gram: np.ndarray) -> np.ndarray:
    """Szekely & Rizzo's U-centring of the zero-diagonal Gram matrix (debiased HSIC), diagonal 0."""
    k = np.array(gram, dtype=np.float64)
    n = k.shape[0]
    np.fill_diagonal(k, 0.0)
    rows = k.sum(axis=0) / (n - 2)
    u = k - rows[None, :] - rows[:, None] + k.sum() / ((n - 1) * (n - 2))
    np.fill_diagonal(u, 0.0)
    return u


#: A centred matrix whose norm is below this fraction of ``n * max|K|`` is rounding noise of a
#: constant kernel (e.g. constant features under RBF) and counts as zero.
ZERO_TOLERANCE = 1e-12


def unit_upper(matrix: np.ndarray, scale: float = 0.0) -> np.ndarray:
    """A symmetric matrix as a unit vector v with <v_A, v_B> = <A, B>_F / (|A|_F |B|_F).

    The upper triangle only (half the memory of the full matrix): off-diagonal entries weigh
    sqrt(2) for their mirror image. A matrix with norm <= ``scale`` (rounding noise) gives a
    zero vector: similarity 0 with everything, rather than noise normalised to a unit vector.
    """
    n = matrix.shape[0]
    rows, cols = np.triu_indices(n)
    v = matrix[rows, cols] * np.where(rows == cols, 1.0, np.sqrt(2.0))
    norm = float(np.linalg.norm(v))
    return v / norm if norm > scale else np.zeros_like(v)


def centred_unit_vector(gram: np.ndarray, debiased: bool) -> np.ndarray:
    """The model's normalised (U-)centred Gram matrix; CKA of two models is the dot product."""
    n = gram.shape[0]
    if debiased and n < 4:
        raise HarnessError(f"debiased CKA needs at least 4 probe images, got {n}; use a biased variant or more images")
    noise = ZERO_TOLERANCE * n * float(np.abs(gram).max(initial=0.0))
    return unit_upper(u_centred(gram) if debiased else centred(gram), noise)


def cka_matrix(features: Sequence[np.ndarray], kernel: str = "linear", debiased: bool = True,
               chunk_bytes: int = 256 * 2**20) -> np.ndarray:
    """CKA between every pair of models' (n_images, units) features; one model in memory at a time.

    Each model's normalised centred Gram matrix is kept across runs (see :mod:`harness.estimators.model_vectors`).
    """
    if kernel not in CKA_KERNELS:
        raise HarnessError(f"CKA kernel {kernel!r}: expected one of {', '.join(CKA_KERNELS)}")
    vectors = model_vectors(features, f"cka:{kernel}:{'debiased' if debiased else 'biased'}",
                            lambda f: centred_unit_vector(kernel_gram(np.asarray(f, dtype=np.float64), kernel), debiased))
    return unit_vector_affinity(vectors, chunk_bytes)


def _cka_estimator(kernel: str, debiased: bool):
    def estimator(artifacts: Sequence[ModelArtifacts], params: EstimatorParams) -> np.ndarray:
        return cka_matrix(stacked_features(artifacts), kernel, debiased, params.chunk_bytes)

    hsic = "debiased (unbiased HSIC)" if debiased else "biased HSIC"
    estimator.__name__ = f"cka_{kernel}{'_debiased' if debiased else ''}_affinity"
    estimator.__doc__ = f"CKA of the models' probe-layer features, {kernel} kernel, {hsic}."
    return estimator


for _kernel in CKA_KERNELS:
    for _debiased in (False, True):
        _name = f"cka-{_kernel}" + ("-debiased" if _debiased else "")
        register(_name, (), reference=DEBIASED_PAPER if _debiased else CKA_PAPER)(_cka_estimator(_kernel, _debiased))

register("cka", (), reference=DEBIASED_PAPER,
         description="CKA of the models' probe-layer features: the default variant, linear kernel with debiased HSIC "
                     "(= cka-linear-debiased)")(_cka_estimator("linear", True))
