"""Card input conventions: from RGB pixels in [0, 1] to what a model's graph expects.

Probe images are decoded once as float RGB in [0, 1]; each model then gets them resized to
its input size, in its channel order, scaled to its range and normalised by its mean/std.
The layout (NCHW/NHWC) is applied by the probed model itself, so every batch here is NCHW.
A graph with an integer input (``input.dtype`` uint8/int8/...) gets the normalised values
quantized into that type's integers, held as float so that gradients flow.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from harness.model.card import INTEGER_RANGES, InputSpec

#: ITU-R BT.601 luma weights, for cards with ``input.channels: gray``
LUMA = (0.299, 0.587, 0.114)


def resize(batch: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize an NCHW batch; area averaging when shrinking (no aliasing), bilinear otherwise."""
    if tuple(batch.shape[-2:]) == tuple(size):
        return batch
    if batch.shape[-2] >= size[0] and batch.shape[-1] >= size[1]:
        return F.interpolate(batch, size=size, mode="area")
    return F.interpolate(batch, size=size, mode="bilinear", align_corners=False)


def preprocess(batch: torch.Tensor, spec: InputSpec) -> torch.Tensor:
    """RGB NCHW batch in [0, 1] -> the model's preprocessed NCHW input."""
    x = resize(batch, spec.size)
    if spec.channels == "BGR":
        x = x.flip(1)
    elif spec.channels == "gray":
        luma = torch.tensor(LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        x = (x * luma).sum(dim=1, keepdim=True)
    low, high = spec.range
    x = x * (high - low) + low
    if spec.mean is not None:
        x = x - torch.tensor(spec.mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    if spec.std is not None:
        x = x / torch.tensor(spec.std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    if spec.integer:
        x = quantize(x, spec)
    return x.contiguous()


def quantize(x: torch.Tensor, spec: InputSpec) -> torch.Tensor:
    """Values -> the integers an integer graph input takes, as float (what the converted graph computes on).

    ``round_half_even(x / scale) + zero_point`` saturated to the type's range, as ONNX's
    QuantizeLinear does; rounding passes gradients straight through, so attribution of an
    integer-input model is that of its float surrogate. Without a scale (an import not done
    yet) nothing is known to quantize with, which is a harness bug.
    """
    if spec.scale is None or spec.zero_point is None:
        raise ValueError(f"input.dtype {spec.dtype} needs input.scale and input.zero_point (the importer sets them)")
    low, high = INTEGER_RANGES[spec.dtype]
    scaled = x.to(torch.float32) / spec.scale
    rounded = scaled + (torch.round(scaled) - scaled).detach()  # half to even, straight through
    return torch.clamp(rounded + spec.zero_point, low, high)


def random_input(spec: InputSpec, batch: int, seed: int = 0) -> torch.Tensor:
    """Deterministic random preprocessed NCHW input, for parity checks and shape runs."""
    generator = torch.Generator().manual_seed(seed)
    pixels = torch.rand((batch, 3, *spec.size), generator=generator)
    return preprocess(pixels, spec)
