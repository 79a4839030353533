"""The report.json document: schema, provenance, results; plain JSON types only."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

SCHEMA_VERSION = 1
#: Keys that legitimately differ between two runs on the same inputs (``provenance`` holds the
#: command line and working directory, e.g. another ``--out``; ``cache``: which models were hits
#: depends on earlier runs).
VOLATILE_KEYS = ("created", "timings", "provenance", "cache", "cost")


def clean(value: Any, digits: int = 10) -> Any:
    """numpy -> python, floats rounded to ``digits`` significant digits, NaN/inf -> None.

    Rounding keeps report.json readable and stable against last-bit noise.
    """
    if isinstance(value, dict):
        return {str(k): clean(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v, digits) for v in value]
    if isinstance(value, np.ndarray):
        return clean(value.tolist(), digits)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if not math.isfinite(value):
            return None
        return float(f"{value:.{digits}g}")
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def dumps(report: dict) -> bytes:
    return (json.dumps(clean(report), indent=1, sort_keys=False, allow_nan=False) + "\n").encode()
