"""Labelled transferability estimators: source features (+ labels of the target task) -> a score.

These rank source models for a *labelled* target: LogME, LEEP, NLEEP, H-score, TransRate and
GBC. Each is a function ``score(features, labels, ...) -> float`` over one (source, target)
pair, registered in :data:`LABELLED_ESTIMATORS`; :mod:`harness.estimators.labelled.matrix`
turns them into the usual ``A[source, target]`` affinity. Each has a slow textbook twin in
the tests.
"""

from __future__ import annotations

from harness.estimators.labelled.base import LABELLED_ESTIMATORS, LabelledEstimator, TargetLabels
from harness.estimators.labelled import logme as _logme  # noqa: F401
from harness.estimators.labelled import leep as _leep  # noqa: F401
from harness.estimators.labelled import hscore as _hscore  # noqa: F401
from harness.estimators.labelled import transrate as _transrate  # noqa: F401
from harness.estimators.labelled import gbc as _gbc  # noqa: F401

__all__ = ["LABELLED_ESTIMATORS", "LabelledEstimator", "TargetLabels"]
