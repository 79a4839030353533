"""Stage "transfer": measured transfer of every zoo model's frozen encoder to every target task.

For each source model, the probe-layer (bottleneck) features of the transfer pool and the test
split are computed once with onnxruntime from the shipped ONNX file (the tensor its card names),
for each kind of input (rgb, and the corrupted inputs of denoise/colorization/inpainting).
For each (seed, source, target), a fresh transfer head is trained on a seeded subset of the
pool's features and the target task's test loss is measured on the test split. Baselines per
(seed, target): a frozen randomly initialised Taskonomy encoder ("random") and the Taskonomy
encoder + head trained end to end on the same small set ("scratch"). Every measurement is
appended to zoo/.cache/transfer_raw.csv as soon as it exists, so the stage resumes.
"""

from __future__ import annotations

import csv
import json
import math
import time

import numpy as np
import onnx
import torch
from torch import nn

from harness.parity import ort_session
from zoo.build import paths
from zoo.build.architectures import PooledHead, TaskonomyEncoder
from zoo.build.data import INPUT_KINDS, input_kind, is_dense, load_split, loss_name, out_channels, target_tensor, task_input, task_loss
from zoo.build.progress import progress_bar
from zoo.build.specs import MODELS, TARGETS

SEEDS = (1, 2)
N_TRAIN = 1500  # transfer training images per seed, drawn from the 2400-image pool
HEAD_STEPS = 200
HEAD_BATCH = 64
HEAD_LR = 5e-3
SCRATCH_STEPS = 200
SCRATCH_BATCH = 64
POOL_SEED, TEST_SEED = 11, 7  # corruption seeds of the pool and test inputs
FIELDS = ("seed", "source", "target", "task", "loss", "source_sha256", "test_loss", "seconds")


class DenseTransferHead(nn.Sequential):
    """Fixed transfer decoder for pixel tasks: conv3x3(8->16)-ReLU at 8x8, conv1x1 to 16*C, PixelShuffle(4)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(8, 16, 3, padding=1)
        self.relu = nn.ReLU()
        self.proj = nn.Conv2d(16, 16 * channels, 1)
        self.shuffle = nn.PixelShuffle(4)


def transfer_head(task: str) -> nn.Module:
    return DenseTransferHead(out_channels(task)) if is_dense(task) else PooledHead(out_channels(task))


# ---------------------------------------------------------------- features


def _card_probe(model_id: str) -> tuple[str, str]:
    info = json.loads(paths.PROBE_INFO.read_text())[model_id]
    return info["tensor"], info["sha256"]


def inputs(pool: dict, test: dict) -> dict[str, dict[str, np.ndarray]]:
    """NCHW inputs of each kind for the pool and the test split."""
    return {kind: {"pool": task_input(kind if kind != "rgb" else "autoencoder", pool["rgb"], POOL_SEED),
                   "test": task_input(kind if kind != "rgb" else "autoencoder", test["rgb"], TEST_SEED)}
            for kind in INPUT_KINDS}


def source_features(spec, x: dict, force: bool = False) -> dict[str, np.ndarray]:
    """{"<kind>/<split>": (N, 8, 8, 8)} probe features of one source, cached by ONNX sha256."""
    tensor, sha = _card_probe(spec.id)
    path = paths.FEATURES / f"{spec.id}.npz"
    if path.exists() and not force:
        with np.load(path) as cached:
            if str(cached["sha256"]) == sha:
                return {k: cached[k] for k in cached.files if k != "sha256"}
    model = onnx.load(str(paths.MODELS / f"{spec.id}.onnx"))
    session = ort_session(model, [tensor])
    name = session.get_inputs()[0].name
    out = {}
    for kind, splits in x.items():
        for split, batch in splits.items():
            feed = batch.transpose(0, 2, 3, 1).copy() if spec.framework == "tensorflow" else batch
            parts = [session.run([tensor], {name: feed[i:i + 500]})[0] for i in range(0, len(feed), 500)]
            value = np.concatenate(parts).astype(np.float32)
            assert value.shape[1:] == (8, 8, 8), (spec.id, value.shape)
            out[f"{kind}/{split}"] = value
    np.savez(path, sha256=np.array(sha), **out)
    return out


def random_features(seed: int, x: dict) -> dict[str, np.ndarray]:
    torch.manual_seed(10_000 + seed)
    enc = TaskonomyEncoder().eval()
    with torch.no_grad():
        return {f"{kind}/{split}": enc(torch.from_numpy(batch)).numpy() for kind, splits in x.items() for split, batch in splits.items()}


# ---------------------------------------------------------------- heads


def fit_and_score(module: nn.Module, task: str, x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor,
                  y_test: torch.Tensor, *, steps: int, batch: int, lr: float, seed: int) -> float:
    """Adam with cosine decay on random minibatches (seeded), then the test loss in eval mode."""
    opt = torch.optim.Adam(module.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
    gen = torch.Generator().manual_seed(seed)
    n = len(x_train)
    module.train()
    for _ in range(steps):
        idx = torch.randint(0, n, (batch,), generator=gen)
        loss = task_loss(task, module(x_train[idx]), y_train[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    module.eval()
    with torch.no_grad():
        return float(task_loss(task, module(x_test), y_test))


def train_head(task: str, f_train: torch.Tensor, y_train: torch.Tensor, f_test: torch.Tensor, y_test: torch.Tensor, seed: int) -> float:
    """Train a transfer head on frozen features; return the target task's test loss."""
    torch.manual_seed(seed)
    head = transfer_head(task)
    # standardise features per channel (statistics of the training subset) so every source starts alike
    mean = f_train.mean(dim=(0, 2, 3), keepdim=True)
    std = f_train.std(dim=(0, 2, 3), keepdim=True) + 1e-6
    f_train, f_test = (f_train - mean) / std, (f_test - mean) / std
    return fit_and_score(head, task, f_train, y_train, f_test, y_test, steps=HEAD_STEPS, batch=HEAD_BATCH, lr=HEAD_LR, seed=seed)


