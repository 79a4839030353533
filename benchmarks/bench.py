"""Benchmarks, measured side by side in one run (not timed tests).

1. Import overhead: forward+backward of the onnx2torch graph vs the native torch module it
   was exported from, for a ResNet-style and a MobileNet-style net at batch 32.
2. Attribution: saliency + gradient*input + epsilon-LRP together vs one plain forward+backward
   on the converted ResNet-style graph, and our shared-backward saliency + gradient*input vs
   captum's Saliency and InputXGradient on the same graph. Images/s and peak memory.

Timings interleave the contenders (A B A B ...) and report medians, so machine noise hits
both alike. Peak memory is the growth of the process's peak RSS while one contender runs, in
a fresh subprocess per contender
(Linux: the peak mark is reset through /proc/self/clear_refs after a warm-up call).

    python benchmarks/bench.py [--batch 32] [--size 64] [--repeats 15]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.model.export.pytorch import export_torch  # noqa: E402
from harness.attribution import attribute  # noqa: E402
from harness.model.card import load_card  # noqa: E402
from harness.model.importer import import_card  # noqa: E402
from devkit.archs import torch_archs  # noqa: E402
from devkit.cards import write_card  # noqa: E402


def build_nets(family: str, size: int, folder: Path):
    """(native module, probed converted model) for one architecture family."""
    torch.manual_seed(0)
    native = {"resnet": lambda: torch_archs.ResNet(width=32), "mobilenet": lambda: torch_archs.MobileNet(width=32)}[family]().eval()
    path = export_torch(native, torch.rand(1, 3, size, size), folder / f"{family}.onnx", opset=17, exporter="legacy")
    import onnx

    probe = [n.name for n in onnx.load(str(path)).graph.node if n.op_type in ("Relu", "Clip")][-1]
    card = load_card(write_card(folder, family, path.name, probe, size=(size, size), with_sha=False))
    return native, import_card(card)


def fwd_bwd(module: torch.nn.Module, x: torch.Tensor) -> None:
    x = x.clone().requires_grad_(True)
    out = module(x)
    torch.autograd.grad(out.sum(), x)


def timed(fn, repeats: int, contenders: dict[str, object]) -> dict[str, float]:
    """Median seconds per call of each contender, interleaved."""
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for name, arg in contenders.items():  # warm-up
        fn(name, arg)
    for _ in range(repeats):
        for name, arg in contenders.items():
            start = time.perf_counter()
            fn(name, arg)
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in samples.items()}


def attribution_contenders(model, x: torch.Tensor):
    from captum.attr import InputXGradient, Saliency

    probe_net = model.probe_module()

    def target_sum(inp):
        return probe_net(inp).flatten(1).sum(1)

    saliency, ixg = Saliency(target_sum), InputXGradient(target_sum)
    return {
        "plain forward+backward": lambda: fwd_bwd(probe_net, x),
        "ours: saliency+gradxinput (shared backward)": lambda: attribute(probe_net, x, ["saliency", "gradxinput"]),
        "ours: saliency+gradxinput+elrp": lambda: attribute(probe_net, x, ["saliency", "gradxinput", "elrp"]),
        "captum: Saliency + InputXGradient": lambda: (saliency.attribute(x), ixg.attribute(x)),
    }


def peak_memory(kind: str, name: str, args: argparse.Namespace) -> float:
    """Peak RSS growth (MiB) of running one contender 3 times, in a fresh process."""
    code = [sys.executable, __file__, "--memory-child", kind, name, "--batch", str(args.batch), "--size", str(args.size)]
    out = subprocess.run(code, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    return float(out)


def memory_child(kind: str, name: str, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        native, model = build_nets("resnet" if kind == "attr" else kind, args.size, Path(tmp))
        x = torch.rand(args.batch, 3, args.size, args.size)
        if kind == "attr":
            fn = attribution_contenders(model, x)[name]
        else:
            fn = {"native": lambda: fwd_bwd(native, x), "converted": lambda: fwd_bwd(model.module(), x)}[name]
        fn()  # warm-up: allocator pools and lazy initialisation are not the method's cost
        before = _rss_kib("VmRSS")
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak-RSS mark (Linux)
        for _ in range(3):
            fn()
        print((_rss_kib("VmHWM") - before) / 1024)


def _rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--json", type=Path, default=None, help="also write the numbers here")
    parser.add_argument("--memory-child", nargs=2, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(*args.memory_child, args)
        return
    results: dict = {"batch": args.batch, "size": args.size, "threads": torch.get_num_threads(), "torch": torch.__version__}
    print(f"batch {args.batch}, {args.size}x{args.size} input, {torch.get_num_threads()} threads, torch {torch.__version__}\n")
    with tempfile.TemporaryDirectory() as tmp:
        print("1. forward+backward: converted graph vs native module")
        for family in ("resnet", "mobilenet"):
            native, model = build_nets(family, args.size, Path(tmp))
            x = torch.rand(args.batch, 3, args.size, args.size)
            converted = model.module()
            t = timed(lambda name, m: fwd_bwd(m, x), args.repeats, {"native": native, "converted": converted})
            ratio = t["converted"] / t["native"]
            results[f"import_{family}"] = {**t, "ratio": ratio}
            print(f"   {family:10s} native {t['native'] * 1e3:7.1f} ms   converted {t['converted'] * 1e3:7.1f} ms   "
                  f"converted/native = {ratio:.3f}  (goal <= 1.10)")

        print("\n2. attribution on the converted ResNet-style graph (target: sum of the probe layer)")
        native, model = build_nets("resnet", args.size, Path(tmp))
        x = torch.rand(args.batch, 3, args.size, args.size)
        contenders = attribution_contenders(model, x)
        t = timed(lambda name, fn: fn(), args.repeats, contenders)
        base = t["plain forward+backward"]
        for name, seconds in t.items():
            memory = peak_memory("attr", name, args)
            print(f"   {name:45s} {seconds * 1e3:7.1f} ms  {args.batch / seconds:7.1f} img/s  x{seconds / base:.2f} of fwd+bwd  "
                  f"peak RSS +{memory:.0f} MiB")
            results.setdefault("attribution", {})[name] = {"seconds": seconds, "images_per_s": args.batch / seconds, "peak_rss_mib": memory}
        three = t["ours: saliency+gradxinput+elrp"] / base
        shared = t["ours: saliency+gradxinput (shared backward)"] / t["captum: Saliency + InputXGradient"]
        print(f"\n   saliency+gradxinput+elrp / plain fwd+bwd = {three:.2f}  (goal <= 2.2)")
        print(f"   ours (saliency+gradxinput) / captum (Saliency + InputXGradient) = {shared:.2f}  (goal <= 0.6)")
        results["ratios"] = {"three_methods_over_fwd_bwd": three, "ours_over_captum": shared}
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
