"""Scaling benchmarks for issue 10, measured side by side in one run (not timed tests).

1. incremental: a zoo of N models is run into a fresh cache, then N+1 models; the second run's
   wall time over a run that probes the one added model alone (fresh cache) — goal <= 1.3;
2. resume: `harness run` in a subprocess is SIGKILLed once half the models are in the cache;
   the rerun's recomputed models among those finished before the kill — goal 0;
3. memory: peak RSS of `harness run` (fresh process) for 10, 50, 100 small models x 500 probe
   images, sharing one cache (so each run probes the models new to it) — goal flat, <= 1.5 GB;
4. throughput of a ResNet-50-class graph (random weights, bottleneck blocks 3-4-6-3) at 224 px
   through ONNX -> onnx2torch: images/s of the harness's probing (saliency + gradient*input +
   epsilon-LRP + features) vs one plain forward+backward and vs the ideal one forward + two
   backwards, interleaved, medians;
5. Ray executor vs local on the default zoo (--no-cache, same options): wall-time ratio.

CPU-sized by default; with a GPU (or --seed-scale) the throughput and the zoo use the seeds'
scale (batch 32, more images). Run it with `nice -n 10` on a shared machine:

    nice -n 10 .venv/bin/python benchmarks/scale.py [--only incremental resume memory throughput ray]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
HARNESS = [sys.executable, "-m", "harness.cli"]


def tiny_model(path: Path, seed: int, size: int = 32) -> None:
    """input -> Conv(3->4, 3x3) -> Relu 'relu1' -> GlobalAveragePool; weights from ``seed``."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    w = numpy_helper.from_array(rng.normal(size=(4, 3, 3, 3)).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.normal(size=(4,)).astype(np.float32), "b")
    nodes = [helper.make_node("Conv", ["input", "w", "b"], ["c"], name="conv1", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"], name="relu1"),
             helper.make_node("GlobalAveragePool", ["r"], ["output"], name="gap")]
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [None, 3, size, size])],
                              [helper.make_tensor_value_info("output", TensorProto.FLOAT, [None, 4, 1, 1])], [w, b])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))


def tiny_zoo(folder: Path, n: int, start: int = 0) -> Path:
    from devkit.cards import write_card, write_zoo

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(start, start + n):
        tiny_model(folder / f"m{i:03d}.onnx", seed=i)
        write_card(folder, f"m{i:03d}", f"m{i:03d}.onnx", "relu1", framework="onnx")
    return write_zoo(folder, name="tiny", version=str(n))


def run_cli(*args: str) -> float:
    from harness.cli.main import main

    tick = time.perf_counter()
    assert main(list(args)) == 0, args
    return time.perf_counter() - tick


def bench_incremental(work: Path, n: int, images: int) -> dict:
    zoo = tiny_zoo(work / "inc", n)
    cache = work / "inc-cache"
    common = ["--images", str(images), "--bootstrap", "20", "--cache", str(cache)]
    first = run_cli("run", "--zoo", str(zoo), "--out", str(work / "inc-o1"), *common)
    tiny_zoo(zoo, 1, start=n)  # add one card (the zoo file's glob picks it up)
    second = run_cli("run", "--zoo", str(zoo), "--out", str(work / "inc-o2"), *common)
    report = json.loads((work / "inc-o2" / "report.json").read_text())
    alone_zoo = work / "inc-alone"
    alone_zoo.mkdir()
    for suffix in (".onnx", ".yaml"):
        shutil.copy(zoo / f"m{n:03d}{suffix}", alone_zoo / f"m{n:03d}{suffix}")
    from devkit.cards import write_zoo

    write_zoo(alone_zoo, name="alone")
    alone = run_cli("run", "--zoo", str(alone_zoo), "--out", str(work / "inc-o3"), "--images", str(images),
                    "--bootstrap", "20", "--cache", str(work / "inc-cache-alone"), "--estimators", "saliency")
    return {"models": n, "images": images, "first_run_s": first, "n_plus_1_run_s": second, "one_model_alone_s": alone,
            "ratio": second / alone, "misses_in_second_run": report["cache"]["misses"]}


