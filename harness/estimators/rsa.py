"""RSA baseline: Spearman between models' correlation-distance matrices over image pairs.

As the seed does for both of its distance computations (DEPARA's edges and RSA), every
feature column is centred over the probe images before the distances are taken.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harness.probing.artifacts import ModelArtifacts
from harness.estimators.base import register, stacked_features
from harness.estimators.model_vectors import model_vectors
from harness.estimators.params import EstimatorParams
from harness.estimators.ranks import condensed_distances, standardized_ranks, unit_vector_affinity


@register("rsa", (), reference="Dwivedi & Roig, Representation Similarity Analysis for Efficient Task Taxonomy & Transfer Learning, CVPR 2019")
def rsa_affinity(artifacts: Sequence[ModelArtifacts], params: EstimatorParams) -> np.ndarray:
    """A[s, t] = Spearman(pdist(F_s - mean, 'correlation'), pdist(F_t - mean, 'correlation')), columns centred."""
    ranks = model_vectors(stacked_features(artifacts), "rsa",
                          lambda f: standardized_ranks(condensed_distances(f, "correlation", centre_columns=True)))
    return unit_vector_affinity(ranks, params.chunk_bytes)
