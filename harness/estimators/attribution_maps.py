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
from harness.estimators.pair_values import PairValues, content_digest
from harness.estimators.reuse import part

MAP_METHODS = ("saliency", "gradxinput", "elrp", "integrated_gradients")
ATTRIBUTION_MAPS_PAPER = "Song et al., Deep Model Transferability from Attribution Maps, NeurIPS 2019"


#: Bytes of one model's unit rows per dot product (a whole number of images): fixed, so that the
#: blocks, and with them every pair's rounding, do not depend on how many models are compared.
#: Measured (39 models x 200 images x 64^2 px; 20 models x 50 images x 224^2 px): 512 KiB 0.16 s /
#: 0.66 s (one 224 px image per block: Python calls dominate), 2 MiB 0.20 s / 0.17 s.
BLOCK_BYTES = 2 * 2**20


def mean_cosine_affinity(maps: Sequence[np.ndarray], chunk_bytes: int = 256 * 2**20) -> np.ndarray:
    """Mean per-image cosine between every pair of models' maps, diagonal 1.

    With every (model, image) row normalised, sum_i cos(s_i, t_i) is a dot product of the two
    models' concatenated unit rows. Images are read in chunks to bound memory (N x n x pixels
    float64 can reach gigabytes for 40 models), each chunk's unit rows written in place into
    one float64 buffer, and every pair's dot product is accumulated over fixed blocks of
    images (:data:`BLOCK_BYTES`) one pair at a time: A[s, t] is then a function of s and t
    alone, bit for bit, whichever other models are in the zoo. So pairs whose values were kept
    by an earlier run are read back (:mod:`harness.estimators.pair_values`) and only the others
    computed, and an evaluation of unchanged pairs can be reused when a model is added.
    Measured on the 38-model default zoo: all pairs of the three map estimators in ~0.5 s (1.5 s
    with per-model temporaries stacked; a single matrix product would be ~30% faster but rounds
    each pair by position).
    """
    n_models = len(maps)
    n_images, n_pix = maps[0].shape
    kept = PairValues(f"mean_cosine:block_bytes={BLOCK_BYTES}", [content_digest(m) for m in maps])
    pairs = kept.missing(n_models)
    sums = _pair_sums(maps, pairs, chunk_bytes)
    kept.put_all(sums)
    kept.save()
    total = np.zeros((n_models, n_models))
    for s in range(n_models):
        for t in range(s + 1, n_models):
            total[s, t] = total[t, s] = sums[s, t] if (s, t) in sums else kept.get(s, t)
    affinity = total / n_images
    np.fill_diagonal(affinity, 1.0)
    return affinity


def _pair_sums(maps: Sequence[np.ndarray], pairs: list[tuple[int, int]], chunk_bytes: int) -> dict[tuple[int, int], float]:
    """sum_i cos(s_i, t_i) for each pair (s, t), accumulated block by block of :data:`BLOCK_BYTES`."""
    sums = dict.fromkeys(pairs, 0.0)
    involved = sorted({k for pair in pairs for k in pair})
    if not involved:
        return sums
    slot = {k: i for i, k in enumerate(involved)}
    n_images, n_pix = maps[0].shape
    row_bytes = 8 * max(n_pix, 1)
    block = max(1, BLOCK_BYTES // row_bytes)
    step = max(block, chunk_bytes // (len(involved) * row_bytes) // block * block)  # a whole number of blocks
    buffer = np.empty((len(involved), min(step, n_images), n_pix))
    for start in range(0, n_images, step):
        count = min(step, n_images - start)
        for k in involved:
            rows = buffer[slot[k], :count]
            rows[...] = maps[k][start : start + count]
            _normalise_rows(rows)
        for first in range(0, count, block):
            last = min(first + block, count)
            unit = {k: buffer[slot[k], first:last].ravel() for k in involved}
            for s, t in pairs:
                sums[s, t] += float(np.dot(unit[s], unit[t]))
    return sums


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
