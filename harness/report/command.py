"""``harness report RUN_DIR [--out DIR]``: report.md, report.html and figures/ rendered again from report.json.

For a run folder written by an older harness (a renderer fixed or improved since), or an
evaluation written by ``harness evaluate`` (``kind: evaluation``). The attribution-map gallery
is drawn from maps that report.json does not hold: the gallery PNGs already in
``RUN_DIR/figures`` are kept (and shown on the page), else the page is rendered without it.
The files are written as one atomic set (report.json, unchanged, last).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console

from harness.common.atomic import write_all_atomic
from harness.common.errors import HarnessError, ValidationError, excerpt
from harness.report.html import FIGURES_DIR, render_figures, render_html
from harness.report.markdown import render_evaluation_markdown, render_markdown

#: What the renderers read from an evaluation document (``harness evaluate``) and from a run's report.
_EVALUATION_KEYS = ("ground_truth", "models", "parameters", "estimators", "rankings", "scores", "evaluation")
_RUN_KEYS = ("zoo", "zoo.name", "zoo.version", "probe", "parameters", "models", "estimators", "rankings", "scores",
             "evaluation", "harness_version", "created")


def load_document(run_dir: Path) -> tuple[dict, bytes]:
    """The report.json of ``run_dir`` (a folder, or the report.json itself), checked, with its bytes."""
    path = run_dir / "report.json" if run_dir.is_dir() else run_dir
    if not run_dir.exists():
        raise HarnessError(f"harness report: {excerpt(str(run_dir), 200)} does not exist; pass a folder written by "
                           "harness run or harness evaluate")
    if not path.is_file():
        raise HarnessError(f"harness report: {excerpt(str(run_dir), 200)} has no report.json; pass a folder written by "
                           "harness run or harness evaluate")
    if path.name != "report.json":
        raise HarnessError(f"harness report: {excerpt(str(path), 200)} is not a report.json; pass the run folder")
    from harness.common.limits import REPORT_BYTES
    from harness.common.textio import read_bytes

    raw = read_bytes(path, "report", REPORT_BYTES)
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ValidationError(f"{path}: not valid JSON; not a harness report") from None
    if not isinstance(data, dict) or "schema_version" not in data:
        raise ValidationError(f"{path}: not a harness report (no schema_version at the top level)")
    if data.get("kind") == "evaluation":
        missing = [k for k in _EVALUATION_KEYS if not isinstance(data.get(k), (dict, list))]
        if missing or not isinstance(data["ground_truth"].get("path"), str):
            raise ValidationError(f"{path}: not a complete harness evaluation: missing {', '.join(missing) or 'ground_truth.path'}")
        return data, raw
    for key in _RUN_KEYS:
        parent, _, child = key.partition(".")
        value = data.get(parent)
        if child and isinstance(value, dict):
            value = value.get(child)
        if not isinstance(value, (dict, list, str)):
            raise ValidationError(f"{path}: not a complete harness report: missing key {key!r}")
    for name, est in data["estimators"].items():
        if not isinstance(est, dict) or not isinstance(est.get("models"), list) or not isinstance(est.get("affinity"), list):
            raise ValidationError(f"{path}: estimators.{name}: expected models and affinity lists")
    return data, raw


def rendered_files(report: dict, raw: bytes, kept_gallery: dict[str, bytes]) -> dict[str, bytes]:
    """The whole set: report.md, figures (the kept gallery PNGs included), report.html, report.json unchanged."""
    evaluation = report.get("kind") == "evaluation"
    markdown = render_evaluation_markdown(report) if evaluation else render_markdown(report)
    figures = {**render_figures(report), **({} if evaluation else kept_gallery)}
    files = {"report.md": markdown.encode(), **{f"{FIGURES_DIR}/{name}": png for name, png in figures.items()}}
    files["report.html"] = render_html(report, figures).encode("utf-8")
    files["report.json"] = raw
    return files


def run_report(args: argparse.Namespace, console: Console) -> int:
    run_dir = Path(args.run_dir)
    report, raw = load_document(run_dir)
    folder = run_dir if run_dir.is_dir() else run_dir.parent
    out = Path(args.out) if args.out is not None else folder
    gallery_dir = folder / FIGURES_DIR
    kept = {p.name: p.read_bytes() for p in sorted(gallery_dir.glob("gallery-*.png"))} if gallery_dir.is_dir() else {}
    files = rendered_files(report, raw, kept)
    write_all_atomic(out, files, last="report.json")
    if report.get("kind") != "evaluation":
        note = (f"the attribution-map gallery is not in report.json: kept its {len(kept)} PNG(s) from {gallery_dir}" if kept else
                "the attribution-map gallery is not in report.json: report.html is rendered without it (rerun harness run to draw it)")
        console.print(note, markup=False, highlight=False, soft_wrap=True)
    figures = sum(name.startswith(f"{FIGURES_DIR}/") for name in files)
    console.print(f"wrote {out / 'report.md'}, {out / 'report.html'} and {figures} figures in {out / FIGURES_DIR}",
                  markup=False, highlight=False, soft_wrap=True)
    return 0
