"""Stage "hardness": a hardness predictor for a zoo classifier (the seed's second network).

The deliberative-explanations seed trains, beside each classifier, a network that predicts
how hard an image is *for that classifier* (Wang & Vasconcelos, ECCV 2018). Here: a zoo
encoder for the classifier's input size (32 px: the Taskonomy-style encoder; 64 px: zoo 2.0's
plain CNN) and a pooled head with one output, trained by binary cross-entropy on the
classifier's own difficulty, t = 1 - p(true class | x), measured by running the classifier's
ONNX file through the harness. The exported model outputs the pre-sigmoid logit (as the
seed's ``..._presigmoid`` head); ``harness explain --score hardness`` applies the sigmoid. The
predictor's card goes to ``hardness/`` beside the classifier's zoo folder (outside the zoo's
``cards/*.yaml``, so it does not join the transferability benchmark); the classifier's card
points to it with ``hardness:`` (the cards writers add the field when the predictor exists).

    .venv/bin/python -m zoo.build.hardness [--card zoo/cards/class_object.yaml] [--force]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import onnx
import torch
import yaml
from torch import nn

from harness.model.card import load_card
from harness.common.hashing import sha256_file
from harness.model.importer import import_card
from harness.probes.synthetic.dataset import render_batch
from zoo.build.onnx_search import matching_node
from zoo.build.config import VERSIONS
from zoo.build.architectures import PooledHead, TaskonomyEncoder
from zoo.build.families import PlainEncoder

#: The classifier this stage trains a predictor for by default (zoo 1.0's class_object).
DEFAULT_CARD = VERSIONS["1.0"].files.cards / "class_object.yaml"

TRAIN_SEEDS = range(0, 3000)  # the classifiers' own training scenes
TEST_SEEDS = range(3000000, 3000500)  # the zoo's held-out test scenes
STEPS, BATCH, LR, SEED = 600, 64, 0.002, 7


class HardnessNet(nn.Sequential):
    """Encoder + pooled head with one output, for 32 px (Taskonomy-style) or 64 px (plain CNN) inputs."""

    def __init__(self, size: int = 32) -> None:
        super().__init__()
        if size == 32:
            self.encoder, self.head = TaskonomyEncoder(), PooledHead(1)
        elif size == 64:
            self.encoder, self.head = PlainEncoder(), PooledHead(1, cin=PlainEncoder.channels)
        else:
            raise ValueError(f"hardness predictors are built for 32 or 64 px classifiers, not {size}")


def predictor_card(classifier_card) -> Path:
    """Where the predictor of a classifier card lives: ``hardness<suffix>/<id>-hardness.yaml`` beside its
    ``cards<suffix>/`` folder (zoo versions share a folder and model ids: cards-2.0 -> hardness-2.0)."""
    card = Path(classifier_card)
    suffix = card.parent.name[len("cards"):] if card.parent.name.startswith("cards") else ""
    return card.parent.parent / f"hardness{suffix}" / f"{card.stem}-hardness.yaml"


def card_field(card_path: Path) -> dict:
    """``{"hardness": <relative path>}`` for a classifier card whose predictor exists, else ``{}``."""
    predictor = predictor_card(card_path)
    return {"hardness": f"../{predictor.parent.name}/{predictor.name}"} if predictor.exists() else {}


def _data(task: str, seeds: range, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    batch = render_batch(list(seeds), size, "indoor", (task,))
    return torch.from_numpy(batch["rgb"]).permute(0, 3, 1, 2).contiguous(), torch.from_numpy(batch[task])


def classifier_difficulty(card_path, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, float]:
    """t = 1 - p(true class) from the classifier's ONNX file, and its accuracy."""
    model = import_card(load_card(card_path)).module()
    with torch.no_grad():
        p = torch.cat([torch.softmax(model(x[i:i + 256]), -1) for i in range(0, len(x), 256)])
    return 1.0 - p[torch.arange(len(y)), y], float((p.argmax(1) == y).float().mean())


