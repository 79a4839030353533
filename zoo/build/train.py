"""Stage "train": every zoo model, PyTorch and Keras, skipping those already trained/exported."""

from __future__ import annotations

import json

import torch

from zoo.build import paths
from zoo.build.progress import progress_bar
from zoo.build.specs import MODELS


def run(force: bool = False, only_ids: tuple[str, ...] = ()) -> int:
    """Train and export every model lacking its checkpoint/ONNX file; returns how many were (re)built."""
    torch.set_num_threads(1)  # 1 thread: far faster than 2 on a shared 2-core machine
    paths.ensure()
    records = {}
    cache: dict = {}
    built = 0
    specs = [m for m in MODELS if not only_ids or m.id in only_ids]
    with progress_bar() as progress:
        overall = progress.add_task("models", total=len(specs))
        for spec in specs:
            if force:
                for path in (paths.CKPT / f"{spec.id}.pt", paths.CKPT / f"{spec.id}.json", paths.MODELS / f"{spec.id}.onnx"):
                    path.unlink(missing_ok=True)
            record_path = paths.CKPT / f"{spec.id}.json"
            if record_path.exists() and (paths.MODELS / f"{spec.id}.onnx").exists():
                records[spec.id] = json.loads(record_path.read_text())
                progress.advance(overall)
                continue
            built += 1
            if spec.framework == "pytorch":
                from zoo.build.train_torch import train
            else:
                from zoo.build.train_keras import train
            records[spec.id] = train(spec, progress, cache)
            progress.advance(overall)
    (paths.CACHE / "training.json").write_text(json.dumps(records, indent=1))
    return built
