"""Which parameters can decide comparability: structured ones (numbers and names) only.

Reports written before parameters were structured held prose descriptions (e.g. a sentence
on map resampling); rewording such a sentence must not make two reports incomparable, so a
parameter that is prose in either report is left out of the check and listed instead.
"""

from __future__ import annotations

from collections.abc import Mapping

from harness.report.parameters import is_structured


def prose_parameters(a: Mapping, b: Mapping) -> list[str]:
    """Parameter keys holding prose (not numbers or names) in either report, sorted."""
    keys = set(a["parameters"]) | set(b["parameters"])
    return sorted(k for k in keys if not all(is_structured(r["parameters"].get(k)) for r in (a, b)))
