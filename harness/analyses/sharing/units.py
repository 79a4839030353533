"""The units of a layer and their Gaussian replacements.

A *unit* is one output channel of a Conv / ConvTranspose layer or one output of a Gemm
(Linear) layer: its filter and its bias (filter only when the layer has no bias). The seed
marginalises a unit by sampling S replacements of its parameter vector from N(w, I) and
weighting them by their self-normalised Gaussian densities.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from harness.common.errors import HarnessError
from harness.model.layers import Layer

_CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
_CONV_T = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


@dataclass(frozen=True)
class UnitLayer:
    """A parametrised layer of a converted graph, addressed by its ONNX name."""

    name: str  # as the user gave it
    layer: Layer
    module: nn.Module

    @property
    def transposed(self) -> bool:
        return isinstance(self.module, _CONV_T)

    @property
    def n_units(self) -> int:
        w = self.module.weight
        return int(w.shape[1] * self.module.groups if self.transposed else w.shape[0])

    def unit_axis(self, rank: int) -> int:
        """The axis of the layer's output (of ``rank`` dims) that indexes units: channels, or a linear layer's features."""
        return rank - 1 if isinstance(self.module, nn.Linear) else 1

    @property
    def has_bias(self) -> bool:
        return getattr(self.module, "bias", None) is not None

    def filter_shape(self) -> tuple[int, ...]:
        w = self.module.weight
        return tuple(w[:, 0].shape) if self.transposed else tuple(w[0].shape)

    def unit_dim(self) -> int:
        """Parameters per unit (filter + bias)."""
        return math.prod(self.filter_shape()) + int(self.has_bias)

    def get(self, unit: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The unit's filter and bias (a 0-d tensor or None)."""
        w = self.module.weight
        filt = w[:, unit] if self.transposed else w[unit]
        return filt.detach().clone(), (self.module.bias[unit].detach().clone() if self.has_bias else None)

    def set(self, unit: int, filt: torch.Tensor, bias: torch.Tensor | None) -> None:
        """Overwrite one unit's parameters in place (the slow reference path)."""
        with torch.no_grad():
            if self.transposed:
                self.module.weight[:, unit] = filt
            else:
                self.module.weight[unit] = filt
            if bias is not None:
                self.module.bias[unit] = bias

    def unit_outputs(self, x: torch.Tensor, units: torch.Tensor, filters: torch.Tensor, biases: torch.Tensor | None) -> torch.Tensor:
        """The layer's output channel ``units[j]`` computed with ``filters[j]`` / ``biases[j]``: (N, K, ...).

        One convolution / matmul for all K replacements (for grouped convolutions, one per
        group present), instead of one forward per replacement.
        """
        m = self.module
        if isinstance(m, nn.Linear):
            return F.linear(x, filters, biases)
        if self.transposed:
            if m.groups != 1:
                raise HarnessError(f"layer {self.name!r}: grouped ConvTranspose layers are not supported")
            fn = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}[filters.dim() - 2]
            return fn(x, filters.transpose(0, 1), biases, m.stride, m.padding, m.output_padding, 1, m.dilation)
        if m.groups == 1:
            return m._conv_forward(x, filters, biases)
        per_group = m.out_channels // m.groups
        cin = m.in_channels // m.groups
        out = None
        groups = units // per_group
        for g in torch.unique(groups).tolist():
            pick = (groups == g).nonzero().flatten()
            part = F.pad(x[:, g * cin:(g + 1) * cin], m._reversed_padding_repeated_twice, mode=m.padding_mode) \
                if m.padding_mode != "zeros" else x[:, g * cin:(g + 1) * cin]
            fn = {3: F.conv1d, 4: F.conv2d, 5: F.conv3d}[x.dim()]
            padding = 0 if m.padding_mode != "zeros" else m.padding
            y = fn(part, filters[pick], None if biases is None else biases[pick], m.stride, padding, m.dilation, 1)
            if out is None:
                out = y.new_empty((y.shape[0], len(units), *y.shape[2:]))
            out[:, pick] = y
        return out


def unit_layer(graph: nn.Module, layer: Layer, name: str, where: str) -> UnitLayer:
    """The parametrised module computing ``layer``; other ops raise a one-line error."""
    module = graph.get_submodule(layer.module)
    if not isinstance(module, (nn.Linear, *_CONV, *_CONV_T)) or layer.output_index != 0:
        raise HarnessError(
            f"{where}: layer {name!r} is a {layer.op_type} ({type(module).__name__}); feature sharing marginalises the "
            f"units of Conv, ConvTranspose or Gemm layers (run `harness layers CARD` to list them)"
        )
    return UnitLayer(name, layer, module)


@dataclass(frozen=True)
class UnitSamples:
    """S Gaussian replacements of one unit and their self-normalised log weights."""

    filters: torch.Tensor  # (S, *filter_shape)
    biases: torch.Tensor | None  # (S,)
    log_weights: torch.Tensor  # (S,) float64, logsumexp = 0


def sample_unit(layer: UnitLayer, unit: int, n_samples: int, seed: int) -> UnitSamples:
    """Draw ``n_samples`` replacements of ``unit`` from N(w, I), seeded by (seed, unit).

    The weights are the samples' Gaussian densities normalised to sum to one over the drawn
    samples (the seed's ``priors -= logsumexp(priors)``); the constant of the density cancels.
    Drawing per unit from its own generator makes the draws independent of batching.
    """
    generator = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(unit))
    filt, bias = layer.get(unit)
    noise = torch.randn((n_samples, layer.unit_dim()), generator=generator, dtype=torch.float64)
    log_density = -0.5 * (noise**2).sum(dim=1)
    log_weights = log_density - torch.logsumexp(log_density, dim=0)
    k = math.prod(filt.shape)
    filters = filt.to(torch.float64).reshape(1, -1) + noise[:, :k]
    biases = bias.to(torch.float64) + noise[:, k] if bias is not None else None
    dtype = filt.dtype
    return UnitSamples(filters.reshape(n_samples, *filt.shape).to(dtype), None if biases is None else biases.to(dtype), log_weights)
