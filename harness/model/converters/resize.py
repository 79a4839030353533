"""``Resize``-18/19 and the old ``Upsample``-7/9/10, computed the way the ONNX spec states.

Each resized axis is a gather of source rows with per-row weights (1 tap for nearest, 2 for
linear, 4 for cubic), following the spec's coordinate transformation and rounding modes
exactly, instead of mapping modes onto ``F.interpolate`` (which has no asymmetric linear, no
round_prefer_floor, no half_pixel_symmetric ...).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from harness.model.converters.base import OnnxToTorchModule, constant, register, result, unsupported

COORDINATE_MODES = ("half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric")
NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil", "simple")


def source_coordinates(mode: str, out_len: int, in_len: int, scale: float) -> np.ndarray:
    """Position in the input of each output index (float64), per the spec's formulas."""
    x = np.arange(out_len, dtype=np.float64)
    if mode == "half_pixel":
        return (x + 0.5) / scale - 0.5
    if mode == "half_pixel_symmetric":
        adjustment = out_len / (scale * in_len)
        offset = in_len / 2 * (1 - adjustment)
        return offset + (x + 0.5) / scale - 0.5
    if mode == "pytorch_half_pixel":
        return (x + 0.5) / scale - 0.5 if out_len > 1 else np.zeros_like(x)
    if mode == "align_corners":
        return x * (in_len - 1) / (out_len - 1) if out_len > 1 else np.zeros_like(x)
    return x / scale  # asymmetric


def nearest_taps(coords: np.ndarray, mode: str, in_len: int, downsampling: bool) -> tuple[np.ndarray, np.ndarray]:
    frac = coords - np.floor(coords)
    if mode == "round_prefer_floor":
        index = np.where(frac == 0.5, np.floor(coords), np.round(coords))
    elif mode == "round_prefer_ceil":
        index = np.where(frac == 0.5, np.ceil(coords), np.round(coords))
    elif mode == "floor":
        index = np.floor(coords)
    elif mode == "ceil":
        index = np.ceil(coords)
    else:  # "simple": the pre-Resize Upsample rule (onnxruntime): truncate, ceil when shrinking
        index = np.ceil(coords) if downsampling else np.trunc(coords)
    index = np.clip(index, 0, in_len - 1).astype(np.int64)
    return index[:, None], np.ones((len(coords), 1))


def linear_taps(coords: np.ndarray, in_len: int) -> tuple[np.ndarray, np.ndarray]:
    coords = np.clip(coords, 0, in_len - 1)
    low = np.floor(coords)
    weight = coords - low
    index = np.stack([low, np.minimum(low + 1, in_len - 1)], axis=1).astype(np.int64)
    return index, np.stack([1 - weight, weight], axis=1)


def cubic_taps(coords: np.ndarray, in_len: int, a: float, exclude_outside: bool) -> tuple[np.ndarray, np.ndarray]:
    low = np.floor(coords)
    t = coords - low
    distances = np.stack([1 + t, t, 1 - t, 2 - t], axis=1)
    d = np.abs(distances)
    weights = np.where(
        d <= 1, ((a + 2) * d - (a + 3)) * d * d + 1,
        np.where(d < 2, ((a * d - 5 * a) * d + 8 * a) * d - 4 * a, 0.0),
    )
    raw = low[:, None] + np.arange(-1, 3)[None, :]
    if exclude_outside:
        inside = (raw >= 0) & (raw <= in_len - 1)
        weights = weights * inside
        weights = weights / weights.sum(axis=1, keepdims=True)
    return np.clip(raw, 0, in_len - 1).astype(np.int64), weights


