"""Benchmark of ``harness explain``, side by side in one run (not a timed test).

1. The 2ndG term q_l = a_l^T H_ll a_l on one classifier and layer, three ways on the same
   batch: the exact Gauss-Newton form (``gauss_newton``: one backward per output), batched
   Hessian-vector products (``hvp``: every location's HVP in one double-backward over a
   repeated batch) and the seed's cost model, one HVP per location (``loop``). Timings
   interleave the contenders (A B C A B C ...) and report medians; agreement is the largest
   absolute difference divided by the largest |q| of the loop.
2. Images/s of whole explanations (difficulty map + top-class maps; no figures) for the
   gradient, IG and 2ndG variants.

    .venv/bin/python benchmarks/explain_bench.py [--card zoo/explain/cards/class_object-gap.yaml] [--layer NAME ...]
        [--images 16] [--repeats 5] [--score softmax] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent


def _timed(fn) -> tuple[float, torch.Tensor]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def bench_second_order(split, score, x: torch.Tensor, repeats: int) -> dict:
    from harness.attribution.hessian import quadratic_gauss_newton, quadratic_hvp, quadratic_loop

    with torch.no_grad():
        a = split.body(x)
    contenders = {"gauss_newton": quadratic_gauss_newton, "hvp": quadratic_hvp, "loop": quadratic_loop}
    times: dict[str, list[float]] = {k: [] for k in contenders}
    results = {}
    for name, fn in contenders.items():  # warm-up
        results[name] = fn(split.logits, score.fn, x, a)
    for _ in range(repeats):
        for name, fn in contenders.items():
            seconds, results[name] = _timed(lambda fn=fn: fn(split.logits, score.fn, x, a))
            times[name].append(seconds)
    ref = results["loop"]
    scale = float(ref.abs().max())
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "layer": split.layer.onnx_node or split.layer.tensor, "layer_shape": list(split.layer.shape[1:]),
        "locations": int(a.shape[2] * a.shape[3]), "outputs": int(split.logits(x[:1], a[:1]).shape[1]),
        "images": int(x.shape[0]), "median_seconds": med,
        "speedup_gauss_newton_vs_loop": med["loop"] / med["gauss_newton"],
        "speedup_hvp_vs_loop": med["loop"] / med["hvp"],
        "max_rel_diff_vs_loop": {k: float((results[k] - ref).abs().max()) / scale for k in ("gauss_newton", "hvp")},
        "max_abs_q": scale,
    }


def bench_explanations(card, layer: str | None, score: str, rgb: torch.Tensor, repeats: int) -> dict:
    from harness.analyses.explain.command import ExplainConfig, Explainer

    explainers = {v: Explainer.load(card, ExplainConfig(layer=layer, score=score, attribution=v)) for v in ("gradient", "ig", "2ndg")}
    times: dict[str, list[float]] = {k: [] for k in explainers}
    for e in explainers.values():
        e.maps(rgb)
    for _ in range(max(1, repeats // 2)):
        for name, e in explainers.items():
            times[name].append(_timed(lambda e=e: e.maps(rgb))[0])
    return {name: rgb.shape[0] / statistics.median(t) for name, t in times.items()}


def main(argv=None) -> int:
    from rich.console import Console
    from rich.table import Table

    from harness.model.card import load_card
    from harness.analyses.explain.scores import SCORES
    from harness.model.cut import SplitModel
    from harness.model.importer import import_card
    from harness.model.preprocess import preprocess
    from harness.probes import ProbeRequest, load_probe

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--card", type=Path, default=ROOT / "zoo" / "explain" / "cards" / "class_object-gap.yaml")
    parser.add_argument("--layer", nargs="+", default=[None], help="layers to split at (default: the card's probe layer)")
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--score", default="softmax")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    card = load_card(args.card)
    probe = load_probe("synthetic-indoor", ProbeRequest(n_images=args.images, seed=0, size=max(card.input.size)))
    rgb = next(probe.batches(args.images))[1]
    x = preprocess(rgb, card.input)
    model = import_card(card)
    score = SCORES.get(args.score if args.score != "hardness" else "softmax")
    report = {"card": card.id, "score": score.name, "images": args.images, "threads": args.threads,
              "torch": torch.__version__, "second_order": [], "images_per_second": {}}
    console = Console()
    for layer in args.layer:
        split = SplitModel.at(model, layer)
        row = bench_second_order(split, score, x, args.repeats)
        report["second_order"].append(row)
        report["images_per_second"][row["layer"]] = bench_explanations(card, layer, score.name, rgb, args.repeats)
    table = Table(title=f"2ndG on {card.id}, {args.images} images, score {score.name} (median of {args.repeats})")
    for col in ("layer", "C x H x W", "loop s", "hvp s", "gauss-newton s", "GN speedup", "hvp speedup", "GN rel diff", "hvp rel diff",
                "img/s gradient", "img/s ig", "img/s 2ndg"):
        table.add_column(col)
    for row in report["second_order"]:
        m, ips = row["median_seconds"], report["images_per_second"][row["layer"]]
        table.add_row(row["layer"], "x".join(map(str, row["layer_shape"])), f"{m['loop']:.3f}", f"{m['hvp']:.3f}",
                      f"{m['gauss_newton']:.4f}", f"{row['speedup_gauss_newton_vs_loop']:.0f}x", f"{row['speedup_hvp_vs_loop']:.1f}x",
                      f"{row['max_rel_diff_vs_loop']['gauss_newton']:.1e}", f"{row['max_rel_diff_vs_loop']['hvp']:.1e}",
                      f"{ips['gradient']:.1f}", f"{ips['ig']:.2f}", f"{ips['2ndg']:.1f}")
    console.print(table)
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
