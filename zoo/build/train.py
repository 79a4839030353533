"""Stage "train": every zoo model, PyTorch and Keras, skipping those already trained/exported.

A model is done when its training record (``<state>/records/<id>.json``, with the probe tensor found
right after export) and its ONNX file exist: a killed build loses at most the models in training.
``jobs`` models train at once, one process and one torch thread each.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

import torch

from zoo.build.progress import progress_bar


def fingerprint(cfg, spec) -> str:
    """What a model's training depends on; a record with another fingerprint is stale (retrained)."""
    from zoo.build.architectures import architecture_text
    from zoo.build.data import loss_name

    size = cfg.model_size(spec)
    arch = architecture_text(spec.encoder, spec.tasks, size) if spec.framework == "pytorch" else f"keras {spec.encoder}"
    # fields added for 3.0 count only where set, so that 1.0/2.0 records keep their fingerprints
    fields = {k: v for k, v in dataclasses.asdict(spec).items() if k not in ("size", "aux", "steps") or v}
    if spec.aux:
        fields["aux_weight"] = cfg.aux_weight
    what = {"spec": fields, "size": cfg.size, "steps": spec.steps or cfg.steps, "batch": cfg.batch, "lr": cfg.lr,
            "split": list(cfg.splits[spec.split][:3]), "arch": arch, "losses": [loss_name(t, cfg.l2_tasks) for t in spec.tasks]}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:16]


def is_done(cfg, spec) -> bool:
    path = cfg.files.records / f"{spec.id}.json"
    if not (path.exists() and (cfg.files.models / f"{spec.id}.onnx").exists()):
        return False
    record = json.loads(path.read_text())
    return "probe" in record and record.get("fingerprint", fingerprint(cfg, spec)) == fingerprint(cfg, spec)


def train_one(cfg, spec, progress=None, cache: dict | None = None) -> dict:
    torch.set_num_threads(1)  # 1 thread: far faster than 2 on a shared 2-core machine
    if spec.framework == "pytorch":
        from zoo.build.train_torch import train
    elif spec.encoder.startswith("keras-"):
        from zoo.build.train_keras_family import train
    else:
        from zoo.build.train_keras import train
    return train(cfg, spec, progress, {} if cache is None else cache)


def _worker(args) -> tuple[str, dict]:
    cfg, spec = args
    t0 = time.perf_counter()
    record = train_one(cfg, spec)
    losses = ", ".join(f"{t} {v:.4f}" for t, v in record["test_loss"].items())
    print(f"trained {spec.id} ({spec.encoder}): {losses}; {time.perf_counter() - t0:.0f} s", flush=True)
    return spec.id, record


def run(cfg, force: bool = False, jobs: int = 1, only_ids: tuple[str, ...] = ()) -> int:
    """Train and export every model lacking its record/ONNX file; returns how many were (re)built."""
    torch.set_num_threads(1)
    cfg.files.ensure()
    specs = [m for m in cfg.models if not only_ids or m.id in only_ids]
    if force:
        for spec in specs:
            for path in (cfg.files.ckpt / f"{spec.id}.pt", cfg.files.records / f"{spec.id}.json", cfg.files.models / f"{spec.id}.onnx"):
                path.unlink(missing_ok=True)
    # targets first (one model per task), then the twins: a partial build already covers every task
    todo = sorted((s for s in specs if not is_done(cfg, s)), key=lambda s: not s.is_target)
    for spec in todo:  # stale or half-written: start that model afresh
        for path in (cfg.files.ckpt / f"{spec.id}.pt", cfg.files.ckpt / f"{spec.id}.weights.h5", cfg.files.models / f"{spec.id}.onnx"):
            path.unlink(missing_ok=True)
    print(f"train: {len(specs) - len(todo)}/{len(specs)} models done, {len(todo)} to train ({jobs} at a time)", flush=True)
    if jobs > 1 and len(todo) > 1:
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            for _ in pool.map(_worker, [(cfg, s) for s in todo]):
                pass
    else:
        cache: dict = {}
        with progress_bar() as progress:
            overall = progress.add_task("models", total=len(todo))
            for spec in todo:
                train_one(cfg, spec, progress, cache)
                progress.advance(overall)
    return len(todo)


def records(cfg) -> dict[str, dict]:
    return {m.id: json.loads((cfg.files.records / f"{m.id}.json").read_text())
            for m in cfg.models if (cfg.files.records / f"{m.id}.json").exists()}
