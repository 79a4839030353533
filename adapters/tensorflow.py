"""TensorFlow/Keras: normalisation of tf2onnx output (export helpers: :mod:`harness.model.export.tensorflow`).

tf2onnx keeps TF's NHWC layout (the graph opens with a Transpose to NCHW), TF's tensor
names (``functional_1/conv/Relu:0``) and folds BatchNorm into Mul/Add. The NHWC input is
handled by the card's ``input.layout`` (the importer feeds the graph what it expects).
Specific to this source: tf2onnx writes TF's SAME padding as ``auto_pad=SAME_UPPER`` when a
size is dynamic, made explicit (``explicit_pads``) once the card's size is pinned. TensorFlow is an optional extra: importing
an existing ONNX file never imports it.
"""

from __future__ import annotations

from harness.adapters.base import ADAPTERS, SHARED_PASSES, Adapter, with_passes

TENSORFLOW_ADAPTER = Adapter(
    framework="tensorflow",
    passes=with_passes(SHARED_PASSES, "explicit_pads"),
    description="tf2onnx (Keras models, SavedModels): NHWC input, TF names, SAME padding made explicit",
)
ADAPTERS.add("tensorflow", TENSORFLOW_ADAPTER)
