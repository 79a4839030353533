"""Transferability estimators: artifacts of N models -> N x N affinity ``A[source, target]``.

Importing the package registers every estimator family in :data:`ESTIMATORS`
(``saliency``, ``gradxinput``, ``elrp``, ``depara``, ``rsa``).
"""

from __future__ import annotations

from harness.estimators.base import ESTIMATORS, Affinity, EstimatorFn, estimate, rank_sources
from harness.estimators.params import EstimatorParams
from harness.estimators import maps as _maps  # noqa: F401  (registers saliency, gradxinput, elrp)
from harness.estimators import depara as _depara  # noqa: F401  (registers depara)
from harness.estimators import rsa as _rsa  # noqa: F401  (registers rsa)

__all__ = ["ESTIMATORS", "Affinity", "EstimatorFn", "EstimatorParams", "estimate", "rank_sources"]