def train_scratch(task: str, x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor, y_test: torch.Tensor, seed: int) -> float:
    """Taskonomy encoder + transfer head trained end to end on the small set."""
    torch.manual_seed(seed)
    model = nn.Sequential(TaskonomyEncoder(), transfer_head(task))
    return fit_and_score(model, task, x_train, y_train, x_test, y_test, steps=SCRATCH_STEPS, batch=SCRATCH_BATCH, lr=2e-3, seed=seed)


# ---------------------------------------------------------------- stage


def raw_path(seed: int):
    return paths.CACHE / f"transfer_raw_seed{seed}.csv"


def _source_sha(source: str) -> str:
    """Identity of a source: its ONNX file's sha256 (baselines: their name); a retrained model's old rows go stale."""
    if source in ("random", "scratch"):
        return source
    return json.loads(paths.PROBE_INFO.read_text())[source]["sha256"]


def _valid(row: dict, shas: dict[str, str]) -> bool:
    return row.get("source_sha256") == shas.get(row["source"]) and row.get("loss") == loss_name(row["task"])


def _done(seed: int) -> set[tuple[str, str]]:
    if not raw_path(seed).exists():
        return set()
    return {(r["source"], r["target"]) for r in read_raw(seed)}


def _append(seed: int, row: dict) -> None:
    path = raw_path(seed)
    new = not path.exists()
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        if new:
            writer.writeheader()
        writer.writerow(row)


def read_raw(seed: int) -> list[dict]:
    """The seed's current measurements: rows of retrained sources or changed losses are skipped."""
    shas = {s: _source_sha(s) for s in SOURCES}
    with raw_path(seed).open() as handle:
        rows = [r for r in csv.DictReader(handle) if _valid(r, shas)]
    return list({(r["source"], r["target"]): r for r in rows}.values())


def subset(seed: int, n_pool: int) -> np.ndarray:
    return np.sort(np.random.default_rng(seed).choice(n_pool, N_TRAIN, replace=False))


SOURCES = tuple(m.id for m in MODELS) + ("random", "scratch")


def run_seed(seed: int, position: int = 0) -> int:
    """Every missing (source, target) measurement of one seed; returns how many were made."""
    torch.set_num_threads(1)
    done = _done(seed)
    todo = [(src, t) for t in TARGETS for src in SOURCES if (src, t.id) not in done]
    if not todo:
        return 0
    pool, test = load_split("transfer"), load_split("test")
    x = inputs(pool, test)
    features = {spec.id: {k: torch.from_numpy(v) for k, v in source_features(spec, x).items()} for spec in MODELS}
    features["random"] = {k: torch.from_numpy(v) for k, v in random_features(seed, x).items()}
    idx = torch.from_numpy(subset(seed, len(pool["rgb"])))
    with progress_bar() as progress:
        bar = progress.add_task(f"seed {seed}: transfer heads", total=len(todo))
        for t_index, target in enumerate(TARGETS):
            task = target.tasks[0]
            kind = input_kind(task)
            y_pool, y_test = target_tensor(task, pool[task]), target_tensor(task, test[task])
            y_train = y_pool[idx]
            head_seed = seed * 1_000_003 + t_index * 101
            for source in SOURCES:
                if (source, target.id) in done:
                    continue
                progress.update(bar, description=f"seed {seed}: {source} -> {target.id}")
                t0 = time.perf_counter()
                if source == "scratch":
                    xs = torch.from_numpy(x[kind]["pool"])[idx]
                    loss = train_scratch(task, xs, y_train, torch.from_numpy(x[kind]["test"]), y_test, head_seed)
                else:
                    f = features[source]
                    loss = train_head(task, f[f"{kind}/pool"][idx], y_train, f[f"{kind}/test"], y_test, head_seed)
                _append(seed, {"seed": seed, "source": source, "target": target.id, "task": task,
                               "loss": loss_name(task), "source_sha256": _source_sha(source), "test_loss": f"{loss:.6g}", "seconds": f"{time.perf_counter() - t0:.2f}"})
                progress.advance(bar)
    return len(todo)


def run(force: bool = False, seeds: tuple[int, ...] = SEEDS, jobs: int = 2) -> int:
    """Features for every source (cached), then the seeds' head trainings, ``jobs`` seeds at a time
    (one process per seed, one torch thread each)."""
    torch.set_num_threads(1)
    paths.ensure()
    if force:
        for seed in seeds:
            raw_path(seed).unlink(missing_ok=True)
    pool, test = load_split("transfer"), load_split("test")
    x = inputs(pool, test)
    with progress_bar() as progress:
        bar = progress.add_task("source features", total=len(MODELS))
        for spec in MODELS:
            source_features(spec, x, force)
            progress.advance(bar)
    del pool, test, x
    if jobs > 1 and len(seeds) > 1:
        from concurrent.futures import ProcessPoolExecutor
        import multiprocessing

        with ProcessPoolExecutor(min(jobs, len(seeds)), mp_context=multiprocessing.get_context("spawn")) as executor:
            return sum(executor.map(run_seed, seeds, range(len(seeds))))
    return sum(run_seed(seed) for seed in seeds)