def _bottleneck_node(onnx_path, net: HardnessNet, size: int) -> str:
    """The ONNX node whose output equals the encoder's (the probe layer of the card)."""
    return matching_node(onnx.load(str(onnx_path)), net.encoder, size, str(onnx_path))[0]


def run(card_path: Path = DEFAULT_CARD, force: bool = False) -> int:
    """Train and export the predictor of one classifier card; returns 1 if it was (re)built."""
    from harness.model.export.pytorch import export_torch

    out_card = predictor_card(card_path)
    classifier = Path(card_path).stem
    out_onnx = out_card.with_suffix(".onnx")
    if out_card.exists() and not force:
        return 0
    out_card.parent.mkdir(parents=True, exist_ok=True)
    classifier_card = load_card(card_path)
    task, size = classifier_card.task, max(classifier_card.input.size)
    t0 = time.perf_counter()
    x, y = _data(task, TRAIN_SEEDS, size)
    target, train_acc = classifier_difficulty(card_path, x, y)
    xt, yt = _data(task, TEST_SEEDS, size)
    target_t, test_acc = classifier_difficulty(card_path, xt, yt)
    torch.manual_seed(SEED)
    net = HardnessNet(size)
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, STEPS)
    gen = torch.Generator().manual_seed(SEED)
    loss_fn = nn.BCEWithLogitsLoss()
    for _ in range(STEPS):
        idx = torch.randint(0, len(x), (BATCH,), generator=gen)
        net.train()
        loss = loss_fn(net(x[idx]).squeeze(1), target[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    net.eval()
    with torch.no_grad():
        pred = torch.sigmoid(net(xt).squeeze(1))
    corr = float(np.corrcoef(pred.numpy(), target_t.numpy())[0, 1])
    mae = float((pred - target_t).abs().mean())
    seconds = time.perf_counter() - t0
    export_torch(net, x[:2], out_onnx, exporter="legacy")
    data = {
        "id": f"{classifier}-hardness",
        "task": f"hardness of {classifier}",
        "framework": "pytorch",
        "onnx": out_onnx.name,
        "sha256": sha256_file(out_onnx),
        "input": {"size": [size, size], "layout": "NCHW", "channels": "RGB", "range": [0.0, 1.0]},
        "probe_layer": _bottleneck_node(out_onnx, net, size),
        "architecture": (f"{type(net.encoder).__name__} ({'8x8x8' if size == 32 else '16x8x8'} bottleneck) + pooled MLP head "
                         "avgpool2x2-flatten-FC64-ReLU-FC1; outputs the pre-sigmoid hardness logit"),
        "training_data": f"probes.synthetic indoor seeds {TRAIN_SEEDS.start}..{TRAIN_SEEDS.stop - 1}, target 1 - p(true class) "
                         f"of {classifier}",
        "group": "hardness-predictor",
        "license": "MIT (trained by zoo/build in this repository)",
        "source": "zoo/build (python -m zoo.build.hardness)",
        "notes": (f"Hardness predictor for {classifier} ({STEPS} Adam steps, batch {BATCH}, lr {LR} cosine, seed {SEED}, "
                  f"{seconds:.0f} s, BCE on soft targets). On 500 held-out scenes (seeds {TEST_SEEDS.start}.."
                  f"{TEST_SEEDS.stop - 1}): Pearson r {corr:.3f} between predicted and actual 1 - p(true class), "
                  f"mean abs error {mae:.3f}; the classifier's accuracy there {test_acc:.3f} (train scenes {train_acc:.3f})."),
    }
    out_card.write_text(yaml.safe_dump(data, sort_keys=False, width=120, allow_unicode=True))
    import_card(load_card(out_card))  # parity with onnxruntime
    print(json.dumps({"card": str(out_card), "pearson_r": corr, "mae": mae, "classifier_test_accuracy": test_acc,
                      "seconds": round(seconds, 1)}))
    return 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zoo.build.hardness", description=__doc__.split("\n\n")[0])
    parser.add_argument("--card", type=Path, default=DEFAULT_CARD, help="the classifier's card (32 or 64 px input)")
    parser.add_argument("--force", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    run(args.card, args.force)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
