"""Train a PyTorch zoo model on CPU (seeded, resumable) and export it to ONNX."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import torch

from harness.adapters.pytorch import export_torch
from zoo.build import paths
from zoo.build.architectures import TaskModel
from zoo.build.data import load_split, target_tensor, task_input, task_loss
from zoo.build.specs import ModelSpec

STEPS = 800
BATCH = 64
LR = 2e-3


def evaluate(model: torch.nn.Module, spec: ModelSpec, test: dict[str, np.ndarray]) -> dict[str, float]:
    """Test loss per task on the held-out indoor test split."""
    model.eval()
    losses = {}
    with torch.no_grad():
        for i, task in enumerate(spec.tasks):
            x = torch.from_numpy(task_input(task, test["rgb"], seed=7))
            out = model(x)
            out = out[i] if isinstance(out, tuple) else out
            losses[task] = float(task_loss(task, out, target_tensor(task, test[task])))
    return losses


def train(spec: ModelSpec, progress, data_cache: dict) -> dict:
    """Train ``spec`` (skipped when its checkpoint exists), export ONNX, return its record."""
    ckpt = paths.CKPT / f"{spec.id}.pt"
    record_path = paths.CKPT / f"{spec.id}.json"
    onnx_path = paths.MODELS / f"{spec.id}.onnx"
    torch.manual_seed(spec.seed)
    model = TaskModel(spec.encoder, spec.tasks)
    if ckpt.exists() and record_path.exists():
        model.load_state_dict(torch.load(ckpt))
        record = json.loads(record_path.read_text())
    else:
        if spec.split not in data_cache:
            data_cache[spec.split] = load_split(spec.split)
        data = data_cache[spec.split]
        rgb = data["rgb"]
        labels = {t: target_tensor(t, data[t]) for t in spec.tasks}
        n = len(rgb)
        rng = np.random.default_rng(spec.seed)
        opt = torch.optim.Adam(model.parameters(), lr=LR)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / STEPS)))
        bar = progress.add_task(f"train {spec.id}", total=STEPS)
        t0 = time.perf_counter()
        model.train()
        for step in range(STEPS):
            idx = rng.integers(0, n, BATCH)
            loss = 0.0
            for i, task in enumerate(spec.tasks):
                x = torch.from_numpy(task_input(task, rgb[idx], seed=spec.seed * 100_000 + step))
                out = model(x)
                out = out[i] if isinstance(out, tuple) else out
                loss = loss + task_loss(task, out, labels[task][idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            if step % 25 == 0 or step == STEPS - 1:
                progress.update(bar, completed=step + 1, description=f"train {spec.id} loss {float(loss.detach()):.4f}")
        seconds = time.perf_counter() - t0
        progress.update(bar, visible=False)
        if "test" not in data_cache:
            data_cache["test"] = load_split("test")
        record = {"id": spec.id, "seconds": seconds, "steps": STEPS, "batch": BATCH, "lr": LR,
                  "train_images": n, "test_loss": evaluate(model, spec, data_cache["test"])}
        torch.save(model.state_dict(), ckpt)
        record_path.write_text(json.dumps(record, indent=1))
    if not onnx_path.exists():
        model.eval()
        names = list(spec.tasks) if len(spec.tasks) > 1 else ["output"]
        tmp = onnx_path.with_suffix(".tmp.onnx")
        export_torch(model, torch.rand(2, 3, 32, 32), tmp, exporter=spec.exporter, output_names=names)
        tmp.replace(onnx_path)
    return record
