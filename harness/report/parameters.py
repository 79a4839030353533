"""What each entry of report.json's ``parameters`` means.

``parameters`` holds numbers and names only, so ``harness compare`` decides comparability
from data; the prose explaining them lives here and is shown in the HTML report.
"""

from __future__ import annotations

import re
from typing import Any

NOTES: dict[str, str] = {
    "methods": "attribution methods computed on every model",
    "estimators": "affinity estimators reduced over all model pairs",
    "map_size": "side length (pixels) maps are compared at; null: native resolution (each pair at the smaller of its two input sizes)",
    "batch_size": "probe images per forward/backward pass (does not change results)",
    "max_feature_units": "probe-layer features wider than this are spatially average-pooled",
    "ig_steps": "integrated-gradients interpolation steps",
    "eps": "epsilon-LRP stabiliser in g * f(z) / (z + eps * s(z))",
    "depara_lambda": "DEPARA edge weight: score = V + lambda * E",
    "bootstrap": "bootstrap resamples over targets for the confidence intervals",
    "map_resampling": "channel-mean+per-pair-grid+area-or-bilinear: channel mean; each pair compared at the smaller of its "
                      "two grids (or map_size); area (shrink) / bilinear (enlarge)",
    "features": "flatten+spatial-mean-pool: probe-layer output flattened; 4-D maps wider than max_feature_units are pooled",
    "target": "card: the attribution target each card names (default: sum of the probe layer's output)",
    "device_type": "where the run computed (does not change what is estimated)",
}

_NAME = re.compile(r"^[A-Za-z0-9_.:+/@=-]*$")


def is_structured(value: Any) -> bool:
    """True for numbers, booleans, None, names (no blanks) and lists/dicts of these; False for prose."""
    if value is None or isinstance(value, (bool, int, float)):
        return True
    if isinstance(value, str):
        return bool(_NAME.match(value))
    if isinstance(value, list):
        return all(is_structured(v) for v in value)
    if isinstance(value, dict):
        return all(is_structured(v) for v in value.values())
    return False
