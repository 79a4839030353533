"""The seeds' workload, measured and projected: N ResNet-50s x M probe images at 224 px.

    .venv/bin/python benchmarks/seed_scale.py --models 4 --images 32 [--device cpu|cuda] [--keep DIR]

Builds N torchvision-layout ResNet-50s (random weights, seeded: speed does not depend on
them), exports them with torch.onnx, writes their cards and a zoo, and runs ``harness run``
on M synthetic probe images at 224 px in a subprocess (so its peak resident memory is its
own). It prints one table:

- import: the harness's import time of one model against its inherent work (onnx2torch
  conversion + one onnxruntime forward + one torch forward, at the parity batch of 2), timed on a
  second import in the process (the first also pays one-time library imports, shown beside it);
- probing: images/s per model (attribution with saliency, gradient*input and epsilon-LRP,
  plus features) against one native forward+backward of the same network per image;
- memory: the run's peak RSS against the budget the harness worked under;
- the projection of the seeds' workload (20 models x 1000 images) on this machine, from the
  measured per-image and per-model costs (estimators scaled quadratically in images: DEPARA
  and RSA compare image pairs).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import onnx
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.import_table import resnet50  # noqa: E402
from devkit.cards import write_card  # noqa: E402
from harness.model.card import load_card  # noqa: E402
from harness.model.export.pytorch import export_torch  # noqa: E402
from harness.model.importer import convert, import_card  # noqa: E402
from harness.model.preprocess import random_input  # noqa: E402
from harness.model.parity import ort_session  # noqa: E402
from harness.runtime import budget  # noqa: E402

SEEDS_MODELS, SEEDS_IMAGES = 20, 1000


def build_zoo(folder: Path, n_models: int) -> list[Path]:
    """N ResNet-50 ONNX files with cards, and a zoo.yaml listing them."""
    cards = []
    for i in range(n_models):
        torch.manual_seed(i)
        net = resnet50()
        path = export_torch(net, torch.rand(1, 3, 224, 224), folder / f"r50-{i}.onnx", opset=17, exporter="legacy", dynamic_batch=True)
        relu = [n for n in onnx.load(str(path), load_external_data=False).graph.node if n.op_type == "Relu"]
        cards.append(write_card(folder, f"r50-{i}", path.name, relu[(2 * len(relu)) // 3].output[0], framework="pytorch",
                                size=(224, 224), layout="NCHW", with_sha=False))
    (folder / "zoo.yaml").write_text("name: seed-scale\nversion: 1.0.0\ncards: '*.yaml'\nprobe: synthetic-indoor\n")
    return cards


def inherent_import(card_path: Path) -> dict[str, float]:
    """Import time against conversion + one onnxruntime forward + one torch forward (batch 2)."""
    card = load_card(card_path)
    tick = time.perf_counter()
    import_card(card)
    harness_s = time.perf_counter() - tick
    model = onnx.load(str(card.onnx))
    tick = time.perf_counter()
    graph = convert(model, "bench")  # onnx2torch's node conversion (shapes inferred without the weights)
    conversion = time.perf_counter() - tick
    x = random_input(card.input, 2, seed=0)
    tick = time.perf_counter()
    session = ort_session(model, [])
    session.run(None, {session.get_inputs()[0].name: x.numpy()})
    ort_s = time.perf_counter() - tick
    tick = time.perf_counter()
    with torch.no_grad():
        graph(x)
    torch_s = time.perf_counter() - tick
    inherent = conversion + ort_s + torch_s
    return {"import_s": harness_s, "conversion_s": conversion, "ort_forward_s": ort_s, "torch_forward_s": torch_s,
            "inherent_s": inherent, "ratio": harness_s / inherent}


def native_seconds_per_image(batch: int, device: str, repeats: int = 3) -> float:
    """One forward+backward of the native ResNet-50 per image, at ``batch`` images."""
    net = resnet50().to(device)
    x = torch.rand(batch, 3, 224, 224, device=device, requires_grad=True)
    best = float("inf")
    for _ in range(repeats):
        tick = time.perf_counter()
        net(x).sum().backward()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - tick)
        x.grad = None
    return best / batch


def run_suite(folder: Path, n_images: int, device: str, out: Path) -> tuple[dict, float, int]:
    """``harness run`` in a subprocess: (report, wall seconds, peak RSS bytes of the run)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    tick = time.perf_counter()
    subprocess.run([sys.executable, "-m", "harness.cli", "run", "--zoo", str(folder), "--images", str(n_images),
                    "--no-cache", "--device", device, "--bootstrap", "10", "--out", str(out)],
                   check=True, cwd=ROOT, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    wall = time.perf_counter() - tick
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak_kib <= before:
        print("note: the child's peak RSS did not exceed an earlier child's; the figure is an upper bound")
    return json.loads((out / "report.json").read_text()), wall, peak_kib * 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=4)
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--keep", type=Path, default=None, help="build the zoo here and keep it (default: a temporary folder)")
    parser.add_argument("--json", type=Path, default=None, help="also write the measurements as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp) / "zoo"
        folder.mkdir(parents=True, exist_ok=True)
        tick = time.perf_counter()
        cards = build_zoo(folder, args.models)
        print(f"built {args.models} ResNet-50s in {time.perf_counter() - tick:.0f} s")
        # the first import in a process also pays the one-time library imports (onnxscript's folder,
        # onnx2torch's converters: ~1 s) that the inherent work measured after it does not: time a
        # second import of the same model for the ratio, and report the first beside it
        cold = inherent_import(cards[0])
        importing = inherent_import(cards[0])
        report, wall, peak = run_suite(folder, args.images, args.device, Path(tmp) / "run")
    per_model = report["timings"]["per_model"]
    probing = [t.get("attribution", 0) + t.get("features", 0) for t in per_model.values()]
    imports = [t.get("import", 0) for t in per_model.values()]
    seconds_per_image = sum(probing) / len(probing) / args.images
    batches = [m.get("batch_size") for m in report.get("models", [])]
    native = native_seconds_per_image(min(8, args.images), args.device)
    estimators = report["timings"]["stages"].get("estimators", 0.0)
    limit = budget.memory_limit(None)
    projected = (SEEDS_MODELS * SEEDS_IMAGES * seconds_per_image + SEEDS_MODELS * (sum(imports) / len(imports))
                 + estimators * (SEEDS_IMAGES / args.images) ** 2 * (SEEDS_MODELS / args.models) ** 2)
    rows = [
        ("import one model (s)", f"{importing['import_s']:.1f}"),
        ("  first import in the process (s)", f"{cold['import_s']:.1f}"),
        ("  inherent: conversion + ort fwd + torch fwd (s)",
         f"{importing['inherent_s']:.1f} ({importing['conversion_s']:.1f} + {importing['ort_forward_s']:.1f} + {importing['torch_forward_s']:.1f})"),
        ("  import / inherent", f"{importing['ratio']:.2f}"),
        ("probing per model (images/s)", f"{1 / seconds_per_image:.2f}"),
        ("  native fwd+bwd (images/s)", f"{1 / native:.2f}"),
        ("  probing / native fwd+bwd (time per image)", f"{seconds_per_image / native:.2f}"),
        ("  batch chosen per model", ", ".join(str(b) for b in batches) or "(not recorded)"),
        ("estimators (s)", f"{estimators:.1f}"),
        ("run wall time (s)", f"{wall:.0f}"),
        ("peak RSS of the run (GB)", f"{peak / 2**30:.2f}"),
        ("  memory budget (GB)", f"{limit / 2**30:.1f}"),
        (f"projected seeds' workload, {SEEDS_MODELS} x {SEEDS_IMAGES} (min)", f"{projected / 60:.0f}"),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"\nseed scale: {args.models} ResNet-50s x {args.images} images at 224 px on {args.device}")
    for label, value in rows:
        print(f"{label.ljust(width)}  {value}")
    if args.json:
        args.json.write_text(json.dumps({"models": args.models, "images": args.images, "device": args.device, **importing, "first_import_s": cold["import_s"],
                                         "seconds_per_image": seconds_per_image, "native_seconds_per_image": native,
                                         "estimators_s": estimators, "wall_s": wall, "peak_rss_bytes": peak,
                                         "budget_bytes": limit, "projected_s": projected, "batches": batches}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
