"""``harness evaluate ESTIMATES... --ground-truth GT``: score affinity matrices computed elsewhere.

A researcher's own estimates (or a published matrix) go through the same evaluation as a
run's: :func:`harness.evaluation.suite.evaluate_suite` (metrics, CIs, static rankers, paired
differences), the same task trees, rankings and renderers, written atomically as
``report.json`` (``kind: evaluation``), ``report.md`` and ``report.html``.
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from harness.common.atomic import write_all_atomic
from harness.common.errors import HarnessError
from harness.common.format import num as _fmt
from harness.common.format import with_ci as _ci
from harness.common.limits import CSV_BYTES
from harness.common.textio import read_text
from harness.estimators.base import rank_sources
from harness.evaluation import task_tree
from harness.evaluation.builtin import resolve_ground_truth
from harness.evaluation.estimates import Estimates, check_against_truth, read_estimates
from harness.evaluation.ground_truth import PSEUDO_SOURCES, GroundTruth
from harness.evaluation.stability import stability, stability_line
from harness.evaluation.suite import evaluate_suite
from harness.report.document import SCHEMA_VERSION, dumps
from harness.report.header import document_header
from harness.report.html import html_files
from harness.report.lookup import filled_for_tree
from harness.report.markdown import render_evaluation_markdown
from harness.report.provenance import file_hashes
from harness.report.verdict import verdict_line
from harness.run.pipeline import _ranked_scores, ground_truth_matrix


def _aligned(found: list[Estimates], gt: GroundTruth) -> tuple[list[str], dict[str, np.ndarray]]:
    """Every estimator over one list of models (the first one's, pseudo-sources dropped)."""
    names = [e.name for e in found]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise HarnessError(f"estimator name(s) {', '.join(map(repr, twice))} given twice; name each file with NAME=PATH")
    for estimates in found:
        check_against_truth(estimates, gt)
    ids = [m for m in found[0].model_ids if m not in PSEUDO_SOURCES]
    matrices = {}
    for estimates in found:
        own = [m for m in estimates.model_ids if m not in PSEUDO_SOURCES]
        if set(own) != set(ids):
            odd = sorted(set(own) ^ set(ids))
            raise HarnessError(f"{estimates.origin}: estimator {estimates.name!r} covers other models than {found[0].name!r} "
                               f"(differ: {', '.join(odd[:5])}); evaluate estimators over the same models together")
        index = [estimates.model_ids.index(m) for m in ids]
        matrices[estimates.name] = estimates.matrix[np.ix_(index, index)]
    return ids, matrices


def _sizes(path: Path | None) -> dict[str, float] | None:
    """``--model-sizes``: CSV ``model,parameters`` (optional header) for the size ranker."""
    if path is None:
        return None
    text = read_text(path, "model sizes", CSV_BYTES, encoding="utf-8-sig", error=HarnessError)
    out: dict[str, float] = {}
    for line, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
        if not row or line == 1 and row[0].strip().lower() in ("model", "id"):
            continue
        try:
            out[row[0].strip()] = float(row[1])
        except (IndexError, ValueError):
            raise HarnessError(f"{path}:{line}: expected 'model,parameters' with a number, got {','.join(row)[:80]!r}") from None
    return out


def evaluation_document(found: list[Estimates], gt: GroundTruth, gt_name: str, *, n_boot: int, seed: int,
                        sizes: dict[str, float] | None = None, setups: int = 0, inputs: dict[str, str] | None = None) -> dict:
    """The report.json of ``harness evaluate`` (renderable by the run's renderers)."""
    ids, matrices = _aligned(found, gt)
    evaluation, baselines = evaluate_suite(matrices, ids, gt, sizes=sizes, n_boot=n_boot, seed=seed)
    rankings = {name: rank_sources(m, ids) for name, m in matrices.items()}
    trees = {name: task_tree(filled_for_tree(m), ids) for name, m in matrices.items()}
    doc = {
        "schema_version": SCHEMA_VERSION,
        **document_header("evaluation"),
        "ground_truth": {"path": gt_name, "ceiling": None, **ground_truth_matrix(gt, ids)},
        "models": [{"id": m} for m in ids],
        "parameters": {"bootstrap": n_boot, "seed": seed, "stability_setups": setups},
        "estimators": {name: {"models": ids, "affinity": m, "origin": e.origin} for (name, m), e in zip(matrices.items(), found)},
        "rankings": rankings,
        "scores": {name: _ranked_scores(m, ids, rankings[name]) for name, m in matrices.items()},
        "evaluation": evaluation,
        "static_baselines": baselines,
        "tree": {name: t.newick for name, t in trees.items()},
        "tree_text": {name: t.text for name, t in trees.items()},
        "tree_leaf_order": {name: list(t.leaf_order) for name, t in trees.items()},
        "inputs": inputs or {},
    }
    if setups:
        doc["stability"] = stability(matrices, ids, gt, setups=setups, seed=seed)
    return doc


def run_evaluate(args: argparse.Namespace, console: Console) -> int:
    from harness.common.limits import BOOTSTRAP
    from harness.common.options import check_count, check_output_dir, check_seed

    check_count("--bootstrap", args.bootstrap, BOOTSTRAP)
    check_seed(args.seed)
    if args.stability:
        check_count("--stability", args.stability, maximum=100_000)
    check_output_dir(args.out)
    gt, gt_name, aliases = resolve_ground_truth(args.ground_truth)
    found: list[Estimates] = []
    for spec in args.estimates:
        found += read_estimates(spec, aliases, ids_file=args.ids, rows_are_targets=args.rows_are_targets)
    files = [("estimates", Path(e.origin)) for e in found] + ([("ids", args.ids)] if args.ids else [])
    if Path(gt_name).is_file():
        files.append(("ground_truth", Path(gt_name)))
    doc = evaluation_document(found, gt, gt_name, n_boot=args.bootstrap, seed=args.seed, sizes=_sizes(args.model_sizes),
                              setups=args.stability or 0, inputs=file_hashes(files, Path.cwd()))
    outputs = {"report.md": render_evaluation_markdown(doc).encode(), **html_files(doc), "report.json": dumps(doc)}
    write_all_atomic(args.out, outputs, last="report.json")
    console.print(evaluation_table(doc))
    console.print(verdict_line(doc["evaluation"], "on this ground truth"), markup=False, highlight=False, soft_wrap=True)
    if doc.get("stability"):
        console.print(stability_line(doc["stability"]), markup=False, highlight=False, soft_wrap=True)
    console.print(f"wrote {', '.join(str(args.out / n) for n in outputs if '/' not in n)}", markup=False, highlight=False)
    return 0


def evaluation_table(doc: dict) -> Table:
    first = next(iter(doc["evaluation"].values()))
    table = Table(title=f"{len(doc['evaluation'])} estimator(s) against {doc['ground_truth']['path']}: "
                        f"{first['n_models']} models, {first['n_targets']} targets")
    for column in ("estimator", "mean Spearman [95% CI]", "weighted τ", "Rel@1", "P@5", "per-source Spearman", "Δ vs static [95% CI]"):
        table.add_column(column, justify="left" if column == "estimator" else "right")
    rows = [(name, e, e.get("vs_static") or {}) for name, e in doc["evaluation"].items()]
    rows += [(f"{name} (static)", e, {}) for name, e in doc["static_baselines"].items()]
    for name, e, vs in rows:
        table.add_row(name, _ci(e["spearman"], e.get("spearman_ci")), _fmt(e.get("weighted_tau")), _fmt(e.get("rel_at_1")),
                      _fmt(e.get("p_at_5")), _fmt(e.get("per_source_spearman")),
                      _ci(vs.get("spearman_diff"), vs.get("spearman_diff_ci")) if vs else "–")
    return table
