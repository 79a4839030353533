"""Model sources: per-framework ONNX normalisation and export helpers.

``ADAPTERS.get(card.framework).normalise(model)`` is all the importer needs; the export
helpers (:mod:`adapters.pytorch`, :mod:`adapters.tensorflow`) bring models into the zoo.
"""

from adapters import onnx as _onnx  # noqa: F401  (registers the adapters)
from adapters import pytorch as _pytorch  # noqa: F401
from adapters import tensorflow as _tensorflow  # noqa: F401
from adapters.base import ADAPTERS, Adapter

__all__ = ["ADAPTERS", "Adapter"]
