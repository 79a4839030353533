"""Quantize/dequantize ops, computed in float.

Quantized graphs (TFLite int8 models through tf2onnx, onnxruntime's QDQ and dynamic
quantization) carry ``QuantizeLinear``/``DequantizeLinear`` pairs, ``DynamicQuantizeLinear``
and ``MatMulInteger``. The harness needs gradients through the model, so every value stays a
float tensor: a quantized value is held as a float with an integral value, rounded
half-to-even and saturated to the integer type's range exactly as the spec says, so that
dequantizing it gives what onnxruntime's integer kernels give. Gradients pass rounding
straight through (:func:`straight_through_round`): attribution maps of a quantized model are
those of its float surrogate.
"""

from __future__ import annotations

import numpy as np
import torch
from onnx import TensorProto

from harness.model.converters.base import OnnxToTorchModule, constant, register, result, unsupported

#: integer range of each quantized element type
RANGES = {
    TensorProto.UINT8: (0, 255), TensorProto.INT8: (-128, 127),
    TensorProto.UINT16: (0, 65535), TensorProto.INT16: (-32768, 32767),
    TensorProto.UINT4: (0, 15), TensorProto.INT4: (-8, 7),
}
_NUMPY_TYPES = {np.dtype(np.uint8): TensorProto.UINT8, np.dtype(np.int8): TensorProto.INT8,
                np.dtype(np.uint16): TensorProto.UINT16, np.dtype(np.int16): TensorProto.INT16}


def straight_through_round(x: torch.Tensor) -> torch.Tensor:
    """Round half to even in the forward pass, identity in the backward pass.

    ``torch.round`` has a zero gradient almost everywhere, which would make every attribution
    map of a quantized model zero; with the straight-through estimator the map of a quantized
    model is the map of its float surrogate (saturation still blocks the gradient, as clamp does).
    """
    return x + (torch.round(x) - x).detach()


def _broadcast(param: torch.Tensor, x: torch.Tensor, axis: int, block_size: int) -> torch.Tensor:
    """Scale/zero point (scalar, per-axis or per-block) shaped to broadcast against ``x``."""
    param = param.to(torch.float32)
    if param.dim() == 0 or param.numel() == 1 and block_size == 0:
        return param.reshape(())
    axis = axis % x.dim()
    if block_size:
        param = param.repeat_interleave(block_size, dim=axis).narrow(axis, 0, x.shape[axis])
        return param
    shape = [1] * x.dim()
    shape[axis] = param.numel()
    return param.reshape(shape)


class OnnxQuantizeLinear(torch.nn.Module, OnnxToTorchModule):
    def __init__(self, qmin: int, qmax: int, axis: int, block_size: int) -> None:
        super().__init__()
        self.qmin, self.qmax, self.axis, self.block_size = qmin, qmax, axis, block_size

    def forward(self, x: torch.Tensor, scale: torch.Tensor, zero_point: torch.Tensor | None = None) -> torch.Tensor:
        scale = _broadcast(scale, x, self.axis, self.block_size)
        q = straight_through_round(x.to(torch.float32) / scale)
        if zero_point is not None:
            q = q + _broadcast(zero_point, x, self.axis, self.block_size)
        return torch.clamp(q, self.qmin, self.qmax)


class OnnxDequantizeLinear(torch.nn.Module, OnnxToTorchModule):
    def __init__(self, axis: int, block_size: int) -> None:
        super().__init__()
        self.axis, self.block_size = axis, block_size

    def forward(self, x: torch.Tensor, scale: torch.Tensor, zero_point: torch.Tensor | None = None) -> torch.Tensor:
        value = x.to(torch.float32)
        if zero_point is not None:
            value = value - _broadcast(zero_point, x, self.axis, self.block_size)
        return value * _broadcast(scale, x, self.axis, self.block_size)


class OnnxDynamicQuantizeLinear(torch.nn.Module, OnnxToTorchModule):
    """uint8 quantization with scale and zero point from the tensor's own range."""

    def forward(self, x: torch.Tensor):
        x = x.to(torch.float32)
        low = torch.clamp(x.min(), max=0.0)
        high = torch.clamp(x.max(), min=0.0)
        scale = (high - low) / 255.0
        zero_point = torch.clamp(torch.round((0.0 - low) / scale), 0, 255)
        y = torch.clamp(straight_through_round(x / scale) + zero_point, 0, 255)
        return y, scale, zero_point


class OnnxMatMulInteger(torch.nn.Module, OnnxToTorchModule):
    """(A - a_zero_point) @ (B - b_zero_point), exact in float64 (integer sums stay below 2**53)."""

    def forward(self, a: torch.Tensor, b: torch.Tensor, a_zero: torch.Tensor | None = None,
                b_zero: torch.Tensor | None = None) -> torch.Tensor:
        a, b = a.to(torch.float64), b.to(torch.float64)
        if a_zero is not None:
            a_zero = a_zero.to(torch.float64)
            a = a - (a_zero.reshape(-1, 1) if a_zero.numel() > 1 else a_zero.reshape(()))
        if b_zero is not None:
            b = b - b_zero.to(torch.float64)
        return torch.matmul(a, b).to(torch.float32)


def _quantized_range(node, graph) -> tuple[int, int]:
    zero_point = constant(node, graph, 2)
    if zero_point is not None:
        kind = _NUMPY_TYPES.get(zero_point.dtype)
    else:
        kind = node.attributes.get("output_dtype", TensorProto.UINT8) or TensorProto.UINT8
    if kind not in RANGES:
        raise unsupported(node, f"quantized element type {TensorProto.DataType.Name(kind) if isinstance(kind, int) else kind}"
                                f" (supported: uint8, int8, uint16, int16, uint4, int4)")
    return RANGES[kind]


@register("QuantizeLinear", (10, 13, 19, 21, 23, 24))
def _quantize(node, graph):
    qmin, qmax = _quantized_range(node, graph)
    if len(node.input_values) > 2 and node.input_values[2] and constant(node, graph, 2) is None:
        raise unsupported(node, "a computed zero point (the integer type is then unknown before running)")
    return result(OnnxQuantizeLinear(qmin, qmax, node.attributes.get("axis", 1), node.attributes.get("block_size", 0)), node)


@register("DequantizeLinear", (10, 13, 19, 21, 23, 24))
def _dequantize(node, graph):
    return result(OnnxDequantizeLinear(node.attributes.get("axis", 1), node.attributes.get("block_size", 0)), node)


@register("DynamicQuantizeLinear", (11,))
def _dynamic_quantize(node, graph):
    return result(OnnxDynamicQuantizeLinear(), node)


@register("MatMulInteger", (10,))
def _matmul_integer(node, graph):
    return result(OnnxMatMulInteger(), node)
