"""Feature-sharing benchmark: batched marginalisation vs the seed's per-sample loop, one run.

Both contenders marginalise the same layer of the same imported model on the same probe
images with the same S samples per unit. The loop does one full forward per (unit, sample),
so its cost per unit is constant: it is timed on ``--loop-units`` units (interleaved with the
batched path on the same units, repeated, median), and the batched path is also timed on the
whole layer. Reported: seconds per unit and units/s of each, the ratio, and the largest
difference between their log-likelihoods (they must agree).

    python benchmarks/sharing_bench.py [--card CARD] [--layer NAME] [--samples 64] [--images 100]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.model.card import load_card  # noqa: E402
from harness.model.importer import import_card  # noqa: E402
from harness.model.preprocess import preprocess  # noqa: E402
from harness.probes.base import ProbeRequest  # noqa: E402
from harness.probes.labels import load_labelled  # noqa: E402
from harness.analyses.sharing.heads import make_head  # noqa: E402
from harness.analyses.sharing.marginalise import marginalise, marginalise_loop  # noqa: E402
from harness.analyses.sharing.run import default_labels  # noqa: E402
from harness.analyses.sharing.units import unit_layer  # noqa: E402

DEFAULT_CARD = ROOT / "zoo" / "sharing" / "cards" / "multi-class_scene+glyph.yaml"
DEFAULT_LAYER = "/encoder/encoder.2/encoder.2.0/Conv"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--card", type=Path, default=DEFAULT_CARD)
    parser.add_argument("--layer", nargs="+", default=[DEFAULT_LAYER], help="layers to marginalise (each benchmarked)")
    parser.add_argument("--samples", type=int, default=64)
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--loop-units", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    card = load_card(args.card)
    model = import_card(card)
    labelled = load_labelled(default_labels(card.path, card.heads), ProbeRequest(n_images=args.images, size=max(card.input.size)), list(card.heads))
    x = preprocess(torch.from_numpy(labelled.probe.images.astype(np.float32) / 255.0), card.input)
    with torch.no_grad():
        out0 = model.graph(x)
    from harness.model.onnx_io import load_onnx

    names = [o.name for o in load_onnx(card.onnx).graph.output]
    heads = [make_head(h, names.index(h), out0[names.index(h)], labelled.task(h), "bench") for h in card.heads]
    results = [bench_layer(model, x, heads, name, args) for name in args.layer]
    print(json.dumps({"card": card.id, "samples": args.samples, "images": args.images, "threads": torch.get_num_threads(),
                      "layers": results}, indent=1))
    return 0


def bench_layer(model, x: torch.Tensor, heads, name: str, args) -> dict:
    """Loop vs batched on one layer, interleaved A B A B ... (medians), then the batched path on the whole layer."""
    layer = unit_layer(model.graph, model.layers.resolve(name, "bench"), name, "bench")
    units = list(range(args.loop_units))
    loop_t, fast_t = [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        slow = marginalise_loop(model.graph, x, layer, heads, args.samples, units=units)
        loop_t.append((time.perf_counter() - t0) / len(units))
        t0 = time.perf_counter()
        fast = marginalise(model.graph, x, layer, heads, args.samples, units=units)
        fast_t.append((time.perf_counter() - t0) / len(units))
    diff = max(float((fast.loglik[h.name] - slow.loglik[h.name]).abs().max()) for h in heads)
    t0 = time.perf_counter()
    full = marginalise(model.graph, x, layer, heads, args.samples)
    full_s = time.perf_counter() - t0
    loop_per_unit, fast_per_unit = statistics.median(loop_t), statistics.median(fast_t)
    return {
        "layer": name, "units": layer.n_units, "path": full.path,
        "loop_s_per_unit": round(loop_per_unit, 4), "batched_s_per_unit_same_units": round(fast_per_unit, 4),
        "batched_s_whole_layer": round(full_s, 3),
        "loop_units_per_s": round(1 / loop_per_unit, 3), "batched_units_per_s": round(layer.n_units / full_s, 3),
        "speedup_same_units": round(loop_per_unit / fast_per_unit, 1),
        "speedup_whole_layer": round(loop_per_unit * layer.n_units / full_s, 1),
        "max_abs_loglik_diff": diff,
    }


if __name__ == "__main__":
    raise SystemExit(main())
