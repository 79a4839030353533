"""Estimator parameters: one frozen record so that a run's settings can be hashed and reported."""

from __future__ import annotations

import math
from dataclasses import dataclass

from harness.common.errors import HarnessError


@dataclass(frozen=True)
class EstimatorParams:
    """Knobs shared by all estimators; every estimator takes ``(artifacts, params)``.

    ``depara_lambda`` weighs DEPARA's edge similarity against its node similarity
    (S = V + lambda * E); 0.25 is the seed's value for the Taskonomy probe set (0.03 COCO,
    0.27 Indoor). ``chunk_bytes`` bounds the working memory of the map-cosine reduction.
    ``target``: the named attribution target whose maps the map-based estimators read
    (:mod:`harness.attribution.named_targets`); :func:`harness.estimators.estimate` sets it
    from an estimator name such as ``gradxinput@energy``.
    """

    depara_lambda: float = 0.25
    chunk_bytes: int = 256 * 2**20
    target: str = "sum"

    def __post_init__(self) -> None:
        if not isinstance(self.depara_lambda, (int, float)) or not math.isfinite(self.depara_lambda):
            raise HarnessError(f"estimator parameter depara_lambda: expected a finite number, got {self.depara_lambda!r}")
        if not isinstance(self.chunk_bytes, int) or self.chunk_bytes <= 0:
            raise HarnessError(f"estimator parameter chunk_bytes: expected a positive integer, got {self.chunk_bytes!r}")
