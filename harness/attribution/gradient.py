"""Saliency ``|dT/dx|`` and gradient*input ``x * dT/dx``, both from one shared gradient pass."""

from __future__ import annotations

import torch
from torch import nn

from harness.attribution.base import METHODS, PASSES, AttributionMethod, input_gradient
from harness.attribution.params import AttributionParams
from harness.attribution.targets import Target


@PASSES.register("gradient")
def gradient_pass(model: nn.Module, x: torch.Tensor, target: Target, params: AttributionParams) -> dict[str, torch.Tensor]:
    """The plain input gradient, one forward + one backward."""
    return {"grad": input_gradient(model, x, target)}


METHODS.add("saliency", AttributionMethod("gradient", lambda x, p: p["grad"].abs()), "|dT/dx|: magnitude of the input gradient")
METHODS.add("gradxinput", AttributionMethod("gradient", lambda x, p: x * p["grad"]), "x * dT/dx: gradient times input")
