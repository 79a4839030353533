"""Labelled transferability estimators: source features (+ labels of the target task) -> a score.

These rank source models for a *labelled* target: LogME, LEEP, NLEEP, H-score (and variants),
TransRate (and a variant), GBC, SFDA, NCTI, ETran, k-NN, and PED-wrapped versions of the
feature-based ones. Each is a function ``score(features, labels, ...) -> float`` over one
(source, target) pair, registered in :data:`LABELLED_ESTIMATORS` with its paper and whether
runs use it by default (:func:`default_labelled_names`);
:mod:`harness.estimators.labelled.matrix` turns them into the usual ``A[source, target]``
affinity. Each has a slow textbook twin in the tests.
"""

from __future__ import annotations

from harness.estimators.labelled.base import LABELLED_ESTIMATORS, LabelledEstimator, TargetLabels, default_labelled_names
from harness.estimators.labelled import logme as _logme  # noqa: F401
from harness.estimators.labelled import leep as _leep  # noqa: F401
from harness.estimators.labelled import hscore as _hscore  # noqa: F401
from harness.estimators.labelled import transrate as _transrate  # noqa: F401
from harness.estimators.labelled import gbc as _gbc  # noqa: F401
from harness.estimators.labelled import sfda as _sfda  # noqa: F401
from harness.estimators.labelled import ncti as _ncti  # noqa: F401
from harness.estimators.labelled import etran as _etran  # noqa: F401
from harness.estimators.labelled import knn as _knn  # noqa: F401
from harness.estimators.labelled import ped as _ped

_ped.register_all()  # last: wraps every feature-based estimator registered above

__all__ = ["LABELLED_ESTIMATORS", "LabelledEstimator", "TargetLabels", "default_labelled_names"]
