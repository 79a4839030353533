"""Attribution-map affinities (NeurIPS 2019): saliency, gradient*input, epsilon-LRP, integrated gradients.

A[s, t] = mean over probe images of cos(map_s[i], map_t[i]); the diagonal is 1. A zero map
(e.g. a dead probe layer) has cosine 0 with everything instead of NaN. Each runs on the maps
of the estimator's attribution target (``gradxinput@energy`` reads ``gradxinput@energy`` maps).
``second_order`` maps are not an estimator: on ReLU nets with a linear target they equal
gradient*input, and they are not the deliberative-explanations seed's 2ndG.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harness.probing.artifacts import ModelArtifacts
from harness.attribution.named_targets import map_key
from harness.estimators.base import register, stacked_maps
from harness.estimators.params import EstimatorParams
from harness.estimators.reuse import part

MAP_METHODS = ("saliency", "gradxinput", "elrp", "integrated_gradients")
ATTRIBUTION_MAPS_PAPER = "Song et al., Deep Model Transferability from Attribution Maps, NeurIPS 2019"


def mean_cosine_affinity(maps: Sequence[np.ndarray], chunk_bytes: int = 256 * 2**20) -> np.ndarray:
    """Mean per-image cosine between every pair of models' maps, diagonal 1.

    With every (model, image) row normalised, sum_i cos(s_i, t_i) is one dot product of the
    models' concatenated unit rows, so a chunk of images costs one BLAS matrix product.
    Images are processed in chunks to bound memory (N x n x pixels float64 can reach
    gigabytes for 40 models); each chunk's unit rows are written in place into one float64
    buffer (no per-model temporaries to stack: on the 38-model default zoo this took the
    three map estimators from 1.5 s to ~0.75 s).
    """
    n_models = len(maps)
    n_images, n_pix = maps[0].shape
    step = max(1, chunk_bytes // (8 * n_models * max(n_pix, 1)))
    total = np.zeros((n_models, n_models))
    buffer = np.empty((n_models, min(step, n_images), n_pix))
    for start in range(0, n_images, step):
        count = min(step, n_images - start)
        unit = buffer[:, :count]
        for k, m in enumerate(maps):
            unit[k] = m[start : start + count]
            _normalise_rows(unit[k])
        flat = unit.reshape(n_models, count * n_pix)
        total += flat @ flat.T
    affinity = total / n_images
    np.fill_diagonal(affinity, 1.0)
    return affinity


def _normalise_rows(x: np.ndarray) -> None:
    """Rows of a float64 array scaled to unit L2 norm in place; all-zero rows stay zero (cosine 0, not NaN)."""
    norms = np.sqrt(np.einsum("ip,ip->i", x, x))
    zero = norms == 0
    norms[zero] = 1.0
    x /= norms[:, None]
    x[zero] = 0.0


def map_affinity(artifacts: Sequence[ModelArtifacts], key: str, chunk_bytes: int) -> np.ndarray:
    """:func:`mean_cosine_affinity` of the models' ``key`` maps (shared within a run; see :mod:`harness.estimators.reuse`)."""
    return part(("mean_cosine", key, chunk_bytes), artifacts, lambda: mean_cosine_affinity(stacked_maps(artifacts, key), chunk_bytes))


def _map_estimator(method: str):
    def estimator(artifacts: Sequence[ModelArtifacts], params: EstimatorParams) -> np.ndarray:
        return map_affinity(artifacts, map_key(method, params.target), params.chunk_bytes)

    estimator.__name__ = f"{method}_affinity"
    estimator.__doc__ = f"Mean per-image cosine of the models' {method!r} attribution maps."
    return estimator


for _method in MAP_METHODS:
    register(_method, (_method,), reference=ATTRIBUTION_MAPS_PAPER)(_map_estimator(_method))
