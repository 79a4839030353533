"""``harness compare A/report.json B/report.json``: load, check comparability, compare, write, gate."""


from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from harness.compare.comparable import prose_parameters
from harness.compare.load import NotComparable, check_parsed_size, differences, load_report
from harness.compare.render import render_html, render_markdown, terminal_table
from harness.compare.stats import compare_reports
from harness.compare.thresholds import EXIT_THRESHOLD, check_thresholds, parse_thresholds
from harness.common.atomic import write_all_atomic
from harness.report.document import dumps



def run_compare(args: argparse.Namespace, console: Console) -> int:
    from harness.common.limits import BOOTSTRAP
    from harness.common.options import check_count, check_output_dir, check_seed

    check_count("--bootstrap", args.bootstrap, BOOTSTRAP)
    check_seed(args.seed)
    thresholds = parse_thresholds(args.fail_on)
    check_output_dir(args.out)  # before the reports are read and compared
    check_parsed_size([args.a, args.b])
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

