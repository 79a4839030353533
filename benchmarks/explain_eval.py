"""Evaluate insecurities against object masks of fresh synthetic scenes (re-runnable on any zoo).

For each object classifier given (cards whose ``classes`` name the synthetic object classes),
render fresh indoor scenes, report the classifier's accuracy on them, and for gradient, IG and
2ndG the fraction of each insecurity mask on objects of its two classes, against a random mask
and the difficulty map alone (bootstrap 95% CIs over images). See harness/explain/evaluate.py.

    .venv/bin/python benchmarks/explain_eval.py [CARD ...] [--images 200] [--keep 0.2] [--score softmax]
        [--first-seed 7000000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _fmt(entry: dict) -> str:
    ci = entry["ci95"]
    return f"{entry['mean']:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def main(argv=None) -> int:
    import torch
    from rich.console import Console
    from rich.table import Table

    from harness.model.card import load_card
    from harness.analyses.explain.evaluate import evaluate

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cards", nargs="*", type=Path,
                        default=[ROOT / "zoo" / "explain" / "cards" / "class_object-gap.yaml",
                                 ROOT / "zoo" / "cards" / "class_object.yaml", ROOT / "zoo" / "cards-2.0" / "class_object.yaml"])
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--first-seed", type=int, default=7_000_000, help="scene seeds (outside every zoo split)")
    parser.add_argument("--keep", type=float, default=0.2)
    parser.add_argument("--score", default="softmax")
    parser.add_argument("--attributions", nargs="+", default=["gradient", "ig", "2ndg"])
    parser.add_argument("--layer", default=None)
    parser.add_argument("--bootstrap", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    console = Console()
    results = []
    for path in args.cards:
        t0 = time.perf_counter()
        res = evaluate(load_card(path), tuple(args.attributions), args.images, args.first_seed, args.keep, args.score,
                       args.bootstrap, args.layer, progress=lambda v: console.print(f"  {path.stem}: {v} done"))
        res["seconds"] = round(time.perf_counter() - t0, 1)
        results.append(res)
        table = Table(title=f"{res['card']} (accuracy {res['accuracy']:.3f} on {res['images']} fresh scenes, seeds "
                            f"{res['seeds'][0]}..{res['seeds'][1]}); layer {res['layer']}, score {res['score']}, keep {res['keep']}")
        for col in ("attribution", "images", "insecurities", "insecurity precision", "difficulty map alone", "random mask",
                    "insecurity - random", "insecurity - difficulty"):
            table.add_column(col)
        for variant, row in res["variants"].items():
            table.add_row(variant, str(row["images"]), str(row["insecurities"]), _fmt(row["insecurity"]), _fmt(row["difficulty"]),
                          _fmt(row["random"]), _fmt(row["insecurity_minus_random"]), _fmt(row["insecurity_minus_difficulty"]))
        console.print(table)
        for name, entry in res["paired"].items():
            console.print(f"  insecurity precision {name}, paired by image: {_fmt(entry)}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
