"""Attribution maps of arbitrary ``torch.nn.Module``s with respect to their input pixels.

Methods (keys of :data:`METHODS`), for a target scalar T per sample (default: the sum of all
units of the model's output, the probe layer):

- ``saliency``: ``|dT/dx|``
- ``gradxinput``: ``x * dT/dx`` (shares its one forward+backward with ``saliency``)
- ``elrp``: epsilon-LRP, DeepExplain's form: ``x *`` the gradient with every activation's
  backward replaced by ``g * f(z) / (z + eps s(z))`` (see :func:`elrp_rules`)
- ``integrated_gradients``: ``(x - b) *`` trapezoid mean of dT/dx on the straight path from
  the baseline ``b`` (default 0)
- ``gradient_field``: trapezoid mean of dT/dx on the same path, *not* multiplied by ``x - b``
  (ModelGiF's gradient field, read by the ``modelgif`` estimator)
- ``second_order``: ``x * g + |x * (H x)| / 2`` (input-pixel second-order Taylor term; NOT the
  deliberative-explanations seed's 2ndG, identical to gradient*input on ReLU nets with a linear
  target, and therefore not offered as a transferability estimator)

Which scalar is explained is a *named target* (:mod:`harness.attribution.named_targets`):
``sum`` (the seed's, default), ``energy``, ``sqnorm``, ``l1``.

Use :func:`attribute`; it never modifies the model.
"""

from __future__ import annotations

from harness.attribution.base import METHODS, PASSES, AttributionMethod, attribute, eval_mode
from harness.attribution.params import TARGET_KINDS, AttributionParams
from harness.attribution.targets import Target, per_sample_unit, probe_sum, unit_target
from harness.attribution.named_targets import ATTRIBUTION_TARGETS, DEFAULT_TARGET, ChannelStats, StatsAccumulator, map_key, split_key
from harness.attribution import gradient as _gradient  # noqa: F401  (registers saliency, gradxinput)
from harness.attribution.elrp import ACTIVATION_TYPES, elrp_rules, functional_activations, is_elrp_activation
from harness.attribution import integrated_gradients as _ig  # noqa: F401  (registers integrated_gradients)
from harness.attribution import gradient_field as _gradient_field  # noqa: F401  (registers gradient_field)
from harness.attribution import second_order as _second_order  # noqa: F401  (registers second_order)

__all__ = [
    "ACTIVATION_TYPES", "ATTRIBUTION_TARGETS", "DEFAULT_TARGET", "ChannelStats", "StatsAccumulator", "map_key", "split_key",
    "METHODS", "PASSES", "TARGET_KINDS", "AttributionMethod", "AttributionParams", "Target",
    "attribute", "elrp_rules", "eval_mode", "functional_activations", "is_elrp_activation", "per_sample_unit",
    "probe_sum", "unit_target",
]
