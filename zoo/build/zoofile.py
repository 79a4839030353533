"""The zoo file of a version: zoo/zoo.yaml (3.0, the default zoo), zoo/zoo-2.0.yaml or zoo/zoo-1.0.yaml."""

from __future__ import annotations

import yaml

DESCRIPTIONS = {
    "1.0": ("A miniature Taskonomy trained in this repository on synthetic indoor scenes (probes.synthetic, 32x32): "
            "{targets} single-task Taskonomy-style encoder-decoders with one shared encoder architecture "
            "(8x8x8 bottleneck = probe layer), plus a collected group (other encoders, studio data, Keras/tf2onnx, "
            "two-headed multi-task models), {models} models in all. Ground truth = measured transfer of every "
            "model's frozen encoder to every Taskonomy-style target task (zoo/BUILD.md)."),
    "2.0": ("Mini-taskonomy 2.0, trained in this repository on synthetic indoor scenes (probes.synthetic, 64x64): "
            "{targets} Taskonomy-style tasks, each trained on two of four encoder families (plain CNN, residual, "
            "depthwise-separable, small ViT) with a nonlinear 16x8x8 bottleneck (probe layer), plus two-headed "
            "multi-task models, {models} models in all. Ground truth = measured transfer of every model's frozen "
            "encoder to every task, against frozen random encoders of every family (zoo/BUILD-2.0.md)."),
    "3.0": ("Mini-taskonomy 3.0, trained in this repository on synthetic 'layout' scenes (probes.synthetic; room "
            "types told apart by geometry, not palette): {targets} Taskonomy-style tasks, each trained on two of five "
            "encoder families across two frameworks and two input sizes (PyTorch plain and residual CNNs at 64 px, "
            "PyTorch ViT at 32 px, Keras depthwise-separable at 64 px and Keras residual at 32 px, exported with "
            "tf2onnx), all with a nonlinear 16x8x8 bottleneck (probe layer) and trained with an auxiliary input "
            "reconstruction, plus two-headed multi-task models, {models} models in all. Ground truth = measured transfer "
            "of every model's frozen encoder to every task, against frozen random encoders of every family "
            "(zoo/BUILD-3.0.md)."),
}

#: the built-in probe set of each version's scenes
PROBES = {"1.0": "synthetic-indoor", "2.0": "synthetic-indoor", "3.0": "synthetic-layout"}


def write(cfg) -> None:
    files = cfg.files
    gt = files.ground_truth
    data = {
        "name": "mini-taskonomy",
        "version": cfg.zoo_version,
        "description": DESCRIPTIONS[cfg.version].format(targets=len(cfg.targets), models=len(cfg.models)),
        "cards": f"{files.cards.name}/*.yaml",
        "probe": PROBES[cfg.version],
    }
    if (gt / "affinity.csv").exists() and (gt / "affinity_seed2.csv").exists():
        data["ground_truth"] = f"{gt.name}/affinity.csv"
        data["ground_truth_repeat"] = f"{gt.name}/affinity_seed2.csv"
    from zoo.build.config import DEFAULT_VERSION

    build = "" if cfg.version == DEFAULT_VERSION else f" --version {cfg.version}"
    data["notes"] = (f"Rebuild with `.venv/bin/python -m zoo.build{build}` "
                     f"(see zoo/{files.build_md.name} for the stages and their times).")
    files.zoo_file.write_text(yaml.safe_dump(data, sort_keys=False, width=120))
