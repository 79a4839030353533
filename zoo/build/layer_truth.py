"""Stage "layers": measured transfer from each candidate layer, the ground truth of layer selection.

For a few (source model, target task) pairs — cross-style ones (a source trained on studio
scenes, an indoor target: DEPARA's domain-shift setting) and same-style cross-task ones — and
two target-label budgets (1/10 and 1/100 of a 2400-image pool), the source network is cut
after each candidate layer (the same auto candidates `harness select-layer` scores), that
prefix is frozen, and a fresh trainable rest (two conv3x3-ReLU layers of 32 channels, then the
task's output: bilinear upsampling + conv1x1 for pixel tasks, global pooling + linear for
vectors and classes) is trained on the budget's images; the target task's test loss is measured
on 300 indoor test images. Two seeds. Every measurement is appended to
zoo/.cache/layers_raw.csv as soon as it exists (the stage resumes), and the summary is written
to zoo/ground_truth/layers.csv: source, target, budget, layer, seed, test_loss (lower = better
transfer from that layer).
"""

from __future__ import annotations

import csv
import time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

from harness.model.card import load_card
from harness.model.importer import import_card
from harness.analyses.select_layer.candidates import candidate_layers
from harness.model.preprocess import preprocess
from harness.probes.synthetic import TASK_INFO, render_batch
from zoo.build.config import VERSIONS
from zoo.build.progress import progress_bar

#: This stage belongs to zoo 1.0 (its models and folders).
FILES = VERSIONS["1.0"].files

SIZE = 32
#: (source model id, target model id): the target model names the target task and is what
#: `harness select-layer` scores the source's layers against.
PAIRS = (
    ("rgb2depth-studio", "rgb2depth"),
    ("segmentsemantic-studio", "segmentsemantic"),
    ("rgb2depth-studio", "rgb2sfnorm"),
    ("segmentsemantic-studio", "edge3d"),
    ("rgb2depth", "segmentsemantic"),
    ("class_scene", "rgb2depth"),
)
POOL, TEST = 2400, 300
BUDGETS = (240, 24)  # 1/10 and 1/100 of the pool
SEEDS = (1, 2)
STEPS, LR, BATCH = 300, 3e-3, 32
POOL_SEED0, TEST_SEED0 = 4_000_000, 4_500_000  # scene seeds, disjoint from training and probe sets
FIELDS = ("source", "target", "budget", "layer", "seed", "test_loss", "seconds")
RAW = FILES.cache / "layers_raw.csv"
OUT = FILES.ground_truth / "layers.csv"


class RestOfNetwork(nn.Module):
    """The trainable part after a frozen prefix with ``channels`` channels."""

    def __init__(self, channels: int, task: str) -> None:
        super().__init__()
        info = TASK_INFO[task]
        self.dense = info.kind.startswith("dense")
        self.body = nn.Sequential(nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU())
        self.out = nn.Conv2d(32, info.channels, 1) if self.dense else nn.Linear(32, info.channels)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.body(z)
        if self.dense:
            return self.out(F.interpolate(h, size=(SIZE, SIZE), mode="bilinear", align_corners=False))
        return self.out(h.mean(dim=(2, 3)))


def _targets(task: str, labels: np.ndarray) -> torch.Tensor:
    if TASK_INFO[task].kind == "dense_regression":
        return torch.from_numpy(np.ascontiguousarray(labels.transpose(0, 3, 1, 2))).float()
    return torch.from_numpy(np.ascontiguousarray(labels))