def bench_resume(work: Path, n: int, images: int) -> dict:
    zoo = tiny_zoo(work / "res", n)
    cache = work / "res-cache"
    cmd = [*HARNESS, "run", "--zoo", str(zoo), "--images", str(images), "--bootstrap", "20", "--out", str(work / "res-o"),
           "--cache", str(cache)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    entries = cache / "v1" / "entries"
    while proc.poll() is None:
        done = list(entries.glob("*/*/manifest.json")) if entries.exists() else []
        if len(done) >= n // 2:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    proc.wait()
    finished = {json.loads(m.read_text())["record"]["model_id"] for m in entries.glob("*/*/manifest.json")}
    run_cli("run", "--zoo", str(zoo), "--images", str(images), "--bootstrap", "20", "--out", str(work / "res-o2"),
            "--cache", str(cache))
    report = json.loads((work / "res-o2" / "report.json").read_text())
    recomputed = sorted(m for m in finished if report["cache"]["models"][m] == "miss")
    return {"models": n, "finished_before_kill": len(finished), "recomputed_of_those": len(recomputed),
            "probed_on_resume": report["cache"]["misses"], "killed": proc.returncode == -signal.SIGKILL}


_RSS_CHILD = """
import resource, sys
from harness.cli.main import main
code = main(sys.argv[1:])
print("PEAK_RSS_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, "EXIT", code)
"""


def bench_memory(work: Path, sizes: list[int], images: int) -> dict:
    cache = work / "mem-cache"
    out = {}
    for n in sizes:
        zoo = tiny_zoo(work / f"mem{n}", n)
        tick = time.perf_counter()
        res = subprocess.run([sys.executable, "-c", _RSS_CHILD, "run", "--zoo", str(zoo), "--images", str(images),
                              "--bootstrap", "20", "--out", str(work / f"mem-o{n}"), "--cache", str(cache)],
                             capture_output=True, text=True, check=True)
        line = [x for x in res.stdout.splitlines() if x.startswith("PEAK_RSS_KB")][0].split()
        report = json.loads((work / f"mem-o{n}" / "report.json").read_text())
        out[n] = {"peak_rss_mb": int(line[1]) / 1024, "seconds": time.perf_counter() - tick,
                  "probed": report["cache"]["misses"], "from_cache": report["cache"]["hits"]}
    return {"images": images, "runs": out}


def resnet50(width: int = 64):
    """A ResNet-50-class net (bottleneck blocks 3-4-6-3, ~25 M parameters), random weights."""
    import torch
    from torch import nn

    class Bottleneck(nn.Module):
        def __init__(self, cin, mid, stride):
            super().__init__()
            cout = mid * 4
            self.body = nn.Sequential(
                nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU(),
                nn.Conv2d(mid, mid, 3, stride, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU(),
                nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout))
            self.skip = nn.Sequential() if stride == 1 and cin == cout else nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
            self.relu = nn.ReLU()

        def forward(self, x):
            return self.relu(self.body(x) + self.skip(x))

    layers = [nn.Conv2d(3, width, 7, 2, 3, bias=False), nn.BatchNorm2d(width), nn.ReLU(), nn.MaxPool2d(3, 2, 1)]
    cin = width
    for i, blocks in enumerate((3, 4, 6, 3)):
        mid = width * 2**i
        for j in range(blocks):
            layers.append(Bottleneck(cin, mid, 2 if j == 0 and i > 0 else 1))
            cin = mid * 4
    torch.manual_seed(0)
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, 1000)).eval()


def bench_throughput(work: Path, size: int, batch: int, images: int, repeats: int, device_name: str) -> dict:
    import onnx
    import torch

    from harness.model.export.pytorch import export_torch
    from harness.model.card import load_card
    from harness.model.importer import import_card
    from harness.probes.base import ProbeSet
    from harness.probing.loop import MemorySink, ProbeSettings, probe_model
    from devkit.cards import write_card

    device = torch.device(device_name)
    folder = work / "r50"
    folder.mkdir()
    path = export_torch(resnet50(), torch.rand(1, 3, size, size), folder / "r50.onnx", opset=17, exporter="legacy")
    probe_layer = [n.name for n in onnx.load(str(path)).graph.node if n.op_type == "Relu"][-1]  # the last block's output
    model = import_card(load_card(write_card(folder, "r50", "r50.onnx", probe_layer, size=(size, size), with_sha=False)))
    rng = np.random.default_rng(0)
    probe = ProbeSet("random", rng.integers(0, 255, (images, 3, size, size), dtype=np.uint8), tuple(map(str, range(images))))
    settings = ProbeSettings(methods=("saliency", "gradxinput", "elrp"), batch_size=batch)
    net = model.probe_module().to(device)
    xs = [torch.from_numpy(probe.images[i : i + batch].astype(np.float32) / 255).to(device) for i in range(0, images, batch)]

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    def harness_probe():
        probe_model(model, probe, settings, device, sink=MemorySink())

    def fwd_bwd():
        for x in xs:
            leaf = x.clone().requires_grad_(True)
            torch.autograd.grad(net(leaf).sum(), leaf)

    def fwd_2bwd():
        for x in xs:
            leaf = x.clone().requires_grad_(True)
            out = net(leaf).sum()
            torch.autograd.grad(out, leaf, retain_graph=True)
            torch.autograd.grad(out, leaf)

    contenders = {"harness probing (saliency+gradxinput+elrp+features)": harness_probe,
                  "one forward+backward": fwd_bwd, "ideal: one forward + two backwards": fwd_2bwd}
    for fn in contenders.values():  # warm-up
        fn()
    times = {k: [] for k in contenders}
    for _ in range(repeats):  # interleaved: noise hits all alike
        for name, fn in contenders.items():
            sync()
            tick = time.perf_counter()
            fn()
            sync()
            times[name].append(time.perf_counter() - tick)
    med = {k: statistics.median(v) for k, v in times.items()}
    base = med["harness probing (saliency+gradxinput+elrp+features)"]
    return {"size": size, "batch": batch, "images": images, "device": str(device), "repeats": repeats,
            "params_m": sum(p.numel() for p in model.graph.parameters()) / 1e6,
            "images_per_s": {k: images / v for k, v in med.items()},
            "harness_time_over": {k: base / v for k, v in med.items() if v is not base}}


