"""Stage "explain": an object classifier that learned its task, for evaluating `harness explain`.

The transfer zoos' ``class_object`` models are trained like every other task model (600 steps,
a 16-channel bottleneck) and stay near the majority class on "class of the largest visible
object" (accuracy ~0.53 on 4 classes, majority 0.53): insecurities of a classifier that has
not learned its classes say nothing about the method. This stage trains one classifier for the
task the way the seed's classifiers are built (a conv net ending in global average pooling and
one linear layer, no bottleneck) for longer (8000 steps) on 30 000 rendered indoor scenes
(64x64; ~80 s to render, ~14 min to train on 2 CPU threads), exports it to ONNX and writes its
card into the separate zoo ``zoo/explain/`` (not a transfer model), then trains its hardness predictor (zoo/build/hardness.py, into ``zoo/explain/hardness/``)
for ``harness explain --score hardness``. Resumable: a finished checkpoint is reused.

    .venv/bin/python -m zoo.build.explain_models [--force]
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import replace

import numpy as np
import torch
import yaml
from torch import nn

from harness.model.export.pytorch import export_torch
from harness.common.hashing import sha256_file
from harness.probes.synthetic.geometry import OBJECT_CLASSES
from zoo.build import hardness
from zoo.build.architectures import conv_bn
from zoo.build.config import VERSIONS
from zoo.build.data import build_split, load_split
from zoo.build.hardness import card_field

MODEL_ID = "class_object-gap"
TASK = "class_object"
#: Its own training split: 30 000 indoor scenes (seeds 0..29999, zoo 2.0's 6000 training scenes and
#: more). On 6000 scenes for 3000 steps the classifier reached 0.672 (majority 0.556); "the class of
#: the largest visible object" needs more examples than a transfer zoo's task models see.
TRAIN_SPLIT = "explain-train"
CFG = replace(VERSIONS["2.0"], splits={**VERSIONS["2.0"].splits, TRAIN_SPLIT: ("indoor", 0, 30_000, (TASK,))})
ZOO = CFG.files.root / "explain"
SIZE = 64
WIDTHS, STRIDES = (32, 32, 64, 64, 128, 128), (2, 1, 2, 1, 2, 1)
STEPS, BATCH, LR, WEIGHT_DECAY, SEED = 8000, 64, 2e-3, 1e-4, 0
ARCHITECTURE = ("6x conv3x3-BN-ReLU (strides 2,1,2,1,2,1; 32,32,64,64,128,128 ch; BN folded on export), global average "
                "pool, linear layer to 4 classes")


class GapClassifier(nn.Sequential):
    """Plain CNN + global average pooling + one linear layer (the seed's classifiers' shape)."""

    def __init__(self) -> None:
        super().__init__()
        cin = 3
        for i, (width, stride) in enumerate(zip(WIDTHS, STRIDES), start=1):
            self.add_module(f"conv{i}", conv_bn(cin, width, 3, stride))
            cin = width
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(cin, len(OBJECT_CLASSES))


def _tensors(split: dict) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.from_numpy(np.ascontiguousarray(np.asarray(split["rgb"], np.float32).transpose(0, 3, 1, 2)))
    return x, torch.from_numpy(np.asarray(split[TASK], np.int64))


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(x[i:i + 256]).argmax(1) for i in range(0, len(x), 256)])
    return float((pred == y).float().mean())


def train(force: bool) -> tuple[GapClassifier, dict]:
    """Train (or reload) the classifier; the record holds its settings and accuracies."""
    ckpt, record_path = CFG.files.ckpt / f"{MODEL_ID}.pt", CFG.files.ckpt / f"{MODEL_ID}.json"
    torch.manual_seed(SEED)
    model = GapClassifier()
    if ckpt.exists() and record_path.exists() and not force:
        model.load_state_dict(torch.load(ckpt))
        return model.eval(), json.loads(record_path.read_text())
    x, y = _tensors(load_split(CFG, TRAIN_SPLIT, ("rgb", TASK)))
    xt, yt = _tensors(load_split(CFG, "test", ("rgb", TASK)))
    opt = torch.optim.Adam(model.parameters(), lr=LR, weight_decay=WEIGHT_DECAY)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * s / STEPS)))
    rng = np.random.default_rng(SEED)
    t0 = time.perf_counter()
    for step in range(STEPS):
        model.train()
        idx = torch.from_numpy(rng.integers(0, len(x), BATCH))
        xb = x[idx].flip(3) if rng.random() < 0.5 else x[idx]  # horizontal flips keep the label
        loss = nn.functional.cross_entropy(model(xb), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if (step + 1) % 500 == 0:
            print(f"  step {step + 1}/{STEPS}: loss {loss.item():.3f}, test accuracy {accuracy(model, xt, yt):.3f}", flush=True)
    majority = float(np.bincount(yt.numpy(), minlength=len(OBJECT_CLASSES)).max() / len(yt))
    record = {"id": MODEL_ID, "steps": STEPS, "batch": BATCH, "lr": LR, "weight_decay": WEIGHT_DECAY, "seed": SEED,
              "seconds": round(time.perf_counter() - t0, 1), "train_images": len(x),
              "test_accuracy": accuracy(model, xt, yt), "test_majority_class": majority}
    CFG.files.ckpt.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), ckpt)
    record_path.write_text(json.dumps(record, indent=1))
    return model.eval(), record


def write_card(model: GapClassifier, record: dict, force: bool) -> None:
    onnx_path = ZOO / "models" / f"{MODEL_ID}.onnx"
    if force or not onnx_path.exists():
        tmp = onnx_path.with_suffix(".tmp.onnx")
        export_torch(model, torch.rand(2, 3, SIZE, SIZE), tmp, exporter="legacy", output_names=["logits"])
        tmp.replace(onnx_path)
    card = {
        "id": MODEL_ID, "task": TASK, "framework": "pytorch", "onnx": f"../models/{onnx_path.name}",
        "sha256": sha256_file(onnx_path),
        "input": {"size": [SIZE, SIZE], "layout": "NCHW", "channels": "RGB", "range": [0.0, 1.0]},
        "probe_layer": "/conv6/conv6.2/Relu",
        "architecture": ARCHITECTURE,
        "training_data": (f"rendered indoor scenes (probes.synthetic, style 'indoor', seeds 0..{record['train_images'] - 1}, the first "
                          f"6000 being zoo 2.0's training scenes, {SIZE}x{SIZE}), label {TASK} (class of the largest visible object), "
                          "horizontal flips"),
        "group": "explain-classifier",
        "license": "MIT (trained by zoo/build/explain_models.py in this repository)",
        "source": "zoo/build (python -m zoo.build.explain_models)",
        "notes": (f"Object classifier for evaluating harness explain. Trained on CPU ({record['steps']} Adam steps, batch "
                  f"{record['batch']}, lr {record['lr']} cosine, weight decay {record['weight_decay']}, seed {record['seed']}, "
                  f"{record['seconds']} s). Accuracy on zoo 2.0's 500 held-out test scenes (seeds 3000000..3000499): "
                  f"{record['test_accuracy']:.3f} (majority class {record['test_majority_class']:.3f})."),
        "classes": list(OBJECT_CLASSES),
        **card_field(ZOO / "cards" / f"{MODEL_ID}.yaml"),  # its hardness predictor, once built
    }
    (ZOO / "cards" / f"{MODEL_ID}.yaml").write_text(yaml.safe_dump(card, sort_keys=False, width=120))
    zoo_file = {"name": "mini-explain", "version": "1.0.0",
                "description": "An object classifier that learned its task, for evaluating harness explain (zoo/build/explain_models.py).",
                "cards": "cards/*.yaml", "probe": "synthetic-indoor",
                "notes": "Rebuild with `.venv/bin/python -m zoo.build.explain_models` (needs zoo 2.0's rendered data)."}
    (ZOO / "zoo.yaml").write_text(yaml.safe_dump(zoo_file, sort_keys=False, width=120))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zoo.build.explain_models", description=__doc__.split("\n\n")[0])
    parser.add_argument("--force", action="store_true", help="retrain and re-export")
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    CFG.files.ensure()
    for folder in ("cards", "models"):
        (ZOO / folder).mkdir(parents=True, exist_ok=True)
    for split in (TRAIN_SPLIT, "test"):
        build_split(CFG, split)
    model, record = train(args.force)
    write_card(model, record, args.force)
    if hardness.run(ZOO / "cards" / f"{MODEL_ID}.yaml", args.force):  # the seed's second network, for --score hardness
        write_card(model, record, force=False)
    print(f"{MODEL_ID}: test accuracy {record['test_accuracy']:.3f} (majority class {record['test_majority_class']:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
