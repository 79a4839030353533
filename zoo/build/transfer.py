"""Stage "transfer": measured transfer of every zoo model's frozen encoder to every target task.

For each source model, the probe-layer (bottleneck) features of the transfer pool and the test
split are computed with onnxruntime from the shipped ONNX file (the tensor its card names), for
each kind of input (rgb, and the corrupted inputs of denoise/colorization/inpainting). For each
(seed, target), a fresh transfer head is trained on a seeded subset of the pool's features and
the target task's test loss is measured on the test split. Baselines per (seed, target): frozen
randomly initialised encoders ("random" in 1.0; "random-<family>" for each 2.0 family) and the
scratch encoder + transfer head trained end to end on the same small set ("scratch").

The unit of work is one source: its measurements go to ``<state>/transfer/<source>.csv``, one row
appended per (seed, target) as soon as it exists, so a killed build loses at most one head and a
rerun resumes. ``jobs`` sources are measured at once (one process, one torch thread each).
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import onnx
import torch
from torch import nn

from harness.model.parity import ort_session
from zoo.build.architectures import PooledHead, make_encoder
from zoo.build.data import INPUT_KINDS, input_kind, is_dense, load_split, loss_name, out_channels, shrink_input, target_tensor, task_input, task_loss

POOL_SEED, TEST_SEED = 11, 7  # corruption seeds of the pool and test inputs
FIELDS = ("seed", "source", "target", "task", "loss", "source_sha256", "test_loss", "seconds")


class DenseTransferHead(nn.Sequential):
    """Fixed transfer decoder for pixel tasks: conv3x3-ReLU at the bottleneck's resolution, conv1x1 to
    factor^2 * C, PixelShuffle(factor) (1.0: 8 -> 16 ch, factor 4; 2.0: 16 -> 32 ch, factor 8)."""

    def __init__(self, channels: int, cin: int = 8, width: int = 16, factor: int = 4) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, width, 3, padding=1)
        self.relu = nn.ReLU()
        self.proj = nn.Conv2d(width, factor * factor * channels, 1)
        self.shuffle = nn.PixelShuffle(factor)


def transfer_head(cfg, task: str) -> nn.Module:
    enc = make_encoder(cfg.scratch_encoder, cfg.size)
    if is_dense(task):
        return DenseTransferHead(out_channels(task), enc.channels, 2 * enc.channels, enc.stride)
    return PooledHead(out_channels(task), enc.channels, cfg.size // enc.stride)


# ---------------------------------------------------------------- data of a worker

_DATA: dict = {}


def _load(cfg) -> dict:
    """Pool and test split (labels of every target task), loaded once per process."""
    if _DATA.get("version") != (cfg.version, cfg.files.root):
        _DATA.clear()
        _DATA.update(version=(cfg.version, cfg.files.root), pool=load_split(cfg, "transfer", compact=cfg.compact_labels),
                     test=load_split(cfg, "test", compact=cfg.compact_labels))
    return _DATA


def kind_inputs(data: dict, kind: str) -> dict[str, np.ndarray]:
    """NCHW inputs of one kind (rgb, or a corrupted input) for the pool and the test split."""
    task = kind if kind != "rgb" else "autoencoder"
    return {"pool": task_input(task, data["pool"]["rgb"], POOL_SEED), "test": task_input(task, data["test"]["rgb"], TEST_SEED)}


def probe_info(cfg) -> dict:
    return json.loads(cfg.files.probe_info.read_text())


def source_features(cfg, spec, data: dict) -> dict[str, torch.Tensor]:
    """{"<kind>/<split>": (N, C, H, W)} probe features of one zoo model, from its shipped ONNX file (a smaller
    model sees the images area-downsampled to its size, as the harness feeds it)."""
    tensor = probe_info(cfg)[spec.id]["tensor"]
    size = cfg.model_size(spec)
    session = ort_session(onnx.load(str(cfg.files.models / f"{spec.id}.onnx")), [tensor])
    name = session.get_inputs()[0].name
    out = {}
    for kind in INPUT_KINDS:
        for split, batch in kind_inputs(data, kind).items():
            batch = shrink_input(batch, size)
            feed = batch.transpose(0, 2, 3, 1).copy() if spec.framework == "tensorflow" else batch
            parts = [session.run([tensor], {name: feed[i:i + 250]})[0] for i in range(0, len(feed), 250)]
            value = np.concatenate(parts).astype(np.float32)
            if value.ndim == 4 and spec.framework == "tensorflow" and value.shape[-1] > value.shape[-2]:
                value = value.transpose(0, 3, 1, 2)  # NHWC (16 channels on an 8x8 grid) -> NCHW
            out[f"{kind}/{split}"] = torch.from_numpy(np.ascontiguousarray(value))
    return out


def random_features(cfg, source: str, seed: int, data: dict) -> dict[str, torch.Tensor]:
    """Features of a frozen, randomly initialised encoder (another one per seed and family), fed at the size of its
    family's models."""
    family = cfg.random_encoder(source)
    init_seed = 10_000 + seed + 100 * cfg.random_encoders.index(family)
    size = cfg.family_size(family)
    if family.startswith("keras-"):
        from zoo.build.train_keras_family import random_features as keras_random

        batches = {f"{kind}/{split}": batch for kind in INPUT_KINDS for split, batch in kind_inputs(data, kind).items()}
        return keras_random(family, size, init_seed, batches)
    torch.manual_seed(init_seed)
    enc = make_encoder(family, size).eval()
    out = {}
    with torch.no_grad():
        for kind in INPUT_KINDS:
            for split, batch in kind_inputs(data, kind).items():
                x = torch.from_numpy(shrink_input(batch, size))
                out[f"{kind}/{split}"] = torch.cat([enc(x[i:i + 250]) for i in range(0, len(x), 250)])
    return out


