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
from harness.common.limits import BATCH, BOOTSTRAP, IMAGES, MAP_SIDE
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
    check_count("--bootstrap", args.bootstrap, BOOTSTRAP)


def _check_mode(args: argparse.Namespace) -> None:
    """--source/--target (one pair) or --benchmark (every pair of the layer truth), never both, never neither.

    The parser makes both optional so that --benchmark can stand alone; the one-pair mode's
    requirement is checked here, with the same one-line style as every other option error.
    """
    given = [flag for flag, value in (("--source", args.source), ("--target", args.target)) if value is not None]
    if args.benchmark and given:
        raise HarnessError(f"option --benchmark: scores every pair of the layer ground truth and takes no "
                           f"{'/'.join(given)}; drop {' and '.join(given)}, or drop --benchmark to score one pair")
    missing = [flag for flag in ("--source", "--target") if flag not in given]
    if not args.benchmark and missing:
        raise HarnessError(f"option {' and '.join(missing)}: required; give --source ID --target ID for one pair, "
                           "or --benchmark for every pair of the zoo's layer ground truth")


def _load_probe(args: argparse.Namespace, zoo, cards) -> tuple:
    """The probe set, loaded once at the largest input size of ``cards``; (probe, its name)."""
    from harness.probes import load_probe, require_different_images
    from harness.probes.base import ProbeRequest

    size = max(max(card.input.size) for card in cards)
    probe_name = args.probe or zoo.probe or "synthetic-indoor"
    probe = load_probe(probe_name, ProbeRequest(n_images=args.images, seed=args.seed, size=size))
    require_different_images(probe)
    if probe.n_images < 2:
        raise HarnessError(f"probe set {probe_name!r}: {probe.n_images} usable image(s); layer scores need at least 2")
    return probe, probe_name


def pair_body(source, target, probe, probe_name: str, *, layers: list[str] | None, depara_lambda: float, map_size: int,
              batch_size: int, device, seed: int, truth: dict, truth_path: Path | None, progress) -> dict:
    """Score one pair of already imported models and evaluate it per budget; the select-layer document body.

    Split from :func:`pair_document` so that the benchmark can reuse models across pairs;
    ``truth`` is the loaded layer ground truth (``{}``: none), ``progress`` a rich Progress that
    gets a per-layer task for the pair.
    """
    from harness.analyses.select_layer.candidates import candidate_layers
    from harness.analyses.select_layer.evaluate import evaluate_layers
    from harness.analyses.select_layer.score import score_layers

    source_id, target_id = source.card.id, target.card.id
    candidates = candidate_layers(source, layers)
    bar = progress.add_task(f"scoring layers of {source_id} for {target_id}", total=len(candidates) + 1)
    scores = score_layers(source, target, candidates, probe, depara_lambda=depara_lambda, map_size=map_size,
                          batch_size=batch_size, device=device, advance=lambda: progress.advance(bar))
    progress.remove_task(bar)
    order = sorted(range(len(scores)), key=lambda i: -scores[i].score)
    rank = {i: r + 1 for r, i in enumerate(order)}
    evaluation = {str(budget): evaluate_layers(scores, per_layer)
                  for (s, t, budget), per_layer in sorted(truth.items()) if (s, t) == (source_id, target_id)}
    return {
        "source": source_id, "target": target_id, "reference_layer": target.probe.tensor,
        "probe": {"name": probe_name, "source": probe.source, "n_images": probe.n_images, "sha256": probe.sha256()},
        "parameters": {"depara_lambda": depara_lambda, "map_size": map_size, "seed": seed,
                       "candidates": "auto" if layers is None else "named"},
        "chosen": scores[order[0]].layer,
        "layers": [{**asdict(s), "shape": list(s.shape), "op": s.op_type, "rank": rank[i]} for i, s in enumerate(scores)],
        "layer_truth": str(truth_path) if truth_path else None,
        "evaluation": evaluation,
    }


