"""DEPARA (CVPR 2020): node similarity (gradient*input maps) plus lambda * edge similarity.

Edges: per model, column-centred probe-layer features, cosine distance between all image
pairs; E[s, t] = Spearman of the two condensed vectors (tie-aware ranks, where the seed used
argsort ranks). S = V + lambda * E, so the diagonal is 1 + lambda: the method's own score
for a model against itself, kept as is (rankings skip the diagonal anyway).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harness.artifacts import ModelArtifacts
from harness.errors import HarnessError
from harness.estimators.base import ESTIMATORS, stacked_features, stacked_maps
from harness.estimators.maps import mean_cosine_affinity
from harness.estimators.params import EstimatorParams
from harness.estimators.ranks import condensed_distances, spearman_matrix


def depara_edges(features: Sequence[np.ndarray]) -> np.ndarray:
    """E[s, t]: Spearman between centred-cosine image-pair distance vectors; diagonal 1."""
    return spearman_matrix(condensed_distances(f, "cosine", centre_columns=True) for f in features)


@ESTIMATORS.register("depara")
def depara_affinity(artifacts: Sequence[ModelArtifacts], params: EstimatorParams) -> np.ndarray:
    """S = V + lambda * E with V the gradient*input map affinity."""
    maps = stacked_maps(artifacts, "gradxinput")
    feats = stacked_features(artifacts)
    for art, m, f in zip(artifacts, maps, feats):
        if m.shape[0] != f.shape[0]:
            raise HarnessError(
                f"model {art.model_id!r}: 'gradxinput' maps cover {m.shape[0]} images but features "
                f"cover {f.shape[0]}; both must come from the same probe set"
            )
    return mean_cosine_affinity(maps, params.chunk_bytes) + params.depara_lambda * depara_edges(feats)
