"""Stage "layers": measured transfer from each candidate layer, the ground truth of layer selection.

For a few (source model, target model) pairs and two target-label budgets, the source network is
cut after each measured candidate layer (among the auto candidates `harness select-layer` scores),
that prefix is frozen, and a fresh trainable rest (two conv3x3-ReLU layers of 32 channels, then the
task's output: bilinear upsampling + conv1x1 for pixel tasks, global pooling + linear for vectors
and classes) is trained on the budget's images; the target task's test loss is measured on held-out
scenes. Two seeds. Measurements are appended to ``<cache>/layers_raw.csv`` as each (pair, layer) unit finishes
(the stage resumes, also from the committed summary), and the summary is written to
``<ground truth>/layers.csv``: source, target, budget, layer, seed, test_loss (lower = better).

Zoo 1.0 (its ``PLAN_1``): every auto candidate of six pairs (cross-style and cross-task), budgets 240
and 24. Its best layers turned out to be within a few percent of each other (two-seed P@1 0.50), so
zoo 3.0 (``PLAN_3``) chooses pairs where the best layer should differ, and measures three candidates
far apart in depth (an early block at 4x the bottleneck's resolution, a middle block and the
bottleneck) with larger budgets: same-task pairs (another family's model of the target's task),
where the bottleneck should win, and pairs from a high-level task to a low-level one (pixels,
edges), where an early layer should.
"""

from __future__ import annotations

import csv
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

from harness.model.card import load_card
from harness.model.importer import import_card
from harness.analyses.select_layer.candidates import candidate_layers
from harness.model.preprocess import preprocess
from harness.probes.synthetic import TASK_INFO, render_batch
from zoo.build.config import VERSIONS, BuildConfig
from zoo.build.data import target_tensor, task_loss
from zoo.build.progress import progress_bar


@dataclass(frozen=True)
class LayerPlan:
    """What one zoo version's layer ground truth measures."""

    cfg: BuildConfig
    #: (source model id, target model id): the target model names the target task and is what
    #: `harness select-layer` scores the source's layers against.
    pairs: tuple[tuple[str, str], ...]
    budgets: tuple[int, ...]
    style: str
    pool: int = 2400
    test: int = 300
    seeds: tuple[int, ...] = (1, 2)
    steps: int = 300
    lr: float = 3e-3
    batch: int = 32
    depths: tuple[float, ...] | None = None  # measured candidates, as fractions of the candidate list (None: all)
    l2_tasks: frozenset = frozenset()  # dense tasks scored with MSE instead of L1

    @property
    def size(self) -> int:
        return self.cfg.size

    @property
    def raw(self) -> Path:
        return self.cfg.files.cache / "layers_raw.csv"

    @property
    def out(self) -> Path:
        return self.cfg.files.ground_truth / "layers.csv"

    def layers(self, candidates: list) -> list:
        if self.depths is None:
            return candidates
        picked = [candidates[min(len(candidates) - 1, round(d * (len(candidates) - 1)))] for d in self.depths]
        return list(dict.fromkeys(picked))


PLAN_1 = LayerPlan(
    VERSIONS["1.0"],
    pairs=(("rgb2depth-studio", "rgb2depth"), ("segmentsemantic-studio", "segmentsemantic"), ("rgb2depth-studio", "rgb2sfnorm"),
           ("segmentsemantic-studio", "edge3d"), ("rgb2depth", "segmentsemantic"), ("class_scene", "rgb2depth")),
    budgets=(240, 24),  # 1/10 and 1/100 of the pool
    style="indoor",
)

PLAN_3 = LayerPlan(
    VERSIONS["3.0"],
    pairs=(
        # same task, another family: the bottleneck should win
        ("rgb2depth-plain", "rgb2depth"), ("rgb2mist", "rgb2mist-residual"), ("class_object", "class_object-vit"),
        ("vanishing_point", "vanishing_point-residual"),
        # a high-level task to a low-level one: an early layer should win
        ("class_object", "autoencoder"), ("vanishing_point", "colorization"), ("room_layout-plain", "edge2d"),
        ("rgb2depth-plain", "inpainting"),
    ),
    budgets=(1200, 400), style="layout", test=500, depths=(0.15, 0.5, 1.0),
    l2_tasks=VERSIONS["3.0"].l2_tasks,
)