# ---------------------------------------------------------------- heads


def fit_and_score(module: nn.Module, task: str, x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor,
                  y_test: torch.Tensor, *, steps: int, batch: int, lr: float, seed: int, l2: frozenset) -> float:
    """Adam with cosine decay on random minibatches (seeded), then the test loss in eval mode."""
    opt = torch.optim.Adam(module.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
    gen = torch.Generator().manual_seed(seed)
    n = len(x_train)
    module.train()
    for _ in range(steps):
        idx = torch.randint(0, n, (batch,), generator=gen)
        loss = task_loss(task, module(x_train[idx]), y_train[idx], l2)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    module.eval()
    with torch.no_grad():
        out = torch.cat([module(x_test[i:i + 250]) for i in range(0, len(x_test), 250)])
        return float(task_loss(task, out, y_test, l2))


def train_head(cfg, task: str, f_train: torch.Tensor, y_train: torch.Tensor, f_test: torch.Tensor, y_test: torch.Tensor, seed: int) -> float:
    """Train a transfer head on frozen features; return the target task's test loss."""
    torch.manual_seed(seed)
    head = transfer_head(cfg, task)
    # standardise features per channel (statistics of the training subset) so every source starts alike
    mean = f_train.mean(dim=(0, 2, 3), keepdim=True)
    std = f_train.std(dim=(0, 2, 3), keepdim=True)
    # a channel (nearly) constant on the training subset (a dead ReLU of a 2.0 neck) must not be blown up
    # on the test split: floor its scale at 1% of the typical channel's (1.0 keeps its 1e-6)
    std = std + 1e-6 if cfg.version == "1.0" else std.clamp_min(0.01 * float(std.median()) + 1e-6)
    f_train, f_test = (f_train - mean) / std, (f_test - mean) / std
    return fit_and_score(head, task, f_train, y_train, f_test, y_test, steps=cfg.head_steps, batch=cfg.head_batch,
                         lr=cfg.head_lr, seed=seed, l2=cfg.l2_tasks)


def train_scratch(cfg, task: str, x_train: torch.Tensor, y_train: torch.Tensor, x_test: torch.Tensor, y_test: torch.Tensor, seed: int) -> float:
    """The scratch encoder + transfer head trained end to end on the small set."""
    torch.manual_seed(seed)
    model = nn.Sequential(make_encoder(cfg.scratch_encoder, cfg.size), transfer_head(cfg, task))
    return fit_and_score(model, task, x_train, y_train, x_test, y_test, steps=cfg.scratch_steps, batch=cfg.head_batch,
                         lr=2e-3, seed=seed, l2=cfg.l2_tasks)


# ---------------------------------------------------------------- measurements on disk


def raw_path(cfg, source: str):
    return cfg.files.transfer / f"{source}.csv"


def settings(cfg) -> str:
    """Fingerprint of the measurement settings (changing them makes every earlier row stale)."""
    what = [cfg.size, cfg.splits["transfer"][:3], cfg.splits["test"][:3], cfg.n_train, cfg.head_steps, cfg.head_batch,
            cfg.head_lr, cfg.scratch_steps, cfg.scratch_encoder, list(cfg.random_encoders), POOL_SEED, TEST_SEED,
            "std floor 0.01 median"]
    sizes = {family: cfg.family_size(family) for family in cfg.random_encoders}
    if any(size != cfg.size for size in sizes.values()):  # families at other input sizes (3.0)
        what.append(sizes)
    return hashlib.sha256(json.dumps(what).encode()).hexdigest()[:12]


def source_sha(cfg, source: str, info: dict | None = None) -> str | None:
    """Identity of a measurement: the source's ONNX sha256 (baselines: their name; None before its card
    exists) and, in 2.0, the settings; a retrained model's or an old setting's rows go stale."""
    if source == "scratch" or source in cfg.random_sources:
        sha = source
    else:
        entry = (info if info is not None else probe_info(cfg)).get(source)
        if not entry:
            return None
        sha = entry["sha256"]
    return sha if cfg.version == "1.0" else f"{sha}:{settings(cfg)}"


def read_source(cfg, source: str, info: dict | None = None) -> list[dict]:
    """The source's current measurements: rows of a retrained model or of a changed loss are skipped."""
    path = raw_path(cfg, source)
    sha = source_sha(cfg, source, info) if path.exists() else None
    if sha is None:
        return []
    with path.open() as handle:
        rows = [r for r in csv.DictReader(handle) if r.get("source_sha256") == sha and r.get("loss") == loss_name(r["task"], cfg.l2_tasks)]
    return list({(r["seed"], r["target"]): r for r in rows}.values())


def read_raw(cfg, seed: int) -> dict[tuple[str, str], dict]:
    """{(source, target): row} of one seed, every source."""
    info = probe_info(cfg)
    return {(r["source"], r["target"]): r for s in cfg.sources for r in read_source(cfg, s, info) if int(r["seed"]) == seed}


def _append(cfg, source: str, row: dict) -> None:
    path = raw_path(cfg, source)
    new = not path.exists()
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS, lineterminator="\n")
        if new:
            writer.writeheader()
        writer.writerow(row)
        handle.flush()


