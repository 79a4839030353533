"""``compare --fail-on`` thresholds: their names, parsing, and the check of a comparison against them.

Import-light (no numpy): the CLI parser lists the thresholds in its help.
"""

from __future__ import annotations

import math

from harness.common.errors import HarnessError, excerpt
from harness.common.format import num
from harness.common.registry import suggest

#: Exit code of ``harness compare`` when a ``--fail-on`` threshold is crossed.
EXIT_THRESHOLD = 4
#: --fail-on name -> what it checks. Drops are B − A of a mean over shared targets; "min_"
#: checks fail when the value falls below the threshold.
THRESHOLDS = {
    "p_at_1_drop": "P@1 against ground truth fell by more than X",
    "p_at_5_drop": "P@5 against ground truth fell by more than X",
    "spearman_drop": "mean Spearman against ground truth fell by more than X",
    "min_affinity_corr": "Spearman correlation of the shared off-diagonal affinities is below X",
    "min_ranking_kendall": "mean per-target Kendall tau between the two rankings is below X",
}


def parse_thresholds(items: list[str]) -> dict[str, float]:
    out = {}
    for item in (part for raw in items for part in raw.split(",") if part):
        name, sep, value = item.partition("=")
        if not sep:
            raise HarnessError(f"option --fail-on: expected NAME=VALUE, got {excerpt(item)}")
        if name not in THRESHOLDS:
            raise HarnessError(f"option --fail-on: unknown threshold {excerpt(name)}; {suggest(name, list(THRESHOLDS))}")
        try:
            out[name] = float(value)
        except ValueError:
            raise HarnessError(f"option --fail-on: {name}={excerpt(value)} is not a number") from None
        if not math.isfinite(out[name]):
            raise HarnessError(f"option --fail-on: {name}={excerpt(value)} is not a finite number (a NaN or infinite gate never trips)")
    return out


def check_thresholds(result: dict, thresholds: dict[str, float]) -> tuple[list[str], list[str]]:
    """(failures, unchecked): one line per estimator that crossed a threshold / could not be checked."""
    failures, unchecked = [], []
    for name, e in result["estimators"].items():
        gt = (e.get("ground_truth") or {}).get("metrics", {})
        for key, limit in thresholds.items():
            if key.endswith("_drop"):
                delta = (gt.get(key.removesuffix("_drop")) or {}).get("delta")
                value, crossed, what = delta, delta is not None and -delta > limit, f"changed by {num(delta, signed=True)} (allowed drop {limit:g})"
            else:
                value = e["affinity"]["spearman"] if key == "min_affinity_corr" else e["mean_kendall"]
                crossed, what = value is not None and value < limit, f"is {num(value, signed=True)} (minimum {limit:g})"
            if value is None:
                unchecked.append(f"{key} for {name}: not available")
            elif crossed:
                failures.append(f"{key}: {name} {what}")
    return failures, unchecked
