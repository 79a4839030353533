"""The model gradient field on straight paths to the probe images (ModelGiF's input to its distance).

Song et al., "ModelGiF: Gradient Fields for Model Functional Distance", ICCV 2023: a model's
gradient field is the gradient of its output with respect to the input, ``dT/dx``, sampled
along straight paths from a reference point ``b`` to each probe image ``x``; two models are
functionally close when their fields point the same way at the same points.

The map of image ``x`` is the trapezoid mean of the field over the path, on the same points as
:mod:`harness.attribution.integrated_gradients` (``a_k = k/m``, k = 0..m, ``m = ig_steps``,
weights 1/m inside and 1/(2m) at both ends)::

    field(x) = sum_k w_k dT/dx(b + a_k (x - b))  ~  integral_0^1 dT/dx(b + a (x - b)) da

It is *not* multiplied by ``x - b``: that product would be integrated gradients (an attribution
of T(x) - T(b) to pixels); the field itself is the model's local linear behaviour averaged
over the path. ``T`` is the run's attribution target (:mod:`harness.attribution.named_targets`),
``b`` is ``ig_baseline`` (the probing loop's black image, the same point of raw-pixel space for
every model, so that two models' paths run through the same images).

Deviations from the paper, forced by one map per probe image: the paper compares the fields
point by point along the path (the mean of per-point cosines) and pairs each probe image with
another probe image as its reference; here each image's field is averaged over its path before
the comparison, and the reference is one fixed image. As for every map in the harness, the
stored map is the signed mean over input channels (:mod:`harness.probing.maps`). The authors'
released code also multiplies its cumulative field by ``x - b``; this pass does not (see above).
Path points are stacked into the batch, ``max(1, ig_batch // B)`` points per forward/backward.
"""

from __future__ import annotations

import torch
from torch import nn

from harness.attribution.base import METHODS, PASSES, AttributionMethod
from harness.attribution.integrated_gradients import baseline_like, path_gradient_mean
from harness.attribution.params import AttributionParams
from harness.attribution.targets import Target


@PASSES.register("gradient_field")
def gradient_field_pass(model: nn.Module, x: torch.Tensor, target: Target, params: AttributionParams) -> dict[str, torch.Tensor]:
    """Trapezoid mean of dT/dx on the straight path from the baseline (integrated gradients without the x - b factor)."""
    return {"field": path_gradient_mean(model, x, baseline_like(x, params.ig_baseline), target, params)}


METHODS.add("gradient_field", AttributionMethod("gradient_field", lambda x, p: p["field"]),
            "ModelGiF's gradient field: mean dT/dx on the straight path from the baseline (--ig-steps points), "
            "not multiplied by x - baseline")