class OnnxResizeSpec(torch.nn.Module, OnnxToTorchModule):
    """Separable resize over any axes, with the spec's coordinate and rounding rules."""

    def __init__(self, mode: str, coordinate_mode: str, nearest_mode: str, cubic_a: float,
                 exclude_outside: bool, axes: tuple[int, ...] | None, scales_attr: tuple[float, ...] | None = None,
                 antialias: bool = False) -> None:
        super().__init__()
        self.mode, self.coordinate_mode, self.nearest_mode = mode, coordinate_mode, nearest_mode
        self.cubic_a, self.exclude_outside, self.axes = cubic_a, exclude_outside, axes
        self.scales_attr, self.antialias = scales_attr, antialias

    def _plan(self, shape: tuple[int, ...], scales, sizes) -> list[tuple[int, int, float]]:
        rank = len(shape)
        axes = [a % rank for a in self.axes] if self.axes else list(range(rank))
        plan = []
        for i, axis in enumerate(axes):
            in_len = shape[axis]
            if sizes is not None:
                out_len = int(sizes[i])
                scale = out_len / in_len
            else:
                scale = float(scales[i])
                out_len = int(math.floor(in_len * scale))
            if out_len != in_len or scale != 1.0:
                plan.append((axis, out_len, scale))
        return plan

    def forward(self, x: torch.Tensor, roi: torch.Tensor | None = None, scales: torch.Tensor | None = None,
                sizes: torch.Tensor | None = None) -> torch.Tensor:
        if self.scales_attr is not None:
            scales_list, sizes_list = list(self.scales_attr), None
        elif sizes is not None and sizes.numel():
            scales_list, sizes_list = None, sizes.tolist()
        else:
            scales_list, sizes_list = scales.tolist(), None
        for axis, out_len, scale in self._plan(tuple(x.shape), scales_list, sizes_list):
            in_len = x.shape[axis]
            if self.antialias and scale < 1 and self.mode != "nearest":
                raise RuntimeError("Resize with antialias=1 while shrinking is not supported")
            coords = source_coordinates(self.coordinate_mode, out_len, in_len, scale)
            if self.mode == "nearest":
                index, weights = nearest_taps(coords, self.nearest_mode, in_len, scale < 1)
            elif self.mode == "linear":
                index, weights = linear_taps(coords, in_len)
            else:
                index, weights = cubic_taps(coords, in_len, self.cubic_a, self.exclude_outside)
            x = _gather_axis(x, axis, index, weights)
        return x


def _gather_axis(x: torch.Tensor, axis: int, index: np.ndarray, weights: np.ndarray) -> torch.Tensor:
    shape = [1] * x.dim()
    shape[axis] = index.shape[0]
    out = None
    for tap in range(index.shape[1]):
        picked = x.index_select(axis, torch.as_tensor(index[:, tap], device=x.device))
        if index.shape[1] == 1:
            return picked
        w = torch.as_tensor(weights[:, tap], dtype=x.dtype, device=x.device).view(shape)
        out = picked * w if out is None else out + picked * w
    return out


@register("Resize", (18, 19))
def _resize(node, graph):
    attrs = node.attributes
    mode = attrs.get("mode", "nearest")
    coordinate_mode = attrs.get("coordinate_transformation_mode", "half_pixel")
    if coordinate_mode not in COORDINATE_MODES:
        raise unsupported(node, f"coordinate_transformation_mode={coordinate_mode!r}")
    if attrs.get("keep_aspect_ratio_policy", "stretch") != "stretch":
        raise unsupported(node, f"keep_aspect_ratio_policy={attrs['keep_aspect_ratio_policy']!r}")
    if mode not in ("nearest", "linear", "cubic"):
        raise unsupported(node, f"mode={mode!r}")
    axes = tuple(attrs["axes"]) if "axes" in attrs else None
    module = OnnxResizeSpec(mode, coordinate_mode, attrs.get("nearest_mode", "round_prefer_floor"),
                            float(attrs.get("cubic_coeff_a", -0.75)), bool(attrs.get("exclude_outside", 0)), axes,
                            antialias=bool(attrs.get("antialias", 0)))
    return result(module, node)


@register("Upsample", (7, 9, 10))
def _upsample(node, graph):
    mode = node.attributes.get("mode", "nearest")
    if mode not in ("nearest", "linear", "bilinear"):
        raise unsupported(node, f"mode={mode!r}")
    mode = "linear" if mode == "bilinear" else mode
    if "scales" in node.attributes:  # Upsample-7: scales attribute
        module = OnnxResizeSpec(mode, "asymmetric", "simple", -0.75, False, None, tuple(node.attributes["scales"]))
        return result(module, node, inputs=node.input_values[:1])
    scales = constant(node, graph, 1)
    if scales is not None:
        module = OnnxResizeSpec(mode, "asymmetric", "simple", -0.75, False, None, tuple(float(s) for s in scales))
        return result(module, node, inputs=node.input_values[:1])
    module = OnnxResizeSpec(mode, "asymmetric", "simple", -0.75, False, None)
    return result(_UpsampleScales(module), node)


class _UpsampleScales(torch.nn.Module, OnnxToTorchModule):
    """Upsample-9/10 with computed scales: (x, scales) -> resize by scales."""

    def __init__(self, inner: OnnxResizeSpec) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
        return self.inner(x, None, scales, None)