PLANS = {"1.0": PLAN_1, "3.0": PLAN_3}
POOL_SEED0, TEST_SEED0 = 4_000_000, 4_500_000  # scene seeds, disjoint from training and probe sets
FIELDS = ("source", "target", "budget", "layer", "seed", "test_loss", "seconds")


class RestOfNetwork(nn.Module):
    """The trainable part after a frozen prefix with ``channels`` channels."""

    def __init__(self, channels: int, task: str, size: int) -> None:
        super().__init__()
        info = TASK_INFO[task]
        self.size = size
        self.dense = info.kind.startswith("dense")
        self.body = nn.Sequential(nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU())
        self.out = nn.Conv2d(32, info.channels, 1) if self.dense else nn.Linear(32, info.channels)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.body(z)
        if self.dense:
            return self.out(F.interpolate(h, size=(self.size, self.size), mode="bilinear", align_corners=False))
        return self.out(h.mean(dim=(2, 3)))


def _data(plan: LayerPlan, tasks: tuple[str, ...]) -> dict[str, dict[str, np.ndarray]]:
    cache = plan.cfg.files.cache / "layers_data.npz"
    if cache.exists():
        with np.load(cache) as d:
            data = {split: {k.split("/", 1)[1]: d[k] for k in d.files if k.startswith(split + "/")} for split in ("pool", "test")}
        if all(t in data["pool"] for t in tasks):
            return data
    out = {}
    for split, first, n in (("pool", POOL_SEED0, plan.pool), ("test", TEST_SEED0, plan.test)):
        parts = [render_batch(list(range(s, min(s + 100, first + n))), size=plan.size, style=plan.style, tasks=tasks)
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


def _train_and_test(plan: LayerPlan, task: str, train_z, train_y, test_z, test_y, seed: int) -> float:
    torch.manual_seed(seed)
    rest = RestOfNetwork(train_z.shape[1], task, plan.size)
    opt = torch.optim.Adam(rest.parameters(), lr=plan.lr)
    g = torch.Generator().manual_seed(seed)
    for _ in range(plan.steps):
        idx = torch.randint(0, len(train_z), (min(plan.batch, len(train_z)),), generator=g)
        loss = task_loss(task, rest(train_z[idx]), train_y[idx], plan.l2_tasks)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return float(torch.stack([task_loss(task, rest(test_z[i:i + 100]), test_y[i:i + 100], plan.l2_tasks) * len(test_z[i:i + 100])
                                  for i in range(0, len(test_z), 100)]).sum() / len(test_z))


def _done(plan: LayerPlan) -> set[tuple[str, ...]]:
    if not plan.raw.exists():
        return set()
    with plan.raw.open(newline="") as fh:
        return {(r["source"], r["target"], r["budget"], r["layer"], r["seed"]) for r in csv.DictReader(fh)}


def run(plan: LayerPlan, force: bool = False, jobs: int = 1) -> int:
    """Measure every missing (pair, layer, budget, seed) of ``plan``; returns how many were measured.

    Work is split by (pair, layer), ``jobs`` units at a time in spawned processes (one torch thread
    each; ``jobs`` 1 measures here, with this process's threads); only this process writes, so the raw file and the summary never interleave.
    """
    files = plan.cfg.files
    files.ensure()
    if force and plan.raw.exists():
        plan.raw.unlink()
    if not force and not plan.raw.exists() and plan.out.exists():
        _seed_raw_from_summary(plan)  # a fresh checkout resumes from the committed (possibly partial) layers.csv
    cards = _cards(plan)
    _data(plan, _tasks(plan, cards))  # rendered once here, read from the cache by every unit
    units = _units(plan, cards, _done(plan))
    new = not plan.raw.exists()
    measured = 0
    with plan.raw.open("a", newline="") as fh, progress_bar() as progress:
        writer = csv.DictWriter(fh, FIELDS)
        if new:
            writer.writeheader()
        bar = progress.add_task("layer transfer", total=len(units))
        if jobs > 1 and len(units) > 1:
            executor = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"), initializer=torch.set_num_threads,
                                           initargs=(1,))
            results = executor.map(_measure_unit, [(plan, unit) for unit in units])
        else:
            executor, results = None, map(_measure_unit, [(plan, unit) for unit in units])
        try:
            for rows in results:
                writer.writerows(rows)
                fh.flush()
                measured += len(rows)
                _write_summary(plan)  # checkpoint: ground_truth/layers.csv grows unit by unit
                progress.advance(bar)
        finally:
            if executor is not None:
                executor.shutdown(cancel_futures=True)
    _write_summary(plan)
    return measured