def bench_ray(work: Path, images: int) -> dict:
    from harness.model.zoo import default_zoo_dir

    common = ["run", "--zoo", str(default_zoo_dir()), "--images", str(images), "--no-cache", "--bootstrap", "50"]
    local = run_cli(*common, "--out", str(work / "ray-local"))
    ray_s = run_cli(*common, "--out", str(work / "ray-ray"), "--executor", "ray")
    a = json.loads((work / "ray-local" / "report.json").read_text())
    b = json.loads((work / "ray-ray" / "report.json").read_text())
    # Ray workers run torch with one thread: float sums in another order, affinities equal to ~1e-7
    diff = max(float(np.nanmax(np.abs(np.asarray(a["estimators"][e]["affinity"], float)
                                      - np.asarray(b["estimators"][e]["affinity"], float)))) for e in a["estimators"])
    return {"images": images, "local_s": local, "ray_s": ray_s, "ratio": ray_s / local,
            "same_rankings": a["rankings"] == b["rankings"], "max_affinity_diff": diff, "cpus": os.cpu_count()}


_PAIRS_CHILD = """
import resource, sys, numpy as np
from harness.estimators.ranks import condensed_distances, standardized_ranks
n, u = int(sys.argv[1]), int(sys.argv[2])
f = np.random.default_rng(0).standard_normal((n, u)).astype(np.float32)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
z = standardized_ranks(condensed_distances(f, "cosine", centre_columns=True))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(((peak - base) * 1024 - 16 * n * u) / (n * (n - 1) / 2))
"""


def bench_pairs(sizes=(3000, 5000), units: int = 64) -> dict:
    """Peak bytes per image pair of one model's image-pair step (harness/budget.py's constant)."""
    out = {}
    for n in sizes:
        res = subprocess.run([sys.executable, "-c", _PAIRS_CHILD, str(n), str(units)], capture_output=True, text=True, check=True)
        out[n] = float(res.stdout.split()[-1])
    return {"bytes_per_pair": out}


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", default=["incremental", "resume", "memory", "throughput", "ray", "pairs"])
    parser.add_argument("--seed-scale", action="store_true", help="the seeds' sizes (default when a GPU is present)")
    parser.add_argument("--memory-sizes", nargs="+", type=int, default=[10, 50, 100])
    args = parser.parse_args()
    gpu = torch.cuda.is_available()
    seed_scale = args.seed_scale or gpu
    results = {"machine": {"cpus": os.cpu_count(), "gpu": torch.cuda.get_device_name(0) if gpu else None,
                           "load_avg_start": os.getloadavg()}}
    with tempfile.TemporaryDirectory(prefix="harness-bench-") as tmp:
        work = Path(tmp)
        os.environ["XDG_CACHE_HOME"] = str(work / "xdg")  # never the user's cache
        if "incremental" in args.only:
            results["incremental"] = bench_incremental(work, n=20 if seed_scale else 5, images=200 if seed_scale else 50)
        if "resume" in args.only:
            results["resume"] = bench_resume(work, n=20 if seed_scale else 8, images=200 if seed_scale else 50)
        if "memory" in args.only:
            results["memory"] = bench_memory(work, args.memory_sizes, images=500)
        if "throughput" in args.only:
            results["throughput"] = bench_throughput(work, size=224, batch=32 if seed_scale else 8,
                                                     images=256 if seed_scale else 16, repeats=5 if seed_scale else 3,
                                                     device_name="cuda" if gpu else "cpu")
        if "ray" in args.only:
            results["ray"] = bench_ray(work, images=200 if seed_scale else 100)
    if "pairs" in args.only:
        results["pairs"] = bench_pairs()
    results["machine"]["load_avg_end"] = os.getloadavg()
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
