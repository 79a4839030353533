"""DEPARA (CVPR 2020) as the seed code computes it, and its edge term alone.

- Nodes V[s, t]: the gradient*input map affinity (:mod:`harness.estimators.attribution_maps`), the mean
  over probe images of the per-image cosine, diagonal 1. This is what the seed's
  attribution-map code stores (its affinity divided by the number of images).
- Edges E[s, t] (``depara_edge``): per model, the probe-layer features (images x units) with
  every column centred, cosine distances between all image pairs (``pdist(.., 'cosine')``),
  and the Spearman correlation of two models' condensed distance vectors; diagonal 1.
  Tie-aware average ranks, where the seed used argsort ranks (identical without ties).
- DEPARA S = V / 1000 + lambda * E, exactly the seed's ``affinity / 1000 + lambda * edge``
  (lambda 0.25 Taskonomy, 0.03 COCO, 0.27 Indoor). With V a mean over images (in [-1, 1]),
  V / 1000 is a tie-breaker next to lambda * E, so the seed's DEPARA ranks sources essentially
  by E; the division by 1000 matched a V stored as a *sum* over the seed's 1000 images. The
  report keeps V (``gradxinput``) and E (``depara_edge``) as their own estimators.
  The diagonal is 1/1000 + lambda (rankings skip it).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harness.probing.artifacts import ModelArtifacts
from harness.attribution.named_targets import map_key
from harness.common.errors import HarnessError
from harness.estimators.base import register, stacked_features, stacked_maps
from harness.estimators.attribution_maps import map_affinity
from harness.estimators.reuse import part
from harness.estimators.params import EstimatorParams
from harness.estimators.model_vectors import model_vectors
from harness.estimators.ranks import condensed_distances, standardized_ranks, unit_vector_affinity

DEPARA_PAPER = "Song et al., DEPARA: Deep Attribution Graph for Deep Knowledge Transferability, CVPR 2020"

#: The seed's scale of the node term: ``affinity / 1000``.
SEED_NODE_SCALE = 1e-3


def depara_edges(features: Sequence[np.ndarray]) -> np.ndarray:
    """E[s, t]: Spearman between centred-cosine image-pair distance vectors; diagonal 1.

    Each model's standardised ranks are kept across runs (see :mod:`harness.estimators.model_vectors`).
    """
    return unit_vector_affinity(model_vectors(features, "depara_edge", edge_ranks))


def edge_ranks(features: np.ndarray) -> np.ndarray:
    """One model's standardised ranks of its centred-cosine image-pair distances."""
    return standardized_ranks(condensed_distances(features, "cosine", centre_columns=True))


@register("depara_edge", (), reference=DEPARA_PAPER)
def depara_edge_affinity(artifacts: Sequence[ModelArtifacts], params: EstimatorParams) -> np.ndarray:
    """E alone: DEPARA's edge similarity of the models' probe-layer features."""
    return shared_edges(artifacts)


def shared_edges(artifacts: Sequence[ModelArtifacts]) -> np.ndarray:
    """:func:`depara_edges` of the models' features (shared within a run; see :mod:`harness.estimators.reuse`)."""
    return part("depara_edges", artifacts, lambda: depara_edges(stacked_features(artifacts)))


@register("depara", ("gradxinput",), reference=DEPARA_PAPER)
def depara_affinity(artifacts: Sequence[ModelArtifacts], params: EstimatorParams) -> np.ndarray:
    """S = V / 1000 + lambda * E with V the gradient*input map affinity (the seed's computation)."""
    key = map_key("gradxinput", params.target)
    maps = stacked_maps(artifacts, key)
    feats = stacked_features(artifacts)
    for art, m, f in zip(artifacts, maps, feats):
        if m.shape[0] != f.shape[0]:
            raise HarnessError(
                f"model {art.model_id!r}: {key!r} maps cover {m.shape[0]} images but features "
                f"cover {f.shape[0]}; both must come from the same probe set"
            )
    node = map_affinity(artifacts, key, params.chunk_bytes)
    return SEED_NODE_SCALE * node + params.depara_lambda * shared_edges(artifacts)
