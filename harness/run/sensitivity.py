"""``harness sensitivity``: are the estimated affinities robust to the probe set and its size?

The NeurIPS 2019 supplementary claims the attribution-map estimators are stable across probe
sets and down to small probe sizes; this command measures it on a zoo. Each model is imported
once and probed once per probe set at the largest size; smaller sizes are seeded random
subsets of those images (maps and features are per image, so a subset's artifacts are rows
of the full ones). Every (probe set, size) configuration is compared with the reference, the
largest size of the first probe set: Spearman / Kendall / Pearson over the off-diagonal
affinities and the mean per-target Kendall tau of the source rankings; P@1 / P@5 / mean
Spearman against the ground truth when the zoo has one.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from harness.common.console import make_console
from harness.probing.artifacts import ModelArtifacts, rows_of
from harness.compare.stats import affinity_correlation, ranking_changes
from harness.common.errors import HarnessError
from harness.common.options import check_count, check_output_dir
from harness.estimators import EstimatorParams
from harness.evaluation import evaluate, zoo_ground_truth
from harness.evaluation.bootstrap import nanmean
from harness.model.importer import import_card
from harness.estimators.grid import estimate_on_grids
from harness.probing.loop import probe_model
from harness.common.atomic import write_all_atomic
from harness.report.document import dumps
from harness.common.format import num as _f
from harness.run.config import RunConfig, config_from_args
from harness.run.pipeline import _parameters
from harness.runtime.device import pick_device
from harness.model.zoo import load_zoo
from harness.probes import DEFAULT_PROBE, ProbeRequest, list_probes, load_probe, require_different_images, sample_indices
from harness.report.header import document_header



def _probe_all(config: RunConfig, probe_names: list[str], n_max: int, console: Console):
    """Import each model once and probe it with every probe set; returns (zoo, probe sets, artifacts)."""
    zoo = load_zoo(config.zoo)
    device = pick_device(config.device)
    size = max(max(c.input.size) for c in zoo.cards)
    probes = [load_probe(name, ProbeRequest(n_images=n_max, seed=config.seed, size=size)) for name in probe_names]
    for probe in probes:
        require_different_images(probe)
    for name, probe in zip(probe_names, probes):
        if probe.n_images < 2:
            raise HarnessError(f"probe set {name!r}: {probe.n_images} usable image(s); the estimators need at least 2")
    settings = replace(config.settings, gallery_images=0, map_size=None)  # native maps; grids as in `harness run`
    artifacts: dict[str, list[ModelArtifacts]] = {name: [] for name in probe_names}
    for card in zoo.cards:
        with console.status(f"{card.id}: import and probe ({len(probes)} probe set(s))"):
            model = import_card(card)
            for name, probe in zip(probe_names, probes):
                artifacts[name].append(probe_model(model, probe, settings, device).artifacts)
        del model
    return zoo, probes, artifacts, device


def sensitivity(config: RunConfig, probe_names: list[str], sizes: list[int], console: Console | None = None) -> dict:
    """The sensitivity document (sensitivity.json); nothing is written here."""
    console = console or make_console(quiet=True)
    tick = time.perf_counter()
    zoo, probes, artifacts, device = _probe_all(config, probe_names, max(sizes), console)
    probed = time.perf_counter() - tick
    ids = [c.id for c in zoo.cards]
    gt_path = config.ground_truth or zoo.ground_truth
    gt = zoo_ground_truth(zoo, gt_path) if gt_path is not None else None
    params = EstimatorParams(depara_lambda=config.depara_lambda)
    rows, matrices, skipped = [], [], []
    for name, probe in zip(probe_names, probes):
        for n in sizes:
            if n > probe.n_images:
                skipped.append(f"{name}: {n} images (only {probe.n_images})")
                continue
            idx = sample_indices(probe.n_images, n, config.seed)
            arts = [rows_of(a, idx) for a in artifacts[name]]
            mats = {e: np.asarray(estimate_on_grids(e, arts, params, config.settings.map_size).matrix)
                    for e in config.estimators}
            row = {"probe": name, "n_images": n, "estimators": {e: {"affinity": m} for e, m in mats.items()}}
            if gt is not None:
                for e, m in mats.items():
                    ev = evaluate(m, ids, gt, n_boot=config.n_boot, seed=config.seed)
                    row["estimators"][e].update({k: ev[k] for k in ("p_at_1", "p_at_5", "p_at_5_ci", "spearman", "spearman_ci")})
            rows.append(row)
            matrices.append(mats)
    reference = max((r for r in rows if r["probe"] == probe_names[0]), key=lambda r: r["n_images"])
    ref = matrices[rows.index(reference)]
    for row, mats in zip(rows, matrices):
        for e, m in mats.items():
            corr = affinity_correlation(m, ref[e])
            kendalls = [p["kendall"] for p in ranking_changes(m, ref[e], ids).values()]
            row["estimators"][e].update({
                "affinity_spearman": corr["spearman"], "affinity_kendall": corr["kendall"], "affinity_pearson": corr["pearson"],
                "mean_ranking_kendall": nanmean(np.array([np.nan if k is None else k for k in kendalls])),
            })
    return {
        **document_header("sensitivity", zoo=zoo, zoo_cards=True),
        "models": ids,
        "probes": [{"name": n, "source": p.source, "n_images": p.n_images, "sha256": p.sha256()} for n, p in zip(probe_names, probes)],
        "sizes": sizes, "skipped": skipped,
        "reference": {"probe": reference["probe"], "n_images": reference["n_images"]},
        "estimators": list(config.estimators),
        "ground_truth": str(gt_path) if gt_path is not None else None,
        "parameters": {**_parameters(config, device), "subsets": "seeded random subsets of the largest probe set (sample_indices)"},
        "configurations": rows,
        "timings": {"probing": probed, "total": time.perf_counter() - tick},
    }


def render_markdown(doc: dict) -> str:
    ref = doc["reference"]
    lines = [f"# Probe sensitivity: {doc['zoo']['name']} {doc['zoo']['version']}", "",
             f"Reference: **{ref['probe']}**, {ref['n_images']} images. Correlations are over the off-diagonal affinities "
             "of each configuration against the reference; ranking Kendall = mean over targets of Kendall tau between "
             "the two source rankings.", ""]
    if doc["skipped"]:
        lines += [f"Skipped (probe set too small): {'; '.join(doc['skipped'])}", ""]
    gt = doc["ground_truth"] is not None
    for e in doc["estimators"]:
        header = "| probe set | images | Spearman | Kendall | Pearson | ranking Kendall |"
        lines += [f"## `{e}`", "", header + (" P@1 | P@5 [95% CI] | mean Spearman vs GT |" if gt else ""),
                  "|---" * (6 + 3 * gt) + "|"]
        for r in doc["configurations"]:
            s = r["estimators"][e]
            cells = [r["probe"], str(r["n_images"]), _f(s["affinity_spearman"]), _f(s["affinity_kendall"]), _f(s["affinity_pearson"]),
                     _f(s["mean_ranking_kendall"])]
            if gt:
                ci = s.get("p_at_5_ci")
                cells += [_f(s.get("p_at_1")), _f(s.get("p_at_5")) + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else ""), _f(s.get("spearman"))]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    lines += ["![correlation vs probe size](sensitivity.png)", ""]
    return "\n".join(lines)


def terminal_table(doc: dict) -> Table:
    gt = doc["ground_truth"] is not None
    t = Table(title=f"affinity Spearman with the reference ({doc['reference']['probe']}, {doc['reference']['n_images']} images)"
                    + ("; P@5 in brackets" if gt else ""))
    t.add_column("probe set")
    t.add_column("images", justify="right")
    for e in doc["estimators"]:
        t.add_column(e, justify="right")
    for r in doc["configurations"]:
        t.add_row(r["probe"], str(r["n_images"]), *(_f(r["estimators"][e]["affinity_spearman"])
                                                    + (f" ({_f(r['estimators'][e].get('p_at_5'))})" if gt else "") for e in doc["estimators"]))
    return t


def run_sensitivity(args: argparse.Namespace, console: Console) -> int:
    sizes = sorted(set(args.sizes))
    check_count("--sizes", min(sizes), minimum=2, hint="every size is a number of images")
    if args.out is not None:
        check_output_dir(args.out)  # before any model is probed
    run_args = argparse.Namespace(**{**vars(args), "probe": None, "images": max(sizes), "probe_size": None})
    config = config_from_args(run_args)
    probe_names = list(dict.fromkeys(args.probes or _default_probes(config)))
    doc = sensitivity(config, probe_names, sizes, console)
    from harness.report.figures import sensitivity_figure

    reference = f"{doc['reference']['probe']}, {doc['reference']['n_images']} images"
    png = sensitivity_figure(doc["configurations"], doc["estimators"], probe_names, reference)
    out = args.out or Path("runs") / f"{doc['zoo']['name']}-{doc['zoo']['version']}-sensitivity"
    files = {"sensitivity.md": render_markdown(doc).encode(), "sensitivity.png": png, "sensitivity.json": dumps(doc)}
    write_all_atomic(out, files, last="sensitivity.json")
    console.print(terminal_table(doc))
    for line in doc["skipped"]:
        console.print(f"skipped {line}", markup=False, highlight=False)
    console.print(f"wrote {', '.join(str(out / n) for n in files)}", markup=False, highlight=False)
    return 0


def _default_probes(config: RunConfig) -> list[str]:
    from harness.model.zoo import locate_zoo, read_zoo_header

    first = read_zoo_header(locate_zoo(config.zoo)[1]).get("probe") or DEFAULT_PROBE
    return [first] + [p for p in list_probes() if p != first]
