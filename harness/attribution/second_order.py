"""Input-pixel second-order attribution: gradient*input plus a Hessian quadratic term.

This is NOT the deliberative-explanations seed's 2ndG (which works on a late conv layer's
activations and the difficulty score; see DESIGN.md 4.4). On piecewise-linear nets (ReLU,
max-pool) with a linear target ``H = 0`` almost everywhere and this map *equals*
gradient*input (issue #11's audit: max |diff| = 0 over the 28 zoo models x 200 images), so it
is kept as an attribution method (smooth nets, or non-linear targets such as ``energy``) and
is not offered as a transferability estimator.

``map = x * g + |x * (H x)| / 2`` elementwise, with ``g = dT/dx`` and ``H = d^2T/dx^2`` at
``x``. Element ``i``'s quadratic term ``|x_i (H x)_i| / 2 = |sum_j x_i H_ij x_j| / 2`` is its
share of the full quadratic form ``x^T H x / 2`` (the shares sum to it before the absolute
value), so cross terms between elements are kept. The deliberative-explanations seed instead
took ``|a^T H_ll a| / 2`` over each location's diagonal channel block, which needs one
Hessian-vector product per location (hours per image); here ``H x`` is exact and costs one
double backward (``torch.autograd.grad`` with ``create_graph=True``), about 2-4x a saliency
pass. On piecewise-linear (ReLU/max-pool) nets ``H = 0`` almost everywhere and the map
reduces to gradient*input.
"""

from __future__ import annotations

import torch
from torch import nn

from harness.attribution.base import METHODS, PASSES, AttributionMethod, grad_or_zeros, target_values
from harness.attribution.params import AttributionParams
from harness.attribution.targets import Target


@PASSES.register("hessian_vector")
def hvp_pass(model: nn.Module, x: torch.Tensor, target: Target, params: AttributionParams) -> dict[str, torch.Tensor]:
    """``g`` and ``H x`` per sample: ``d(g . v)/dx`` with ``v = x`` held constant is ``H v``
    (H is symmetric); per-sample Hessians because samples are independent."""
    leaf = x.detach().requires_grad_(True)
    grad = grad_or_zeros(target_values(model, leaf, target).sum(), leaf, create_graph=True)
    hvp = grad_or_zeros(grad, leaf, grad_output=x.detach())
    return {"grad": grad.detach(), "hvp": hvp}


METHODS.add(
    "second_order",
    AttributionMethod("hessian_vector", lambda x, p: x * p["grad"] + 0.5 * (x * p["hvp"]).abs()),
    "gradient*input plus |x * (H x)| / 2, with an exact Hessian-vector product",
)
