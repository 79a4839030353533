"""ModelGiF (ICCV 2023): functional similarity of two models = agreement of their gradient fields.

A[s, t] = mean over probe images of cos(field_s[i], field_t[i]), where ``field`` is the
``gradient_field`` map (:mod:`harness.attribution.gradient_field`: the model's input gradient
averaged along the straight path from the reference image to probe image i). The paper
reports a distance, the mean of ``1 - cos``; the harness wants higher = closer, so this is
``1 - distance``. Identical fields give 1, opposite ones (a model and its negation) -1; a
zero field has cosine 0 with everything. The diagonal is 1. ``modelgif@energy`` reads the
fields of the ``energy`` target.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harness.attribution.named_targets import map_key
from harness.estimators.attribution_maps import mean_cosine_affinity
from harness.estimators.base import register, stacked_maps
from harness.estimators.params import EstimatorParams
from harness.probing.artifacts import ModelArtifacts

MODELGIF_PAPER = "Song et al., ModelGiF: Gradient Fields for Model Functional Distance, ICCV 2023"
#: The attribution method whose maps ModelGiF reads.
FIELD_METHOD = "gradient_field"


@register("modelgif", (FIELD_METHOD,), reference=MODELGIF_PAPER)
def modelgif_affinity(artifacts: Sequence[ModelArtifacts], params: EstimatorParams) -> np.ndarray:
    """Mean per-image cosine of the models' gradient fields on paths from the reference image (ModelGiF).

    Needs the ``gradient_field`` attribution method in the run (``--methods gradient_field``).
    """
    return mean_cosine_affinity(stacked_maps(artifacts, map_key(FIELD_METHOD, params.target)), params.chunk_bytes)
