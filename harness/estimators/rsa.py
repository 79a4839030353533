"""RSA baseline: Spearman between models' correlation-distance matrices over image pairs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harness.artifacts import ModelArtifacts
from harness.estimators.base import ESTIMATORS, stacked_features
from harness.estimators.params import EstimatorParams
from harness.estimators.ranks import condensed_distances, spearman_matrix


@ESTIMATORS.register("rsa")
def rsa_affinity(artifacts: Sequence[ModelArtifacts], params: EstimatorParams) -> np.ndarray:
    """A[s, t] = Spearman(pdist(F_s, 'correlation'), pdist(F_t, 'correlation')), features uncentred."""
    feats = stacked_features(artifacts)
    return spearman_matrix(condensed_distances(f, "correlation", centre_columns=False) for f in feats)
