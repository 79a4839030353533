"""Per-model artifacts: what the per-model stage hands to the estimators.

Per-model work (import, attribution, features) is independent across models; everything the
estimators need from one model is in one :class:`ModelArtifacts`, so that the estimators are a
cheap reduction over all pairs and artifacts can be cached per model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class ModelArtifacts:
    """Attribution maps and probe-layer features of one model on one probe set.

    ``maps[method]`` has shape ``(n_images, map_pixels)``: for every probe image the signed
    mean over input channels of the attribution, resampled to the run's common map
    resolution and flattened. ``features`` has shape ``(n_images, n_units)``: the flattened
    probe-layer output (possibly spatially pooled; see ``features_pooled``). Rows of every
    array follow the probe set's image order, which is the same for every model.
    """

    model_id: str
    task: str
    maps: dict[str, np.ndarray] = field(default_factory=dict)
    features: np.ndarray | None = None
    features_pooled: bool = False

    @property
    def n_images(self) -> int:
        if self.features is not None:
            return int(self.features.shape[0])
        return int(next(iter(self.maps.values())).shape[0])
