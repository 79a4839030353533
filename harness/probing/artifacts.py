"""Per-model artifacts: what the per-model stage hands to the estimators.

Per-model work (import, attribution, features) is independent across models; everything the
estimators need from one model is in one :class:`ModelArtifacts`, so that the estimators are a
cheap reduction over all pairs and artifacts can be cached per model.

The arrays may be in memory (``np.ndarray``) or lazy views of cached files
(:class:`harness.runtime.cache.npy.NpyRows`, :class:`harness.estimators.grid.GridMaps`): anything with
``shape``, ``dtype``, row slicing ``a[i:j]`` and ``np.asarray(a)``. The estimators read lazy
ones a chunk of rows at a time, so holding the artifacts of many models costs file handles'
worth of memory, not their data.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

#: An (n_images, values) array or a lazy view with the same reading interface.
RowArray = Any


@dataclass(frozen=True)
class ModelArtifacts:
    """Attribution maps and probe-layer features of one model on one probe set.

    ``maps[method]`` has shape ``(n_images, map_pixels)``: for every probe image the signed
    mean over input channels of the attribution, flattened, at ``map_shape`` (height, width)
    — the model's input resolution unless resampled to a common grid. ``features`` has shape
    ``(n_images, n_units)``: the flattened probe-layer output (possibly spatially pooled; see
    ``features_pooled``). Rows of every array follow the probe set's image order, which is the
    same for every model.
    """

    model_id: str
    task: str
    maps: dict[str, RowArray] = field(default_factory=dict)
    features: RowArray | None = None
    features_pooled: bool = False
    map_shape: tuple[int, int] | None = None
    #: (n_images, classes) softmax of a classifier's output, for cards that declare ``classes``
    #: (the source probabilities LEEP needs); None for every other model.
    class_probs: RowArray | None = None

    @property
    def n_images(self) -> int:
        if self.features is not None:
            return int(self.features.shape[0])
        return int(next(iter(self.maps.values())).shape[0])


def as_array(value: RowArray) -> np.ndarray:
    """The whole array in memory (one model's worth)."""
    return np.asarray(value)


def rows_of(artifacts: ModelArtifacts, rows: np.ndarray) -> ModelArtifacts:
    """The same model on a subset of the probe images (``rows`` in probe order), in memory.

    For resampled setups (:mod:`harness.evaluation.stability`): every array keeps only the
    chosen rows, so an estimator sees exactly what it would on the smaller probe set.
    """
    pick = np.asarray(rows)
    return replace(artifacts, maps={k: as_array(v)[pick] for k, v in artifacts.maps.items()},
                   features=None if artifacts.features is None else as_array(artifacts.features)[pick],
                   class_probs=None if artifacts.class_probs is None else as_array(artifacts.class_probs)[pick])
