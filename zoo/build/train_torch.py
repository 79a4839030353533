"""Train a PyTorch zoo model on CPU (seeded, resumable) and export it to ONNX."""

from __future__ import annotations

import json
import math
import time

import numpy as np
import torch

from harness.model.export.pytorch import export_torch
from zoo.build.architectures import TaskModel
from zoo.build.data import input_kind, load_split, shrink_input, shrink_target, target_tensor, task_input, task_loss
from zoo.build.specs import ModelSpec
from zoo.build.train import fingerprint


def build(cfg, spec: ModelSpec) -> TaskModel:
    return TaskModel(spec.encoder, spec.tasks, cfg.model_size(spec), spec.aux)


def evaluate(cfg, model: torch.nn.Module, spec: ModelSpec, test: dict[str, np.ndarray]) -> dict[str, float]:
    """Test loss per task on the held-out test split (at the model's own resolution)."""
    model.eval()
    size = cfg.model_size(spec)
    losses = {}
    with torch.no_grad():
        for i, task in enumerate(spec.tasks):
            x = torch.from_numpy(shrink_input(task_input(task, test["rgb"], seed=7), size))
            out = torch.cat([(o[i] if isinstance(o, tuple) else o) for o in (model(x[j:j + 250]) for j in range(0, len(x), 250))])
            losses[task] = float(task_loss(task, out, shrink_target(task, target_tensor(task, test[task]), size), cfg.l2_tasks))
    return losses


def _split(cfg, data_cache: dict, name: str, tasks) -> dict[str, np.ndarray]:
    key = (name, tuple(tasks))
    if key not in data_cache:
        data_cache.clear() if cfg.size > 32 else None  # 64 px splits are large: keep one
        data_cache[key] = load_split(cfg, name, ("rgb", *tasks))
    return data_cache[key]


def step_loss(cfg, model: TaskModel, spec: ModelSpec, rgb: np.ndarray, labels: dict, idx: np.ndarray, seed: int) -> torch.Tensor:
    """One minibatch's loss: each task's loss (auxiliary tasks weighted ``cfg.aux_weight``), the encoder run once
    per distinct input (clean or corrupted rgb)."""
    size = cfg.model_size(spec)
    heads = [(t, h, 1.0) for t, h in zip(spec.tasks, model.heads)]
    heads += [(t, h, cfg.aux_weight) for t, h in zip(spec.aux, getattr(model, "aux_heads", ()))]
    loss = torch.zeros(())
    features: dict[str, torch.Tensor] = {}
    for task, head, weight in heads:
        kind = input_kind(task)
        if kind not in features:
            features[kind] = model.encoder(torch.from_numpy(shrink_input(task_input(task, rgb[idx], seed=seed), size)))
        loss = loss + weight * task_loss(task, head(features[kind]), labels[task][idx], cfg.l2_tasks)
    return loss


def train(cfg, spec: ModelSpec, progress, data_cache: dict) -> dict:
    """Train ``spec`` (skipped when its checkpoint exists), export ONNX, find its probe tensor, return its record."""
    files = cfg.files
    ckpt = files.ckpt / f"{spec.id}.pt"
    record_path = files.records / f"{spec.id}.json"
    onnx_path = files.models / f"{spec.id}.onnx"
    size = cfg.model_size(spec)
    torch.manual_seed(spec.seed)
    model = build(cfg, spec)
    if ckpt.exists() and record_path.exists():
        model.load_state_dict(torch.load(ckpt))
        record = json.loads(record_path.read_text())
    else:
        data = _split(cfg, data_cache, spec.split, spec.tasks + spec.aux)
        rgb = data["rgb"]
        labels = {t: shrink_target(t, target_tensor(t, data[t]), size) for t in spec.tasks + spec.aux}
        n = len(rgb)
        steps, batch = spec.steps or cfg.steps, cfg.batch
        rng = np.random.default_rng(spec.seed)
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / steps)))
        bar = progress.add_task(f"train {spec.id}", total=steps) if progress else None
        t0 = time.perf_counter()
        model.train()
        for step in range(steps):
            idx = rng.integers(0, n, batch)
            loss = step_loss(cfg, model, spec, rgb, labels, idx, seed=spec.seed * 100_000 + step)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            if bar is not None and (step % 25 == 0 or step == steps - 1):
                progress.update(bar, completed=step + 1, description=f"train {spec.id} loss {float(loss.detach()):.4f}")
        seconds = time.perf_counter() - t0
        if bar is not None:
            progress.update(bar, visible=False)
        test = _split(cfg, data_cache, "test", spec.tasks)
        record = {"id": spec.id, "encoder": spec.encoder, "seconds": seconds, "steps": steps, "batch": batch, "lr": cfg.lr,
                  "train_images": n, "params": sum(p.numel() for p in model.encoder.parameters()) + sum(p.numel() for p in model.heads.parameters()),
                  "test_loss": evaluate(cfg, model, spec, test), "fingerprint": fingerprint(cfg, spec)}
        torch.save(model.state_dict(), ckpt)
        _write_json(record_path, record)
    if not onnx_path.exists() or "probe" not in record:
        model.eval()
        names = list(spec.tasks) if len(spec.tasks) > 1 else ["output"]
        tmp = onnx_path.with_suffix(".tmp.onnx")
        t0 = time.perf_counter()
        export_torch(model, torch.rand(2, 3, size, size), tmp, exporter=spec.exporter, output_names=names)
        from zoo.build.cards import find_probe

        probe_layer, tensor = find_probe(cfg, spec, tmp, model)
        record["probe"] = {"probe_layer": probe_layer, "tensor": tensor}
        record["export_seconds"] = time.perf_counter() - t0
        _write_json(record_path, record)  # before the ONNX file: "record + ONNX" means done
        tmp.replace(onnx_path)
    return record


def _write_json(path, data: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)
