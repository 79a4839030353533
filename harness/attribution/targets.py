"""The scalar per sample that attribution explains: ``target(output) -> (B,)``.

Methods call a target on an output batch aligned with the input samples (integrated
gradients calls it once per path point), so per-sample choices such as a class index stay
attached to their sample.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from harness.attribution.params import AttributionParams
from harness.common.errors import HarnessError

Target = Callable[[torch.Tensor], torch.Tensor]


def probe_sum(output: torch.Tensor) -> torch.Tensor:
    """Sum over all non-batch units: the NeurIPS 2019 target for a probe layer."""
    return output.reshape(output.shape[0], -1).sum(dim=1)


def unit_target(index: int) -> Target:
    """Output unit ``index`` (flat index into one sample's output) of every sample."""

    def target(output: torch.Tensor) -> torch.Tensor:
        flat = output.reshape(output.shape[0], -1)
        if not 0 <= index < flat.shape[1]:
            raise HarnessError(f"target unit {index} is out of range: the output has {flat.shape[1]} units per sample")
        return flat[:, index]

    return target


def per_sample_unit(indices: torch.Tensor) -> Target:
    """Unit ``indices[b]`` of sample ``b`` (e.g. each image's predicted class)."""

    def target(output: torch.Tensor) -> torch.Tensor:
        flat = output.reshape(output.shape[0], -1)
        return flat.gather(1, indices.to(flat.device).view(-1, 1)).squeeze(1)

    return target


def resolve_target(model: nn.Module, x: torch.Tensor, target: Target | None, params: AttributionParams) -> Target:
    """A callable given by the caller wins; otherwise the kind named in ``params``.

    ``argmax`` is resolved here, once, at ``x`` (one extra no-grad forward), so that every
    method explains the same unit.
    """
    if target is not None:
        if not callable(target):
            raise HarnessError(f"attribution target: expected a callable output -> (batch,) tensor, got {target!r}")
        return target
    if params.target == "probe_sum":
        return probe_sum
    if params.target == "unit":
        return unit_target(int(params.unit))  # type: ignore[arg-type]  (validated by params)
    with torch.no_grad():
        out = model(x)
    return per_sample_unit(out.reshape(out.shape[0], -1).argmax(dim=1))


def evaluate(target: Target, output: torch.Tensor) -> torch.Tensor:
    """``target(output)``, checked to be one value per sample."""
    if not isinstance(output, torch.Tensor) or output.ndim == 0:
        raise HarnessError(f"attribution needs a model returning one tensor of shape (batch, ...), got {type(output).__name__}")
    values = target(output)
    batch = output.shape[0]
    if not isinstance(values, torch.Tensor) or tuple(values.shape) != (batch,):
        shape = tuple(values.shape) if isinstance(values, torch.Tensor) else type(values).__name__
        raise HarnessError(f"attribution target must return one value per sample, shape ({batch},); got {shape}")
    return values
