"""Named attribution targets, selectable per run (``harness run --targets sum energy``).

The seed's target ``sum`` (the sum of the probe layer) is sign-sensitive: on a *linear*
probe layer it collapses to one signed direction fixed by the random filter bank, while
transfer (a fresh head on standardised features) ignores sign and channel mixing. The other
targets here are invariant to the sign of each unit (and ``energy`` / ``sqnorm`` to
orthogonal mixing of units), so they explain "what the encoder encodes" rather than one
arbitrary direction of it:

- ``sum``: the seed's target: the sum of all probe-layer units, or what the card's
  ``target`` says (``unit`` / ``argmax`` of another output). The default.
- ``energy``: ``1/2 * sum_u ((f_u - mu_c) / sigma_c)^2`` on the probe layer, ``mu_c`` and
  ``sigma_c`` per channel ``c`` (population mean and standard deviation over every probe
  image and every spatial position of that channel), measured on the run's probe set in a
  no-gradient pass before attribution and held constant while differentiating. A channel
  constant over the probe set (``sigma_c = 0``) keeps ``sigma_c = 1``: its centred value is 0.
- ``sqnorm``: ``1/2 * ||f||^2`` on the probe layer (no statistics).
- ``l1``: ``sum_u |f_u|`` on the probe layer (no statistics).

Channels are found with the probe tensor's layout (:mod:`harness.model.layout`): axis 1 for NCHW
and for (batch, units) outputs, the last axis for NHWC and for (batch, tokens, dim).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from harness.attribution.targets import Target, probe_sum
from harness.model.layout import channel_axis
from harness.common.registry import Registry

#: The target whose estimators keep their plain names in reports (``gradxinput``, not ``gradxinput@sum``).
DEFAULT_TARGET = "sum"


@dataclass(frozen=True)
class ChannelStats:
    """Per-channel mean and standard deviation of a probe layer over a probe set."""

    mean: torch.Tensor  # (C,) float64
    std: torch.Tensor  # (C,) float64, zeros replaced by 1
    axis: int  # channel axis of the probe output (batch axis is 0)
    count: int  # values per channel that went into the statistics


@dataclass(frozen=True)
class NamedTarget:
    """A target's description and how to build it; ``build is None`` means the card's own target."""

    description: str
    build: Callable[[ChannelStats | None], Target] | None
    needs_stats: bool = False


ATTRIBUTION_TARGETS: Registry[NamedTarget] = Registry("attribution target")


def feature_axis(ndim: int, layout: str | None) -> int:
    """The channel axis of a probe output with ``ndim`` dimensions (batch first)."""
    if ndim == 4:
        return channel_axis(layout)
    return ndim - 1 if ndim == 3 else 1


class StatsAccumulator:
    """Streaming per-channel mean/variance (Chan et al.'s pairwise merge, float64)."""

    def __init__(self, layout: str | None) -> None:
        self.layout = layout
        self.axis: int | None = None
        self.count = 0
        self.mean: torch.Tensor | None = None
        self.m2: torch.Tensor | None = None

    def update(self, output: torch.Tensor) -> None:
        axis = feature_axis(output.dim(), self.layout)
        values = output.detach().double().movedim(axis, -1).reshape(-1, output.shape[axis])
        n, mean = values.shape[0], values.mean(dim=0)
        m2 = ((values - mean) ** 2).sum(dim=0)
        if self.mean is None:
            self.axis, self.count, self.mean, self.m2 = axis, n, mean, m2
            return
        total = self.count + n
        delta = mean - self.mean
        self.mean = self.mean + delta * (n / total)
        self.m2 = self.m2 + m2 + delta**2 * (self.count * n / total)
        self.count = total

    def result(self) -> ChannelStats:
        if self.mean is None or self.m2 is None or self.axis is None:
            raise ValueError("no probe outputs were accumulated")
        std = (self.m2 / self.count).sqrt()
        std = torch.where(std > 0, std, torch.ones_like(std))
        return ChannelStats(mean=self.mean.cpu(), std=std.cpu(), axis=self.axis, count=self.count)


def _broadcast(values: torch.Tensor, like: torch.Tensor, axis: int) -> torch.Tensor:
    shape = [1] * like.dim()
    shape[axis] = -1
    return values.to(device=like.device, dtype=like.dtype).view(shape)


def standardised_energy(stats: ChannelStats | None) -> Target:
    if stats is None:
        raise ValueError("the energy target needs channel statistics of the probe layer")

    def target(output: torch.Tensor) -> torch.Tensor:
        z = (output - _broadcast(stats.mean, output, stats.axis)) / _broadcast(stats.std, output, stats.axis)
        return 0.5 * z.reshape(z.shape[0], -1).pow(2).sum(dim=1)

    return target


def half_squared_norm(output: torch.Tensor) -> torch.Tensor:
    return 0.5 * output.reshape(output.shape[0], -1).pow(2).sum(dim=1)


def l1_norm(output: torch.Tensor) -> torch.Tensor:
    return output.reshape(output.shape[0], -1).abs().sum(dim=1)


ATTRIBUTION_TARGETS.add("sum", NamedTarget(
    "the seed's target: sum of the probe layer's units (or the card's target.kind unit/argmax)", None))
ATTRIBUTION_TARGETS.add("energy", NamedTarget(
    "1/2 ||(f - mu) / sigma||^2 on the probe layer; mu, sigma per channel over the run's probe set "
    "(all images and positions, population std, constant channels sigma = 1)", standardised_energy, needs_stats=True))
ATTRIBUTION_TARGETS.add("sqnorm", NamedTarget("1/2 ||f||^2 on the probe layer", lambda stats: half_squared_norm))
ATTRIBUTION_TARGETS.add("l1", NamedTarget("sum |f| on the probe layer", lambda stats: l1_norm))


def map_key(method: str, target: str) -> str:
    """Name of a method's maps (and of an estimator) under a target: ``gradxinput@energy``;
    the default target keeps the plain name, so reports made before targets existed compare."""
    return method if target == DEFAULT_TARGET else f"{method}@{target}"


def split_key(name: str) -> tuple[str, str]:
    """``"gradxinput@energy"`` -> ``("gradxinput", "energy")``; a plain name -> the default target."""
    base, sep, target = name.partition("@")
    return (base, target) if sep else (name, DEFAULT_TARGET)


__all__ = [
    "ATTRIBUTION_TARGETS", "DEFAULT_TARGET", "ChannelStats", "NamedTarget", "StatsAccumulator", "feature_axis",
    "half_squared_norm", "l1_norm", "map_key", "probe_sum", "split_key", "standardised_energy",
]