def _loss(task: str, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    kind = TASK_INFO[task].kind
    if kind == "dense_regression":
        return F.l1_loss(pred, target)
    if kind in ("dense_classification", "classification"):
        return F.cross_entropy(pred, target)
    return F.mse_loss(pred, target)


def _data(tasks: tuple[str, ...]) -> dict[str, dict[str, np.ndarray]]:
    cache = FILES.cache / "layers_data.npz"
    if cache.exists():
        with np.load(cache) as d:
            return {split: {k.split("/", 1)[1]: d[k] for k in d.files if k.startswith(split + "/")} for split in ("pool", "test")}
    out = {}
    for split, first, n in (("pool", POOL_SEED0, POOL), ("test", TEST_SEED0, TEST)):
        parts = [render_batch(list(range(s, min(s + 100, first + n))), size=SIZE, style="indoor", tasks=tasks)
                 for s in range(first, first + n, 100)]
        out[split] = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    tmp = cache.with_suffix(".tmp.npz")
    np.savez(tmp, **{f"{s}/{k}": v for s, d in out.items() for k, v in d.items()})
    tmp.replace(cache)
    return out


def _features(model, layer, rgb: np.ndarray) -> torch.Tensor:
    net = model.probe_module(layer.tensor)
    pixels = torch.from_numpy(np.ascontiguousarray(rgb.transpose(0, 3, 1, 2))).float()
    with torch.no_grad():
        return torch.cat([net(preprocess(pixels[i:i + 100], model.card.input)) for i in range(0, len(pixels), 100)])


def _train_and_test(task: str, train_z, train_y, test_z, test_y, seed: int) -> float:
    torch.manual_seed(seed)
    rest = RestOfNetwork(train_z.shape[1], task)
    opt = torch.optim.Adam(rest.parameters(), lr=LR)
    g = torch.Generator().manual_seed(seed)
    for _ in range(STEPS):
        idx = torch.randint(0, len(train_z), (min(BATCH, len(train_z)),), generator=g)
        loss = _loss(task, rest(train_z[idx]), train_y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return float(_loss(task, rest(test_z), test_y))


def _done() -> set[tuple[str, ...]]:
    if not RAW.exists():
        return set()
    with RAW.open(newline="") as fh:
        return {(r["source"], r["target"], r["budget"], r["layer"], r["seed"]) for r in csv.DictReader(fh)}


def run(force: bool = False) -> int:
    """Measure every missing (pair, layer, budget, seed); returns how many were measured."""
    FILES.ensure()
    if force and RAW.exists():
        RAW.unlink()
    if not force and not RAW.exists() and OUT.exists():
        _seed_raw_from_summary()  # a fresh checkout resumes from the committed (possibly partial) layers.csv
    cards = {i: load_card(FILES.cards / f"{i}.yaml") for pair in PAIRS for i in pair}
    tasks = tuple(sorted({cards[t].task for _, t in PAIRS}))
    data = _data(tasks)
    done = _done()
    new = not RAW.exists()
    measured = 0
    with RAW.open("a", newline="") as fh, progress_bar() as progress:
        writer = csv.DictWriter(fh, FIELDS)
        if new:
            writer.writeheader()
        bar = progress.add_task("layer transfer", total=len(PAIRS))
        for source_id, target_id in PAIRS:
            task = cards[target_id].task
            source = import_card(cards[source_id])
            pool_y, test_y = _targets(task, data["pool"][task]), _targets(task, data["test"][task])
            for layer in candidate_layers(source, None):
                keys = [(b, s) for b in BUDGETS for s in SEEDS
                        if (source_id, target_id, str(b), layer.tensor, str(s)) not in done]
                if not keys:
                    continue
                pool_z = _features(source, layer, data["pool"]["rgb"])
                test_z = _features(source, layer, data["test"]["rgb"])
                for budget, seed in keys:
                    tick = time.perf_counter()
                    pick = torch.from_numpy(np.random.default_rng(seed * 1000 + budget).choice(POOL, budget, replace=False))
                    loss = _train_and_test(task, pool_z[pick], pool_y[pick], test_z, test_y, seed)
                    writer.writerow({"source": source_id, "target": target_id, "budget": budget, "layer": layer.tensor,
                                     "seed": seed, "test_loss": f"{loss:.6g}", "seconds": f"{time.perf_counter() - tick:.2f}"})
                    fh.flush()
                    measured += 1
            _write_summary()  # checkpoint: ground_truth/layers.csv grows pair by pair
            progress.advance(bar)
    _write_summary()
    return measured


def _seed_raw_from_summary() -> None:
    with OUT.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    with RAW.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, FIELDS)
        writer.writeheader()
        writer.writerows({**row, "seconds": ""} for row in rows)


def _write_summary() -> None:
    with RAW.open(newline="") as fh:
        rows = [{k: r[k] for k in FIELDS[:-1]} for r in csv.DictReader(fh)]
    tmp = OUT.with_suffix(".tmp")
    with tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, FIELDS[:-1])
        writer.writeheader()
        writer.writerows(sorted(rows, key=lambda r: (r["source"], r["target"], int(r["budget"]), r["seed"])))
    tmp.replace(OUT)
