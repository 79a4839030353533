"""``harness select-layer``: rank a source model's layers for transfer to a target model."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.table import Table

from harness.common.console import progress_bar
from harness.common.errors import HarnessError
from harness.common.limits import BATCH, IMAGES, MAP_SIDE
from harness.common.options import check_count, check_finite, check_output_dir

from harness.analyses.select_layer import LAYER_TRUTH
from harness.report.header import document_header


#: Largest --batch-size of select-layer (its own bound, kept when its checks moved to common/options.py).
SELECT_LAYER_MAX_BATCH = 4096


def _check(args: argparse.Namespace) -> None:
    check_count("--images", args.images, IMAGES, minimum=2)
    check_count("--map-size", args.map_size, MAP_SIDE)
    check_count("--batch-size", args.batch_size, BATCH, maximum=SELECT_LAYER_MAX_BATCH)
    check_finite("--depara-lambda", args.depara_lambda)


def pair_document(zoo, source_id: str, target_id: str, probe, probe_name: str, *, layers: list[str] | None,
                  depara_lambda: float, map_size: int, batch_size: int, device, seed: int, truth_path: Path | None,
                  console: Console) -> dict:
    """Score one (source, target) pair on an already loaded probe set; the select-layer document body."""
    from harness.model.importer import import_card
    from harness.analyses.select_layer.candidates import candidate_layers
    from harness.analyses.select_layer.evaluate import evaluate_layers, load_layer_truth
    from harness.analyses.select_layer.score import score_layers

    source_card, target_card = zoo.card(source_id), zoo.card(target_id)
    truth = load_layer_truth(truth_path) if truth_path is not None else {}
    with console.status(f"importing {source_card.id} and {target_card.id} ..."):
        source, target = import_card(source_card), import_card(target_card)
    candidates = candidate_layers(source, layers)
    with progress_bar(console, transient=True) as progress:
        bar = progress.add_task(f"scoring layers of {source_card.id} for {target_card.id}", total=len(candidates) + 1)
        scores = score_layers(source, target, candidates, probe, depara_lambda=depara_lambda, map_size=map_size,
                              batch_size=batch_size, device=device, advance=lambda: progress.advance(bar))
    order = sorted(range(len(scores)), key=lambda i: -scores[i].score)
    rank = {i: r + 1 for r, i in enumerate(order)}
    evaluation = {str(budget): evaluate_layers(scores, per_layer)
                  for (s, t, budget), per_layer in sorted(truth.items()) if (s, t) == (source_card.id, target_card.id)}
    return {
        "source": source_card.id, "target": target_card.id, "reference_layer": target.probe.tensor,
        "probe": {"name": probe_name, "source": probe.source, "n_images": probe.n_images, "sha256": probe.sha256()},
        "parameters": {"depara_lambda": depara_lambda, "map_size": map_size, "seed": seed,
                       "candidates": "auto" if layers is None else "named"},
        "chosen": scores[order[0]].layer,
        "layers": [{**asdict(s), "shape": list(s.shape), "op": s.op_type, "rank": rank[i]} for i, s in enumerate(scores)],
        "layer_truth": str(truth_path) if truth_path else None,
        "evaluation": evaluation,
    }


def zoo_layer_truth(zoo) -> Path | None:
    """The zoo's measured per-layer transfer, when it has one: ``layers.csv`` beside its ground truth.

    Beside the ground truth, not at a fixed place in the folder: zoo versions share a folder
    (zoo.yaml, zoo-1.0.yaml) and their models share ids, so a fixed path would hand one
    version's layer truth to the other.
    """
    if zoo.ground_truth is None:
        return None
    path = zoo.ground_truth.parent / LAYER_TRUTH.name
    return path if path.is_file() else None


def select_layer(args: argparse.Namespace, console: Console) -> dict:
    """The select-layer document (select-layer.json); nothing is written here."""
    from harness.probes import load_probe, require_different_images
    from harness.probes.base import ProbeRequest
    from harness.runtime.device import pick_device
    from harness.model.zoo import default_zoo_dir, load_zoo

    _check(args)
    zoo = load_zoo(args.zoo or default_zoo_dir())
    source_card, target_card = zoo.card(args.source), zoo.card(args.target)
    device = pick_device(args.device)
    size = max(max(source_card.input.size), max(target_card.input.size))
    probe_name = args.probe or zoo.probe or "synthetic-indoor"
    probe = load_probe(probe_name, ProbeRequest(n_images=args.images, seed=args.seed, size=size))
    require_different_images(probe)
    if probe.n_images < 2:
        raise HarnessError(f"probe set {probe_name!r}: {probe.n_images} usable image(s); layer scores need at least 2")
    body = pair_document(zoo, source_card.id, target_card.id, probe, probe_name,
                         layers=None if args.layers == ["auto"] else args.layers, depara_lambda=args.depara_lambda,
                         map_size=args.map_size, batch_size=args.batch_size or 32, device=device, seed=args.seed,
                         truth_path=args.layer_truth or zoo_layer_truth(zoo), console=console)
    return {
        **document_header("select-layer", zoo=zoo),
        **body,
    }


def run_select_layer(args: argparse.Namespace, console: Console) -> int:
    from harness.analyses.select_layer.page import render_html, render_markdown, scores_figure
    from harness.common.atomic import write_all_atomic

    out = args.out or Path("runs") / "select-layer" / f"{args.source}--{args.target}"
    check_output_dir(out)
    doc = select_layer(args, console)
    png = scores_figure(doc)
    files = {"select-layer.md": render_markdown(doc).encode(), "select-layer.html": render_html(doc, png).encode(),
             "select-layer.png": png, "select-layer.json": (json.dumps(doc, indent=1) + "\n").encode()}
    try:
        write_all_atomic(out, files, last="select-layer.json")
    except OSError as exc:
        raise HarnessError(f"option --out: cannot write {out} ({exc.strerror or exc}); choose a writable folder") from None
    table = Table(title=f"{doc['source']} -> {doc['target']}: layers by DEPARA score")
    for column in ("#", "layer", "score", "V", "E"):
        table.add_column(column, overflow="fold")
    for row in sorted(doc["layers"], key=lambda r: r["rank"]):
        table.add_row(str(row["rank"]), row["layer"], f"{row['score']:.4f}", f"{row['node']:.4f}", f"{row['edge']:.4f}")
    console.print(table)
    for budget, ev in doc["evaluation"].items():
        if "p_at_1" in ev:
            console.print(f"budget {budget}: best layer {ev['best_layer']}; P@1 {ev['p_at_1']:.0f}, Spearman "
                          f"{'-' if ev['spearman'] is None else format(ev['spearman'], '.3f')}, ceiling "
                          f"{'-' if ev['ceiling_spearman'] is None else format(ev['ceiling_spearman'], '.3f')}")
    console.print(f"wrote {out}/select-layer.json, .md, .html")
    return 0
