"""Pilot for zoo 3.0: how often does a trained source transfer worse than a frozen random encoder of its family?

Two modes, one seed, a subset of targets, printed as "below k/n" per target and a total:

    # the shipped zoo 2.0 models (every third single-task model), under another transfer protocol
    python -m zoo.build.pilot_random_baseline shipped --n-train 300 --head linear
    # plain-family models trained here for a few hundred steps with another bottleneck width
    python -m zoo.build.pilot_random_baseline train --neck 4 --steps 200 [--n-train 2400 --head-steps 800]
    # every source also reconstructs its input through its own decoder, the loss weighted by W
    python -m zoo.build.pilot_random_baseline train --aux-recon 0.3

Needs zoo 2.0's rendered data (python -m zoo.build --version 2.0 --only data, ~1 min). Results of
the pilots run so far: zoo/BUILD-3.0-pilots.md.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import torch
from torch import nn

from zoo.build import families, transfer
from zoo.build.architectures import conv_bn
from zoo.build.config import V2, VERSIONS
from zoo.build.data import input_kind, is_dense, out_channels, target_tensor
from zoo.build.paths import layout
from zoo.build.specs import ModelSpec

SHIPPED_TARGETS = ("autoencoder", "colorization", "inpainting", "class_scene", "class_object", "keypoint2d", "rgb2depth",
                   "vanishing_point")
TRAIN_TASKS = ("autoencoder", "rgb2depth", "segmentsemantic", "class_scene", "keypoint2d", "edge2d", "reshade")
TRAIN_TARGETS = ("autoencoder", "colorization", "class_scene", "keypoint2d", "rgb2depth", "edge2d", "class_object")


def linear_head(task: str, channels: int = families.NECK) -> nn.Module:
    """The least a head can do: a 1x1 conv + PixelShuffle(8) for pixels, avgpool2 + one linear layer otherwise."""
    if is_dense(task):
        return nn.Sequential(nn.Conv2d(channels, 64 * out_channels(task), 1), nn.PixelShuffle(8))
    return nn.Sequential(nn.AvgPool2d(2), nn.Flatten(), nn.Linear(channels * 16, out_channels(task)))


#: --deep: 10 conv3x3-BN-ReLU instead of 6 (random ReLU nets lose input detail with depth)
DEEP = ((24, 2), (32, 1), (48, 2), (48, 1), (48, 1), (64, 2), (64, 1), (64, 1), (96, 1), (96, 1))


def pilot_family(neck: int, deep: bool = False) -> str:
    """Register the plain family with a ``neck``-channel bottleneck (and ``deep``: 10 convs) under a
    pilot name (this process only)."""

    class PilotPlain(nn.Sequential):
        channels, stride = neck, 8

        def __init__(self) -> None:
            super().__init__()
            cin = 3
            layers = DEEP if deep else tuple(zip((24, 32, 48, 48, 64, 96), (2, 1, 2, 1, 2, 1)))
            for i, (width, stride) in enumerate(layers, start=1):
                self.add_module(f"conv{i}", conv_bn(cin, width, 3, stride))
                cin = width
            width = max(32, neck)
            self.bottleneck = nn.Sequential(conv_bn(cin, width, 1), conv_bn(width, neck, 1))

    name = f"plain{'-deep' if deep else ''}-neck{neck}"
    families.FAMILIES[name] = PilotPlain
    families.FAMILY_TEXT[name] = f"pilot: plain encoder{' (10 convs)' if deep else ''}, {neck}-channel neck"
    return name


def heads(cfg, feats: dict, targets: tuple[str, ...], random_of: dict[str, str], own: dict[str, str]) -> tuple[int, int]:
    data = transfer._load(cfg)
    idx = transfer.subset(cfg, 1, len(data["pool"]["rgb"]))
    below = total = 0
    for ti, task in enumerate(targets):
        kind = input_kind(task)
        y_train, y_test = target_tensor(task, data["pool"][task][idx]), target_tensor(task, data["test"][task])
        row = {s: transfer.train_head(cfg, task, f[f"{kind}/pool"][torch.from_numpy(idx)], y_train, f[f"{kind}/test"], y_test,
                                      1_000_003 + ti * 101) for s, f in feats.items()}
        sources = [s for s in random_of if own[s] != task]
        worse = [s for s in sources if row[s] > row[random_of[s]]]
        below, total = below + len(worse), total + len(sources)
        print(f"{task}: below {len(worse)}/{len(sources)}  " + " ".join(f"{k}={v:.4f}" for k, v in row.items()), flush=True)
    print(f"total below the same-family random encoder: {below}/{total}", flush=True)
    return below, total


def main(argv=None) -> None:
    torch.set_num_threads(1)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("mode", choices=("shipped", "train"))
    p.add_argument("--neck", type=int, default=16, help="train: bottleneck channels")
    p.add_argument("--deep", action="store_true", help="train: 10 conv layers instead of 6")
    p.add_argument("--steps", type=int, default=200, help="train: training steps per model")
    p.add_argument("--n-train", type=int, default=1500, help="transfer images per head")
    p.add_argument("--head-steps", type=int, default=200)
    p.add_argument("--head", choices=("mlp", "linear"), default="mlp")
    p.add_argument("--pretrain", metavar="TASK:STEPS", help="train: start every model's encoder from one trained for "
                   "STEPS steps on TASK (a shared backbone, as zoo models fine-tuned from one pretrained network)")
    p.add_argument("--aux-recon", type=float, metavar="W", help="train: every model also learns 'autoencoder' with a "
                   "second decoder, its loss weighted by W (sources that keep appearance information)")
    p.add_argument("--data", default="2.0", choices=("2.0", "3.0"), help="train: whose rendered data (2.0: indoor "
                   "scenes; 3.0: layout scenes, room types told apart by geometry only)")
    p.add_argument("--root", type=Path, default=Path("/tmp/zoo3-pilot"))
    args = p.parse_args(argv)
    cfg = replace(V2, n_train=args.n_train, head_steps=args.head_steps)
    if args.head == "linear":
        transfer.transfer_head = lambda cfg, task: linear_head(task)  # noqa: E731  (this process only)
    if args.mode == "shipped":
        sources = [m for m in V2.models if m.group != "multi-task"][::3]
        data = transfer._load(cfg)
        feats = {m.id: transfer.source_features(cfg, m, data) for m in sources}
        for fam in cfg.random_encoders:
            feats[f"random-{fam}"] = transfer.random_features(cfg, f"random-{fam}", 1, data)
        heads(cfg, feats, SHIPPED_TARGETS, {m.id: f"random-{m.encoder}" for m in sources}, {m.id: m.task for m in sources})
        return
    from zoo.build.train_torch import train

    family = pilot_family(args.neck, args.deep)
    tag = (f"data{args.data}-" if args.data != "2.0" else "") + family + (f"-pre-{args.pretrain.replace(':', '-')}" if args.pretrain else "") + (f"-aux{args.aux_recon}" if args.aux_recon else "")
    files = layout(args.root / tag, "-2.0", "zoo-2.0.yaml", state_in_cache=False)
    aux = ("autoencoder",) if args.aux_recon else ()
    specs = tuple(ModelSpec(t, (t,) + tuple(a for a in aux if a != t), encoder=family, exporter="legacy", seed=200 + i)
                  for i, t in enumerate(TRAIN_TASKS))
    if args.aux_recon:
        from zoo.build import train_torch

        plain_loss, weight = train_torch.task_loss, args.aux_recon

        def weighted(task, pred, target, *rest):  # the auxiliary reconstruction counts W, the model's own task 1
            return plain_loss(task, pred, target, *rest) * (weight if task == "autoencoder" else 1.0)

        train_torch.task_loss = weighted  # this process only
    cfg = replace(cfg, files=files, steps=args.steps, models=specs, scratch_encoder=family, random_encoders=(family,))
    files.ensure()
    if not any(files.data.iterdir()):
        files.data.rmdir()
        files.data.symlink_to(VERSIONS[args.data].files.data)
    if args.pretrain:
        from zoo.build import train_torch

        task, steps = args.pretrain.split(":")
        backbone_spec = ModelSpec(f"backbone-{task}", (task,), encoder=family, exporter="legacy", seed=99)
        train(replace(cfg, steps=int(steps)), backbone_spec, None, {})
        backbone = torch.load(files.ckpt / f"{backbone_spec.id}.pt")
        encoder_state = {k[len("encoder."):]: v for k, v in backbone.items() if k.startswith("encoder.")}

        class FromBackbone(train_torch.TaskModel):
            def __init__(self, *a, **k) -> None:
                super().__init__(*a, **k)
                self.encoder.load_state_dict(encoder_state)

        train_torch.TaskModel = FromBackbone  # this process only
    info = {}
    for spec in specs:
        record = train(cfg, spec, None, {})
        print(f"trained {spec.id}: {record['test_loss']}", flush=True)
        info[spec.id] = {"tensor": record["probe"]["tensor"], "sha256": "pilot"}
    files.probe_info.write_text(json.dumps(info))
    data = transfer._load(cfg)
    feats = {s.id: transfer.source_features(cfg, s, data) for s in specs}
    feats["random"] = transfer.random_features(cfg, cfg.random_sources[0], 1, data)
    heads(cfg, feats, TRAIN_TARGETS, {s.id: "random" for s in specs}, {s.id: s.tasks[0] for s in specs})


if __name__ == "__main__":
    main()
