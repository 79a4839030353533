"""``harness compare A/report.json B/report.json``: what changed between two runs, and is it noise.

Exit codes: 0 compared; 2 a file is not a readable harness report, or the two reports are
not comparable (different probe set or method parameters; ``--force`` overrides); 4 a
``--fail-on`` threshold was crossed (the outputs are still written), so CI can gate on it.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from rich.console import Console

from harness.compare.comparable import prose_parameters
from harness.compare.load import NotComparable, differences, load_report
from harness.compare.render import render_html, render_markdown, terminal_table
from harness.compare.stats import compare_reports
from harness.errors import HarnessError, excerpt
from harness.options import EXIT_THRESHOLD, THRESHOLDS
from harness.registry import suggest
from harness.report.atomic import write_all_atomic
from harness.report.document import dumps



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
                value, crossed, what = delta, delta is not None and -delta > limit, f"changed by {_s(delta)} (allowed drop {limit:g})"
            else:
                value = e["affinity"]["spearman"] if key == "min_affinity_corr" else e["mean_kendall"]
                crossed, what = value is not None and value < limit, f"is {_s(value)} (minimum {limit:g})"
            if value is None:
                unchecked.append(f"{key} for {name}: not available")
            elif crossed:
                failures.append(f"{key}: {name} {what}")
    return failures, unchecked


def _s(value: float | None) -> str:
    return "–" if value is None else f"{value:+.3f}"


def run_compare(args: argparse.Namespace, console: Console) -> int:
    from harness.limits import BOOTSTRAP
    from harness.preflight import check_count, check_output_dir, check_seed

    check_count("--bootstrap", args.bootstrap, BOOTSTRAP)
    check_seed(args.seed)
    thresholds = parse_thresholds(args.fail_on)
    check_output_dir(args.out)  # before the reports are read and compared
    a, b = load_report(args.a), load_report(args.b)
    diffs = differences(a, b)
    if diffs and not args.force:
        raise NotComparable(f"{args.a} and {args.b} are not comparable: {'; '.join(diffs)}; pass --force to compare anyway")
    result = compare_reports(a, b, n_boot=args.bootstrap, seed=args.seed)
    result["forced_differences"] = diffs
    result["prose_parameters_ignored"] = prose_parameters(a, b)
    result["a"], result["b"] = _identity(args.a, a), _identity(args.b, b)
    failures, unchecked = check_thresholds(result, thresholds)
    result["fail_on"] = {"thresholds": thresholds, "failures": failures, "unchecked": unchecked}
    paths = (str(args.a), str(args.b))
    files = {"compare.md": render_markdown(result, a, b, paths).encode(), "compare.html": render_html(result, a, b, paths).encode(),
             "compare.json": dumps(result)}
    write_all_atomic(args.out, files, last="compare.json")
    console.print(terminal_table(result, a, b))
    m = result["models"]
    console.print(f"models: {len(m['added'])} added, {len(m['removed'])} removed, {len(m['changed'])} changed, {len(m['unchanged'])} unchanged",
                  markup=False, highlight=False)
    ignored = result["prose_parameters_ignored"]
    notes = [f"note: parameter(s) {', '.join(ignored)} hold prose in an older report; not used to decide comparability"] if ignored else []
    for line in [*notes, *(f"warning: compared despite {d}" for d in diffs), *(f"not checked: {u}" for u in unchecked)]:
        console.print(line, markup=False, highlight=False)
    console.print(f"wrote {', '.join(str(args.out / n) for n in files)}", markup=False, highlight=False)
    for line in failures:
        console.print(f"FAIL {line}", style="bold red", markup=False, highlight=False)
    return EXIT_THRESHOLD if failures else 0


def _identity(path: Path, report: dict) -> dict:
    return {"path": str(path), "zoo": report["zoo"]["name"], "version": report["zoo"]["version"],
            "created": report.get("created"), "probe": {k: report["probe"].get(k) for k in ("name", "n_images", "sha256")}}


__all__ = ["EXIT_THRESHOLD", "THRESHOLDS", "compare_reports", "load_report", "run_compare"]
