"""Number formatting shared by the text outputs (terminal tables, report.md, compare.md, sensitivity.md)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def num(value: float | None, digits: int = 3) -> str:
    """A fixed-point number, or an en dash where the value is undefined (None or NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def ci_suffix(ci: Sequence[float] | None) -> str:
    """`` [low, high]`` of a confidence interval, or nothing when there is none."""
    return f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else ""
