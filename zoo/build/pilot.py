"""Pilot of a zoo 2.0 design: a few models at reduced steps, transfer vs random encoders on a few targets (seed 1).

    python -m zoo.build.pilot autoencoder,rgb2depth,class_scene,inpainting class_scene,edge2d,autoencoder 150 [ROOT]

Uses the 2.0 data (render it first: python -m zoo.build --version 2.0 --only data), trains the named
models with STEPS steps into ROOT (default /tmp/zoo2-pilot/zoo), prints one line of test losses per
target: every pilot model and three random encoders. A quick check before a multi-hour build.
"""
import json, sys, time
from dataclasses import replace
from pathlib import Path
import torch
torch.set_num_threads(1)
from zoo.build.config import V2
from zoo.build.paths import layout
from zoo.build import transfer as T
from zoo.build.data import input_kind, target_tensor
from zoo.build.train_torch import train

root = Path(sys.argv[4] if len(sys.argv) > 4 else "/tmp/zoo2-pilot/zoo")
files = layout(root, "-2.0", "zoo-2.0.yaml", state_in_cache=False)
ids = sys.argv[1].split(",")
targets = sys.argv[2].split(",")
steps = int(sys.argv[3])
cfg = replace(V2, files=files, steps=steps, models=tuple(m for m in V2.models if m.id in ids))
files.ensure()
data_link = files.data
if not any(data_link.iterdir()):
    data_link.rmdir(); data_link.symlink_to(V2.files.data)
feats = {}
for spec in cfg.models:
    t0 = time.perf_counter(); rec = train(cfg, spec, None, {})
    print(spec.id, spec.encoder, rec["test_loss"], f"{time.perf_counter()-t0:.0f}s", flush=True)
    info = json.loads(files.probe_info.read_text()) if files.probe_info.exists() else {}
    info[spec.id] = {"tensor": rec["probe"]["tensor"], "sha256": "x"}
    files.probe_info.write_text(json.dumps(info))
data = T._load(cfg)
for spec in cfg.models:
    feats[spec.id] = T.source_features(cfg, spec, data)
for r in ("random-plain", "random-vit", "random-residual"):
    feats[r] = T.random_features(cfg, r, 1, data)
idx = T.subset(cfg, 1, len(data["pool"]["rgb"]))
res = {}
for ti, task in enumerate(targets):
    kind = input_kind(task)
    y_train = target_tensor(task, data["pool"][task][idx]); y_test = target_tensor(task, data["test"][task])
    row = {}
    for s, f in feats.items():
        t0 = time.perf_counter()
        row[s] = T.train_head(cfg, task, f[f"{kind}/pool"][torch.from_numpy(idx)], y_train, f[f"{kind}/test"], y_test, 1_000_003 + ti * 101)
        dt = time.perf_counter() - t0
    print(task, " ".join(f"{s}={v:.4f}" for s, v in row.items()), f"(last head {dt:.1f}s)", flush=True)
