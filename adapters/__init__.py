"""Model sources: per-framework ONNX normalisation.

``ADAPTERS.get(card.framework).normalise(model)`` is all the importer needs; bringing models
into a zoo (torch.onnx, tf2onnx) is :mod:`harness.model.export`.
"""

from harness.adapters import legacy as _legacy  # noqa: F401  (registers the adapters)
from harness.adapters import onnx as _onnx  # noqa: F401
from harness.adapters import pytorch as _pytorch  # noqa: F401
from harness.adapters import tensorflow as _tensorflow  # noqa: F401
from harness.adapters import tflite as _tflite  # noqa: F401
from harness.adapters.base import ADAPTERS, Adapter

__all__ = ["ADAPTERS", "Adapter"]
