"""Stage "sharing": two-headed classifiers for the feature-sharing comparison (harness sharing).

``python -m zoo.build.sharing_models [--force]`` renders indoor scenes with a glyph overlay
(harness.probes.glyphs), trains two models with the same architecture and data, exports them
to ONNX and writes their cards into the separate zoo ``zoo/sharing/`` (``harness sharing``
labels them from the built-in label source ``synthetic-glyphs``):

- ``multi-class_scene+class_scene_super``: related tasks (a class and its super-class);
- ``multi-class_scene+glyph``: unrelated tasks (the scene class and the overlaid glyph's class),
  as the seed's Subord+Basic and Object+Text pairs.

Architecture: conv3x3/2 (16) - conv3x3/2 (32) - conv3x3 (64) - conv1x1 (32), each with BN and
ReLU (BN folded into the convs by the exporter), then per head avgpool2x2 - flatten (512) -
FC64 - ReLU - FC(classes). Resumable: data, checkpoints and ONNX files are reused when present.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import onnx
import torch
import yaml
from torch import nn

from harness.model.export.pytorch import export_torch
from harness.common.hashing import sha256_file
from harness.probes.glyphs import GLYPH_TASKS
from zoo.build.config import VERSIONS
from zoo.build.architectures import conv_bn
from zoo.build.progress import progress_bar

#: The two-headed classifiers are trained beside zoo 1.0 (its scene generator settings and cache).
FILES = VERSIONS["1.0"].files

ZOO = FILES.root / "sharing"
SIZE = 32
TASKS = ("class_scene", "class_scene_super", "glyph")
CLASSES = {"class_scene": 5, **{k: len(v) for k, v in GLYPH_TASKS.items()}}
SPLITS = {"sharing-train": (0, 4000), "sharing-test": (3_000_000, 500)}
MODELS = {  # id -> (heads, seed, relation)
    "multi-class_scene+class_scene_super": (("class_scene", "class_scene_super"), 141, "related"),
    "multi-class_scene+glyph": (("class_scene", "glyph"), 142, "unrelated"),
}
STEPS, BATCH, LR = 1500, 64, 2e-3
ARCHITECTURE = ("conv3x3/2-BN-ReLU (16) - conv3x3/2-BN-ReLU (32) - conv3x3-BN-ReLU (64) - conv1x1-BN-ReLU (32), "
                "BN folded on export; per head avgpool2x2-flatten(512)-FC64-ReLU-FC")


class TwoHeadClassifier(nn.Module):
    def __init__(self, heads: tuple[str, ...]) -> None:
        super().__init__()
        self.encoder = nn.Sequential(conv_bn(3, 16, 3, 2), conv_bn(16, 32, 3, 2), conv_bn(32, 64, 3, 1), conv_bn(64, 32, 1, 1))
        self.heads = nn.ModuleList(
            nn.Sequential(nn.AvgPool2d(2), nn.Flatten(), nn.Linear(32 * 16, 64), nn.ReLU(), nn.Linear(64, CLASSES[h])) for h in heads)

    def forward(self, x: torch.Tensor):
        z = self.encoder(x)
        return tuple(head(z) for head in self.heads)


def _render(args):
    from harness.probes.glyphs import render_glyph_batch

    return render_glyph_batch(args, size=SIZE, style="indoor", tasks=TASKS)


def data(name: str, force: bool) -> dict[str, np.ndarray]:
    path = FILES.data / f"{name}.npz"
    if force or not path.exists():
        first, n = SPLITS[name]
        seeds = list(range(first, first + n))
        chunks = [seeds[i:i + 100] for i in range(0, n, 100)]
        parts = []
        with progress_bar() as progress, ProcessPoolExecutor(2) as pool:
            bar = progress.add_task(f"render {name} ({n} images with glyphs)", total=n)
            for part in pool.map(_render, chunks):
                parts.append(part)
                progress.advance(bar, len(part["rgb"]))
        merged = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, **merged)
        tmp.replace(path)
    with np.load(path) as stored:
        return {k: stored[k] for k in stored.files}


def _x(rgb: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(rgb.transpose(0, 3, 1, 2)))


def accuracy(model: nn.Module, heads, test: dict) -> dict[str, float]:
    model.eval()
    with torch.no_grad():
        outs = model(_x(test["rgb"]))
    return {h: float((o.argmax(1).numpy() == test[h]).mean()) for h, o in zip(heads, outs)}


def train(model_id: str, train_data: dict, test: dict, progress, force: bool) -> dict:
    heads, seed, relation = MODELS[model_id]
    ckpt, record_path = FILES.ckpt / f"{model_id}.pt", FILES.ckpt / f"{model_id}.json"
    torch.manual_seed(seed)
    model = TwoHeadClassifier(heads)
    if ckpt.exists() and record_path.exists() and not force:
        model.load_state_dict(torch.load(ckpt))
        return json.loads(record_path.read_text())
    rng = np.random.default_rng(seed)
    x_all, n = _x(train_data["rgb"]), len(train_data["rgb"])
    targets = {h: torch.from_numpy(train_data[h]) for h in heads}
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / STEPS)))
    bar = progress.add_task(f"train {model_id}", total=STEPS)
    t0 = time.perf_counter()
    model.train()
    for step in range(STEPS):
        idx = torch.from_numpy(rng.integers(0, n, BATCH))
        outs = model(x_all[idx])
        loss = sum(nn.functional.cross_entropy(o, targets[h][idx]) for h, o in zip(heads, outs))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 25 == 0 or step == STEPS - 1:
            progress.update(bar, completed=step + 1, description=f"train {model_id} loss {float(loss.detach()):.3f}")
    record = {"id": model_id, "heads": list(heads), "relation": relation, "seed": seed, "steps": STEPS, "batch": BATCH,
              "lr": LR, "seconds": round(time.perf_counter() - t0, 1), "train_images": n,
              "test_accuracy": accuracy(model, heads, test)}
    torch.save(model.state_dict(), ckpt)
    record_path.write_text(json.dumps(record, indent=1))
    return record


def export(model_id: str, force: bool) -> tuple:
    heads = MODELS[model_id][0]
    model = TwoHeadClassifier(heads)
    model.load_state_dict(torch.load(FILES.ckpt / f"{model_id}.pt"))
    model.eval()
    onnx_path = ZOO / "models" / f"{model_id}.onnx"
    if force or not onnx_path.exists():
        tmp = onnx_path.with_suffix(".tmp.onnx")
        export_torch(model, torch.rand(2, 3, SIZE, SIZE), tmp, exporter="legacy", output_names=list(heads))
        tmp.replace(onnx_path)
    convs = [n.name for n in onnx.load(str(onnx_path)).graph.node if n.op_type == "Conv"]
    return onnx_path, convs


def write_card(model_id: str, record: dict, onnx_path, convs: list[str]) -> None:
    heads = record["heads"]
    acc = ", ".join(f"{h} {record['test_accuracy'][h]:.3f}" for h in heads)
    card = {
        "id": model_id, "task": "+".join(heads), "framework": "pytorch", "onnx": f"../models/{onnx_path.name}",
        "sha256": sha256_file(onnx_path),
        "input": {"size": [SIZE, SIZE], "layout": "NCHW", "channels": "RGB", "range": [0.0, 1.0]},
        "probe_layer": convs[-1],
        "architecture": f"{ARCHITECTURE}; heads {', '.join(heads)}",
        "training_data": (f"harness.probes.glyphs render_glyph_batch, style 'indoor', seeds 0..3999 (4000 images, {SIZE}x{SIZE}, "
                          f"a glyph on each), labels {', '.join(heads)}"),
        "group": "multi-task-classifier",
        "license": "MIT (trained by zoo/build/sharing_models.py in this repository)",
        "source": "zoo/build (python -m zoo.build.sharing_models)",
        "notes": (f"Two-headed classifier for feature sharing ({record['relation']} tasks). Trained on CPU ({record['steps']} Adam "
                  f"steps, batch {record['batch']}, lr {record['lr']} cosine, seed {record['seed']}, {record['seconds']} s); exported "
                  f"with the torch.onnx legacy exporter. Test accuracy on 500 held-out glyph scenes (seeds 3000000..3000499): {acc}. "
                  f"Conv layers (ONNX nodes): {', '.join(convs)}."),
        "heads": list(heads),
    }
    text = yaml.safe_dump(card, sort_keys=False, width=120)
    (ZOO / "cards" / f"{model_id}.yaml").write_text(text)


ZOO_FILE = {
    "name": "mini-sharing", "version": "1.0.0",
    "description": ("Two-headed classifiers for `harness sharing` (feature sharing by parameter marginalisation): a related "
                    "pair (room type + its super-class) and an unrelated pair (room type + overlaid glyph), trained on "
                    "synthetic indoor scenes with a glyph overlay."),
    "cards": "cards/*.yaml",
    "notes": ("Rebuild with `.venv/bin/python -m zoo.build.sharing_models` (resumable). Training costs about 0.36 CPU-s per "
              "step at 2 threads (1500 steps per model); the first model took 46 min wall on a shared, overloaded 2-core machine."),
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zoo.build.sharing_models", description=__doc__)
    parser.add_argument("--force", action="store_true", help="re-render, retrain and re-export")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    FILES.ensure()
    for folder in ("cards", "models"):
        (ZOO / folder).mkdir(parents=True, exist_ok=True)
    train_data, test = data("sharing-train", args.force), data("sharing-test", args.force)
    with progress_bar() as progress:
        for model_id in MODELS:
            record = train(model_id, train_data, test, progress, args.force)
            onnx_path, convs = export(model_id, args.force)
            write_card(model_id, record, onnx_path, convs)
            print(f"{model_id}: test accuracy {record['test_accuracy']}")
    (ZOO / "zoo.yaml").write_text(yaml.safe_dump(ZOO_FILE, sort_keys=False, width=120))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