def _cards(plan: LayerPlan) -> dict:
    return {i: load_card(plan.cfg.files.cards / f"{i}.yaml", plan.cfg.files.root) for pair in plan.pairs for i in pair}


def _tasks(plan: LayerPlan, cards: dict) -> tuple[str, ...]:
    return tuple(sorted({cards[t].task for _, t in plan.pairs}))


def _units(plan: LayerPlan, cards: dict, done: set) -> list[tuple[str, str, str, list[tuple[int, int]]]]:
    """(source, target, layer tensor, missing (budget, seed) keys) for every layer with work left, in plan order."""
    units = []
    for source_id, target_id in plan.pairs:
        source = import_card(cards[source_id])
        for layer in plan.layers(candidate_layers(source, None)):
            keys = [(b, s) for b in plan.budgets for s in plan.seeds
                    if (source_id, target_id, str(b), layer.tensor, str(s)) not in done]
            if keys:
                units.append((source_id, target_id, layer.tensor, keys))
    return units


def _measure_unit(job: tuple) -> list[dict]:
    """The rows of one (pair, layer): features of the frozen prefix once, then one trained rest per key."""
    plan, (source_id, target_id, tensor, keys) = job
    cards = _cards(plan)
    task = cards[target_id].task
    data = _data(plan, _tasks(plan, cards))
    source = import_card(cards[source_id])
    layer = next(c for c in candidate_layers(source, None) if c.tensor == tensor)
    pool_y, test_y = target_tensor(task, data["pool"][task]), target_tensor(task, data["test"][task])
    pool_z = _features(source, layer, data["pool"]["rgb"])
    test_z = _features(source, layer, data["test"]["rgb"])
    rows = []
    for budget, seed in keys:
        tick = time.perf_counter()
        pick = torch.from_numpy(np.random.default_rng(seed * 1000 + budget).choice(plan.pool, budget, replace=False))
        loss = _train_and_test(plan, task, pool_z[pick], pool_y[pick], test_z, test_y, seed)
        rows.append({"source": source_id, "target": target_id, "budget": budget, "layer": tensor,
                     "seed": seed, "test_loss": f"{loss:.6g}", "seconds": f"{time.perf_counter() - tick:.2f}"})
    return rows


def _seed_raw_from_summary(plan: LayerPlan) -> None:
    with plan.out.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    with plan.raw.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, FIELDS)
        writer.writeheader()
        writer.writerows({**row, "seconds": ""} for row in rows)


def _write_summary(plan: LayerPlan) -> None:
    with plan.raw.open(newline="") as fh:
        rows = [{k: r[k] for k in FIELDS[:-1]} for r in csv.DictReader(fh)]
    tmp = plan.out.with_suffix(".tmp")
    with tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, FIELDS[:-1])
        writer.writeheader()
        writer.writerows(sorted(rows, key=lambda r: (r["source"], r["target"], int(r["budget"]), r["seed"])))
    tmp.replace(plan.out)
