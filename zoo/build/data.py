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
from zoo.build import paths
from zoo.build.progress import progress_bar

SIZE = 32
#: The Taskonomy-style tasks of the zoo (segment2d/segment25d, whose ids are only defined up to
#: permutation, are left out: a per-pixel cross-entropy on them is not a meaningful loss).
TASKS = (
    "autoencoder", "denoise", "colorization", "inpainting", "rgb2depth", "rgb2mist", "rgb2sfnorm",
    "reshade", "curvature", "edge2d", "edge3d", "keypoint2d", "keypoint3d", "segmentsemantic",
    "room_layout", "vanishing_point", "class_object", "class_scene",
)
#: split -> (style, first seed, number of images, tasks)
SPLITS = {
    "train": ("indoor", 0, 4000, TASKS),
    "studio": ("studio", 1_000_000, 3000, ("rgb2depth", "segmentsemantic")),
    "transfer": ("indoor", 2_000_000, 2400, TASKS),
    "test": ("indoor", 3_000_000, 500, TASKS),
}
CHUNK = 100


def _render(args):
    seeds, style, tasks = args
    return render_batch(seeds, size=SIZE, style=style, tasks=tasks)


def build_split(name: str, force: bool = False) -> int:
    path = paths.DATA / f"{name}.npz"
    if path.exists() and not force:
        return 0
    style, first, n, tasks = SPLITS[name]
    seeds = list(range(first, first + n))
    chunks = [(seeds[i:i + CHUNK], style, tasks) for i in range(0, n, CHUNK)]
    parts = []
    with progress_bar() as progress, ProcessPoolExecutor(2) as pool:
        bar = progress.add_task(f"render {name} ({style}, {n} images)", total=n)
        for part in pool.map(_render, chunks):
            parts.append(part)
            progress.advance(bar, len(part["rgb"]))
    data = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, **data)
    tmp.replace(path)
    return 1


def build_all(force: bool = False) -> int:
    """Render every split that is not cached yet; returns how many were rendered."""
    paths.ensure()
    return sum(build_split(name, force) for name in SPLITS)


def load_split(name: str) -> dict[str, np.ndarray]:
    with np.load(paths.DATA / f"{name}.npz") as data:
        return {key: data[key] for key in data.files}


def task_input(task: str, rgb: np.ndarray, seed: int) -> np.ndarray:
    """Network input (N, 3, H, W) float32 for ``task``: corrupted rgb for the self-supervised tasks."""
    return np.ascontiguousarray(corrupt(task, rgb, seed).transpose(0, 3, 1, 2))


#: the distinct input kinds (everything else sees the clean rgb)
INPUT_KINDS = ("rgb", "denoise", "colorization", "inpainting")


def input_kind(task: str) -> str:
    return task if task in INPUT_KINDS else "rgb"


def target_tensor(task: str, labels: np.ndarray) -> torch.Tensor:
    """Labels as the training target: dense regression NCHW float, classes int64, vectors float."""
    kind = TASK_INFO[task].kind
    if kind == "dense_regression":
        return torch.from_numpy(np.ascontiguousarray(labels.transpose(0, 3, 1, 2)))
    return torch.from_numpy(np.ascontiguousarray(labels))


def out_channels(task: str) -> int:
    return TASK_INFO[task].channels


def is_dense(task: str) -> bool:
    return TASK_INFO[task].kind.startswith("dense")


#: Sparse dense targets (mostly zero) on which an L1 loss collapses to predicting 0: trained with L2.
L2_DENSE_TASKS = frozenset({"curvature", "edge3d"})


def loss_name(task: str) -> str:
    kind = TASK_INFO[task].kind
    if kind == "dense_regression":
        return "MSE" if task in L2_DENSE_TASKS else "L1"
    return "MSE" if kind == "vector_regression" else "cross-entropy"


def task_loss(task: str, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """L1 for dense regression (as Taskonomy; MSE for the sparse curvature/edge3d), cross-entropy for
    (per-pixel) classes, MSE for vectors."""
    kind = TASK_INFO[task].kind
    if kind == "dense_regression":
        return F.mse_loss(pred, target) if task in L2_DENSE_TASKS else F.l1_loss(pred, target)
    if kind in ("dense_classification", "classification"):
        return F.cross_entropy(pred, target)
    return F.mse_loss(pred, target)

