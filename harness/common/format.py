"""Number formatting shared by every output (terminal tables, report.md/.html, compare, analyses' pages).

One place decides how an undefined value looks (an en dash) and how an interval is written.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

#: How an undefined value (None, NaN) is shown.
MISSING = "–"


def num(value: float | None, digits: int = 3, *, signed: bool = False) -> str:
    """A fixed-point number, or an en dash where the value is undefined (None or NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def cell(value: object, digits: int = 3) -> str:
    """A table cell: floats as :func:`num`, anything else (ids, counts, text) as it is."""
    if value is None or isinstance(value, float):
        return num(value, digits)
    return str(value)


def ci_suffix(ci: Sequence[float] | None) -> str:
    """`` [low, high]`` of a confidence interval, or nothing when there is none (or it is undefined)."""
    return f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci and not any(c is None or c != c for c in ci) else ""


def with_ci(value: float | None, ci: Sequence[float] | None = None, digits: int = 3) -> str:
    """``0.512 [0.48, 0.55]``: a value and its interval."""
    return num(value, digits) + ci_suffix(ci)
