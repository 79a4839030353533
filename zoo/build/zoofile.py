"""zoo/zoo.yaml."""

from __future__ import annotations

import yaml

from zoo.build import paths
from zoo.build.specs import MODELS, TARGETS

VERSION = "1.0.0"


def write() -> None:
    data = {
        "name": "mini-taskonomy",
        "version": VERSION,
        "description": (
            f"A miniature Taskonomy trained in this repository on synthetic indoor scenes (probes.synthetic, 32x32): "
            f"{len(TARGETS)} single-task Taskonomy-style encoder-decoders with one shared encoder architecture "
            f"(8x8x8 bottleneck = probe layer), plus a collected group (other encoders, studio data, Keras/tf2onnx, "
            f"two-headed multi-task models), {len(MODELS)} models in all. Ground truth = measured transfer of every "
            f"model's frozen encoder to every Taskonomy-style target task (zoo/BUILD.md)."
        ),
        "cards": "cards/*.yaml",
        "probe": "synthetic-indoor",
        "ground_truth": "ground_truth/affinity.csv",
        "ground_truth_repeat": "ground_truth/affinity_seed2.csv",
        "notes": "Rebuild with `.venv/bin/python -m zoo.build` (see zoo/BUILD.md for the stages and their times).",
    }
    (paths.ZOO / "zoo.yaml").write_text(yaml.safe_dump(data, sort_keys=False, width=120))
