"""Plain ONNX files of unknown origin: the full set of common normalisations."""

from __future__ import annotations

from harness.adapters.base import ADAPTERS, COMMON_PASSES, Adapter

ONNX_ADAPTER = Adapter(
    framework="onnx",
    passes=COMMON_PASSES,
    description="ONNX of unknown origin: constant folding, Constant/Identity weights to initializers, "
    "Reshape allowzero, opset conversion for onnx2torch",
)
ADAPTERS.add("onnx", ONNX_ADAPTER)
