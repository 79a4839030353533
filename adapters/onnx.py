"""Plain ONNX files of unknown origin: every normalisation, each applied where it detects its case.

Old IR/opset files are upgraded (as ``onnx-legacy`` does), TFLite custom ops rewritten,
constant int8 weights dequantized, SAME padding made explicit and ``Reshape(allowzero=1)``
relaxed where exact; each pass leaves a graph without its construct unchanged.
"""

from __future__ import annotations

from harness.adapters import quantized as _quantized  # noqa: F401  (registers qoperator_to_qdq)
from harness.adapters.base import ADAPTERS, SHARED_PASSES, Adapter, with_passes

ONNX_ADAPTER = Adapter(
    framework="onnx",
    passes=("upgrade_legacy", "pin_input_dims", "tflite_custom_ops", "qoperator_to_qdq", "fold_dequantize_weights",
            *with_passes(SHARED_PASSES[1:], "reshape_allowzero", "explicit_pads")),
    description="ONNX of unknown origin: detects old IR/opsets (upgrade), TFLite custom ops, int8 weights, "
    "SAME padding, Reshape allowzero; constant folding and dims pinned from the card",
)
ADAPTERS.add("onnx", ONNX_ADAPTER)
