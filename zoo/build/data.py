"""Rendered datasets (cached as .npz under zoo/.cache/data) and task inputs/losses.

Seeds: model training 0.., studio training 1_000_000.., transfer pool 2_000_000.., test
3_000_000.. (all below the probe sets' 10_000_000, so probe images are never trained on).
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

import numpy as np
import torch
import torch.nn.functional as F

from harness.probes.synthetic import TASK_INFO, corrupt, render_batch
from zoo.build.progress import progress_bar
from zoo.build.specs import TASKS  # noqa: F401  (re-exported: the zoo's task list)

CHUNK = 100


def _render(args):
    seeds, size, style, tasks = args
    return render_batch(seeds, size=size, style=style, tasks=tasks)


def build_split(cfg, name: str, force: bool = False, jobs: int = 2) -> int:
    path = cfg.files.data / f"{name}.npz"
    if path.exists() and not force:
        return 0
    style, first, n, tasks = cfg.splits[name]
    seeds = list(range(first, first + n))
    chunks = [(seeds[i:i + CHUNK], cfg.size, style, tasks) for i in range(0, n, CHUNK)]
    parts = []
    with progress_bar() as progress, ProcessPoolExecutor(jobs) as pool:
        bar = progress.add_task(f"render {name} ({style}, {n} images)", total=n)
        for part in pool.map(_render, chunks):
            parts.append(part)
            progress.advance(bar, len(part["rgb"]))
    data = {key: _stored(key, np.concatenate([p.pop(key) for p in parts])) for key in list(parts[0]) if key not in RGB_LABELS}
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **data)
    tmp.replace(path)
    return 1


def build_all(cfg, force: bool = False, jobs: int = 2) -> int:
    """Render every split that is not cached yet; returns how many were rendered."""
    cfg.files.ensure()
    return sum(build_split(cfg, name, force, jobs) for name in cfg.splits)


#: Tasks whose label is the clean rgb itself (their inputs differ): stored once, as "rgb".
RGB_LABELS = frozenset({"autoencoder", "denoise", "colorization", "inpainting"})


def _stored(key: str, value: np.ndarray) -> np.ndarray:
    """Class labels as uint8 on disk (64-px int64 maps are 8x larger); load_split restores int64."""
    if value.dtype == np.int64 and value.size and 0 <= value.min() and value.max() < 256:
        return value.astype(np.uint8)
    return value


def load_split(cfg, name: str, keys: tuple[str, ...] | None = None, compact: bool = False) -> dict[str, np.ndarray]:
    """A rendered split (``keys``: only these arrays; ``compact``: float labels as float16, to hold
    every task's 64-px labels in memory at once)."""
    tasks = cfg.splits[name][3]
    with np.load(cfg.files.data / f"{name}.npz") as data:
        wanted = data.files if keys is None else [k for k in data.files if k in keys or k == "rgb"]
        out = {key: data[key] for key in wanted}
    out = {k: v.astype(np.int64) if v.dtype == np.uint8 else v for k, v in out.items()}
    for task in RGB_LABELS & set(tasks):
        if keys is None or task in keys:
            out[task] = out["rgb"]
    if compact:
        out = {k: v.astype(np.float16) if k != "rgb" and k not in RGB_LABELS and v.dtype == np.float32 else v for k, v in out.items()}
    return out


def task_input(task: str, rgb: np.ndarray, seed: int) -> np.ndarray:
    """Network input (N, 3, H, W) float32 for ``task``: corrupted rgb for the self-supervised tasks."""
    return np.ascontiguousarray(corrupt(task, rgb, seed).transpose(0, 3, 1, 2))


def shrink_input(x: np.ndarray, size: int) -> np.ndarray:
    """NCHW images area-averaged down to ``size`` px (integer factors), as the harness resizes probes for a
    smaller model; unchanged at their own size."""
    factor = x.shape[-1] // size
    if factor == 1:
        return x
    n, c, h, w = x.shape
    return np.ascontiguousarray(x.reshape(n, c, h // factor, factor, w // factor, factor).mean(axis=(3, 5)), dtype=np.float32)


def shrink_target(task: str, y: torch.Tensor, size: int) -> torch.Tensor:
    """A training target at a ``size``-px model's output resolution: dense maps area-averaged (class maps:
    nearest), image-level labels unchanged."""
    kind = TASK_INFO[task].kind
    if kind == "dense_regression" and y.shape[-1] != size:
        return F.avg_pool2d(y, y.shape[-1] // size)
    if kind == "dense_classification" and y.shape[-1] != size:
        step = y.shape[-1] // size
        return y[..., ::step, ::step].contiguous()
    return y


#: the distinct input kinds (everything else sees the clean rgb)
INPUT_KINDS = ("rgb", "denoise", "colorization", "inpainting")


def input_kind(task: str) -> str:
    return task if task in INPUT_KINDS else "rgb"


def target_tensor(task: str, labels: np.ndarray) -> torch.Tensor:
    """Labels as the training target: dense regression NCHW float, classes int64, vectors float."""
    kind = TASK_INFO[task].kind
    if labels.dtype == np.float16:
        labels = labels.astype(np.float32)
    if kind == "dense_regression":
        return torch.from_numpy(np.ascontiguousarray(labels.transpose(0, 3, 1, 2)))
    return torch.from_numpy(np.ascontiguousarray(labels))


def out_channels(task: str) -> int:
    return TASK_INFO[task].channels


def is_dense(task: str) -> bool:
    return TASK_INFO[task].kind.startswith("dense")


#: Sparse dense targets (mostly zero) on which an L1 loss collapses to predicting 0: trained with L2.
L2_DENSE_TASKS = frozenset({"curvature", "edge3d"})


def loss_name(task: str, l2: frozenset = L2_DENSE_TASKS) -> str:
    kind = TASK_INFO[task].kind
    if kind == "dense_regression":
        return "MSE" if task in l2 else "L1"
    return "MSE" if kind == "vector_regression" else "cross-entropy"


def task_loss(task: str, pred: torch.Tensor, target: torch.Tensor, l2: frozenset = L2_DENSE_TASKS) -> torch.Tensor:
    """L1 for dense regression (as Taskonomy; MSE for the sparse curvature/edge3d), cross-entropy for
    (per-pixel) classes, MSE for vectors."""
    kind = TASK_INFO[task].kind
    if kind == "dense_regression":
        return F.mse_loss(pred, target) if task in l2 else F.l1_loss(pred, target)
    if kind in ("dense_classification", "classification"):
        return F.cross_entropy(pred, target)
    return F.mse_loss(pred, target)