def pair_document(zoo, source_id: str, target_id: str, probe, probe_name: str, *, layers: list[str] | None,
                  depara_lambda: float, map_size: int, batch_size: int, device, seed: int, truth_path: Path | None,
                  console: Console) -> dict:
    """Import and score one (source, target) pair on an already loaded probe set; the select-layer document body."""
    from harness.model.importer import import_card
    from harness.analyses.select_layer.evaluate import load_layer_truth

    source_card, target_card = zoo.card(source_id), zoo.card(target_id)
    truth = load_layer_truth(truth_path) if truth_path is not None else {}
    with console.status(f"importing {source_card.id} and {target_card.id} ..."):
        source, target = import_card(source_card), import_card(target_card)
    with progress_bar(console, transient=True) as progress:
        return pair_body(source, target, probe, probe_name, layers=layers, depara_lambda=depara_lambda, map_size=map_size,
                         batch_size=batch_size, device=device, seed=seed, truth=truth, truth_path=truth_path,
                         progress=progress)


def zoo_layer_truth(zoo) -> Path | None:
    """The zoo's measured per-layer transfer, when it has one: ``layers.csv`` beside its ground truth.

    Beside the ground truth, not at a fixed place in the folder: zoo versions share a folder
    (zoo.yaml, zoo-2.0.yaml, zoo-1.0.yaml) and their models share ids, so a fixed path would hand one
    version's layer truth to the other.
    """
    if zoo.ground_truth is None:
        return None
    path = zoo.ground_truth.parent / LAYER_TRUTH.name
    return path if path.is_file() else None


def select_layer(args: argparse.Namespace, console: Console) -> dict:
    """The select-layer document (select-layer.json); nothing is written here."""
    from harness.runtime.device import pick_device
    from harness.model.zoo import default_zoo_dir, load_zoo

    _check(args)
    zoo = load_zoo(args.zoo or default_zoo_dir())
    source_card, target_card = zoo.card(args.source), zoo.card(args.target)
    device = pick_device(args.device)
    probe, probe_name = _load_probe(args, zoo, (source_card, target_card))
    body = pair_document(zoo, source_card.id, target_card.id, probe, probe_name,
                         layers=None if args.layers == ["auto"] else args.layers, depara_lambda=args.depara_lambda,
                         map_size=args.map_size, batch_size=args.batch_size or 32, device=device, seed=args.seed,
                         truth_path=args.layer_truth or zoo_layer_truth(zoo), console=console)
    return {
        **document_header("select-layer", zoo=zoo),
        **body,
    }


def benchmark_truth(args: argparse.Namespace, zoo) -> Path:
    """--layer-truth, else the zoo's layers.csv; a zoo without one is a one-line error saying what to pass."""
    path = args.layer_truth or zoo_layer_truth(zoo)
    if path is None:
        raise HarnessError(
            f"zoo {zoo.name} {zoo.version} ({zoo.file}) has no {LAYER_TRUTH.name} beside its ground truth; "
            f"--benchmark needs measured per-layer transfer: pass --layer-truth CSV or a zoo with {LAYER_TRUTH.name} "
            "(e.g. the embedded default zoo, or --zoo zoo/zoo-1.0.yaml)")
    return path