def subset(cfg, seed: int, n_pool: int) -> np.ndarray:
    return np.sort(np.random.default_rng(seed).choice(n_pool, cfg.n_train, replace=False))


def pending(cfg, source: str) -> list[tuple[int, int]]:
    """(seed, target index) pairs not measured yet for ``source``."""
    done = {(int(r["seed"]), r["target"]) for r in read_source(cfg, source)}
    return [(seed, i) for i, t in enumerate(cfg.targets) for seed in cfg.seeds if (seed, t.id) not in done]


def measure_source(cfg, source: str) -> int:
    """Every missing (seed, target) measurement of one source; returns how many were made."""
    torch.set_num_threads(1)
    todo = pending(cfg, source)
    if not todo:
        return 0
    t_start = time.perf_counter()
    data = _load(cfg)
    pool, test = data["pool"], data["test"]
    sha = source_sha(cfg, source)
    features: dict[int, dict] = {}  # per seed (random encoders differ per seed; models share one set)
    if source != "scratch" and source not in cfg.random_sources:
        shared = source_features(cfg, cfg.spec(source), data)
        features = {seed: shared for seed in cfg.seeds}
    for t_index, target in enumerate(cfg.targets):
        seeds = [seed for seed, i in todo if i == t_index]
        if not seeds:
            continue
        task = target.tasks[0]
        kind = input_kind(task)
        y_pool, y_test = pool[task], target_tensor(task, test[task])
        x_kind = kind_inputs(data, kind) if source == "scratch" else None
        for seed in seeds:
            idx = subset(cfg, seed, len(pool["rgb"]))
            y_train = target_tensor(task, y_pool[idx])
            head_seed = seed * 1_000_003 + t_index * 101
            t0 = time.perf_counter()
            if source == "scratch":
                loss = train_scratch(cfg, task, torch.from_numpy(x_kind["pool"][idx]), y_train, torch.from_numpy(x_kind["test"]), y_test, head_seed)
            else:
                if seed not in features:
                    features[seed] = random_features(cfg, source, seed, data)
                f = features[seed]
                loss = train_head(cfg, task, f[f"{kind}/pool"][torch.from_numpy(idx)], y_train, f[f"{kind}/test"], y_test, head_seed)
            _append(cfg, source, {"seed": seed, "source": source, "target": target.id, "task": task, "loss": loss_name(task, cfg.l2_tasks),
                                  "source_sha256": sha, "test_loss": f"{loss:.6g}", "seconds": f"{time.perf_counter() - t0:.2f}"})
    print(f"transfer {source}: {len(todo)} heads, {time.perf_counter() - t_start:.0f} s", flush=True)
    return len(todo)


def _worker(args) -> int:
    return measure_source(*args)


def schedule(cfg) -> list[str]:
    """Sources with work left: baselines first, then scratch (the longest unit, beside the models), then models."""
    order = list(cfg.random_sources) + ["scratch"] + [m.id for m in cfg.models]
    return [s for s in order if pending(cfg, s)]


def run(cfg, force: bool = False, jobs: int = 2) -> int:
    """Every missing measurement, ``jobs`` sources at a time (one process, one torch thread each)."""
    torch.set_num_threads(1)
    cfg.files.ensure()
    if force:
        for source in cfg.sources:
            raw_path(cfg, source).unlink(missing_ok=True)
    todo = schedule(cfg)
    print(f"transfer: {len(cfg.sources) - len(todo)}/{len(cfg.sources)} sources done, {len(todo)} to measure", flush=True)
    if jobs > 1 and len(todo) > 1:
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as executor:
            return sum(executor.map(_worker, [(cfg, s) for s in todo]))
    return sum(measure_source(cfg, s) for s in todo)
