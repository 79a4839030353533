"""Transferability estimators: artifacts of N models -> N x N affinity ``A[source, target]``.

Importing the package registers every estimator family in :data:`ESTIMATORS`
(``saliency``, ``gradxinput``, ``elrp``, ``integrated_gradients``, ``depara``, ``depara_edge``,
``rsa``, ``cka`` with ``cka-linear``, ``cka-rbf``, ``cka-linear-debiased``, ``cka-rbf-debiased``,
``dds``, ``modelgif``);
``name@target`` runs a map-based estimator on the maps of a named attribution target.
"""

from __future__ import annotations

from harness.estimators.base import ESTIMATORS, Affinity, Estimator, EstimatorFn, estimate, parse_estimator, rank_sources
from harness.estimators.params import EstimatorParams
from harness.estimators import attribution_maps as _attribution_maps  # noqa: F401  (registers saliency, gradxinput, elrp)
from harness.estimators import depara as _depara  # noqa: F401  (registers depara, depara_edge)
from harness.estimators import rsa as _rsa  # noqa: F401  (registers rsa)
from harness.estimators import cka as _cka  # noqa: F401  (registers cka and its four explicit variants)
from harness.estimators import dds as _dds  # noqa: F401  (registers dds; dds.dds_matrix reaches its whole grid)
from harness.estimators import modelgif as _modelgif  # noqa: F401  (registers modelgif, reads gradient_field maps)

__all__ = ["ESTIMATORS", "Estimator", "parse_estimator", "Affinity", "EstimatorFn", "EstimatorParams", "estimate", "rank_sources"]