def select_layer_benchmark(args: argparse.Namespace, console: Console) -> dict:
    """The benchmark document (select-layer-benchmark.json): every pair of the layer truth, scored once."""
    import time

    from harness.analyses.select_layer.benchmark import benchmark_document, check_pairs_in_zoo, score_pairs, truth_pairs
    from harness.analyses.select_layer.evaluate import load_layer_truth
    from harness.model.importer import import_card
    from harness.model.zoo import default_zoo_dir, load_zoo
    from harness.runtime.device import pick_device

    _check(args)
    started = time.perf_counter()
    zoo = load_zoo(args.zoo or default_zoo_dir())
    truth_path = benchmark_truth(args, zoo)
    truth = load_layer_truth(truth_path)
    pairs = truth_pairs(truth)
    if not pairs:
        raise HarnessError(f"{truth_path}: no rows; --benchmark needs at least one (source, target) pair of measured "
                           "per-layer transfer")
    check_pairs_in_zoo(pairs, [c.id for c in zoo.cards], truth_path, f"{zoo.name} {zoo.version} ({zoo.file})")
    device = pick_device(args.device)
    probe, probe_name = _load_probe(args, zoo, [zoo.card(m) for m in sorted({m for pair in pairs for m in pair})])
    layers = None if args.layers == ["auto"] else args.layers
    batch_size = args.batch_size or 32

    def score(source, target, progress) -> dict:
        return pair_body(source, target, probe, probe_name, layers=layers, depara_lambda=args.depara_lambda,
                         map_size=args.map_size, batch_size=batch_size, device=device, seed=args.seed, truth=truth,
                         truth_path=truth_path, progress=progress)

    with progress_bar(console, transient=True) as progress:
        bodies = score_pairs(pairs, lambda model_id: import_card(zoo.card(model_id)), score, progress)
    scored = time.perf_counter() - started
    doc = benchmark_document(bodies, resamples=args.bootstrap, seed=args.seed)
    return {
        **document_header("select-layer-benchmark", zoo=zoo),
        **doc,
        "probe": {"name": probe_name, "source": probe.source, "n_images": probe.n_images, "sha256": probe.sha256()},
        "layer_truth": str(truth_path),
        "parameters": {"images": args.images, "seed": args.seed, "bootstrap": args.bootstrap,
                       "depara_lambda": args.depara_lambda, "map_size": args.map_size, "batch_size": batch_size,
                       "candidates": "auto" if layers is None else "named", "device": str(device)},
        "seconds": {"wall": round(scored, 3)},  # loading the zoo, probe set and models, and scoring every pair
    }


def _number(value: float | None, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def _print_benchmark(doc: dict, console: Console) -> None:
    """The per-case table, the summary table and the verdict."""
    from harness.analyses.select_layer.benchmark import CASE_METRICS

    table = Table(title=f"select-layer benchmark: {len(doc['cases'])} (pair, budget) cases "
                        "(P@1 1 = the chosen layer is the best; deepest: the same for the deepest layer; "
                        "ceiling: seed-to-seed P@1)")
    for column in ("source -> target", "budget", "chosen layer", "best layer", "P@1", "Spearman", "deepest", "ceiling"):
        table.add_column(column, overflow="fold")
    for c in doc["cases"]:
        table.add_row(f"{c['source']} -> {c['target']}", str(c["budget"]), c["chosen_layer"] or "-", c["best_layer"] or "-",
                      _number(c["p_at_1"], ".0f"), _number(c["spearman"]), _number(c["baseline_deepest_p_at_1"], ".0f"),
                      _number(c["ceiling"]))
    console.print(table)
    summary = Table(title="summary over cases (mean, 95% bootstrap CI over cases, n defined)")
    for column in ("key", "mean", "95% CI", "n"):
        summary.add_column(column)
    for key in (*CASE_METRICS, "p_at_1_minus_baseline"):
        s = doc[key]
        ci = "-" if s["ci"] is None else f"[{s['ci'][0]:.2f}, {s['ci'][1]:.2f}]"
        summary.add_row(key, _number(s["mean"], ".3f"), ci, str(s["n"]))
    console.print(summary)
    console.print(doc["verdict"], markup=False, highlight=False)


def _run_benchmark(args: argparse.Namespace, console: Console) -> int:
    """``select-layer --benchmark``: score, write select-layer-benchmark.json atomically, print the tables."""
    from harness.analyses.select_layer.benchmark import BENCHMARK_FILE
    from harness.common.atomic import write_all_atomic

    out = args.out or Path("runs") / "select-layer" / "benchmark"
    check_output_dir(out)
    doc = select_layer_benchmark(args, console)
    try:
        write_all_atomic(out, {BENCHMARK_FILE: (json.dumps(doc, indent=1) + "\n").encode()}, last=BENCHMARK_FILE)
    except OSError as exc:
        raise HarnessError(f"option --out: cannot write {out} ({exc.strerror or exc}); choose a writable folder") from None
    _print_benchmark(doc, console)
    console.print(f"wrote {out / BENCHMARK_FILE}", markup=False, highlight=False, soft_wrap=True)
    return 0


def run_select_layer(args: argparse.Namespace, console: Console) -> int:
    from harness.analyses.select_layer.page import render_html, render_markdown, scores_figure
    from harness.common.atomic import write_all_atomic

    _check_mode(args)
    if args.benchmark:
        return _run_benchmark(args, console)
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
