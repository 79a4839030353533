"""zoo/BUILD.md (1.0) and zoo/BUILD-2.0.md: what the zoo contains, how it was built (time per stage), its ground truth."""

from __future__ import annotations

import json
from pathlib import Path


from zoo.build.affinity import __doc__ as AFFINITY_DOC


def run_summary_path(cfg) -> Path:
    return cfg.files.state / "harness_run.json"


def record_run(cfg, report_path: Path, wall_seconds: float, command: str) -> None:
    """Keep the summary of a `harness run` on this zoo for BUILD.md."""
    report = json.loads(Path(report_path).read_text())
    rows = {name: {k: e.get(k) for k in ("p_at_1", "p_at_5", "spearman")} for name, e in report["evaluation"].items()}
    first = next(iter(report["evaluation"].values()))
    summary = {"command": command, "wall_seconds": wall_seconds, "n_images": report["probe"]["n_images"],
               "estimators": rows, "ceiling": (report.get("ground_truth") or {}).get("ceiling"),
               "random": {"p_at_1": first["random_p_at_k"][0], "p_at_5": first["random_p_at_k"][4]},
               "stages": report["timings"]["stages"]}
    run_summary_path(cfg).write_text(json.dumps(summary, indent=1))


def _f(v) -> str:
    return "-" if v is None else f"{v:.3f}"


def write(cfg, timings: dict) -> None:
    if cfg.version == "3.0":
        from zoo.build.docs3 import write as write_3

        return write_3(cfg, timings)
    if cfg.version != "1.0":
        from zoo.build.docs2 import write as write_2

        return write_2(cfg, timings)
    paths, MODELS, TARGETS, SPLITS = cfg.files, cfg.models, cfg.targets, cfg.splits
    RUN_SUMMARY = run_summary_path(cfg)
    lines = ["# mini-taskonomy: the embedded default zoo", ""]
    lines += [
        "A miniature [Taskonomy](http://taskonomy.stanford.edu/) trained here, on CPU, on the deterministic synthetic",
        "indoor scenes of `probes/synthetic` (32x32 pixels), with a ground truth measured by transfer learning.",
        "Everything is rebuilt by one command (resumable: finished models, features and measurements are kept):",
        "",
        "```",
        ".venv/bin/python -m zoo.build --version 1.0   # all stages: data train cards transfer affinity docs",
        ".venv/bin/python -m zoo.build --version 1.0 --only transfer affinity docs",
        ".venv/bin/python -m zoo.build --version 1.0 --force   # redo everything",
        "```",
        "",
        "Intermediate files (rendered data, checkpoints, features, raw measurements) go to `zoo/.cache/` (not shipped).",
        "",
        "## Models",
        "",
        "| id | task | framework | exporter | encoder / architecture | group | training data | test loss |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for spec in MODELS:
        record = json.loads((paths.records / f"{spec.id}.json").read_text()) if (paths.records / f"{spec.id}.json").exists() else {}
        losses = ", ".join(f"{v:.4f}" for v in record.get("test_loss", {}).values())
        enc = "Keras Taskonomy-style" if spec.framework == "tensorflow" else spec.encoder
        style = SPLITS[spec.split][0]
        lines.append(f"| `{spec.id}` | {spec.task} | {spec.framework} | {spec.exporter} | {enc} | {spec.group} | {style} | {losses} |")
    lines += [
        "",
        f"{len(MODELS)} models; the {len(TARGETS)} `taskonomy` models are the ground truth's targets. Every model maps a",
        "3x32x32 RGB image in [0, 1] to an **8x8x8 bottleneck** (its card's `probe_layer`, the encoder's last 1x1 conv),",
        "read by a task head: a dense decoder (conv3x3-ReLU, two stride-2 transposed convs) for pixel tasks, a pooled MLP",
        "head (avgpool 2x2, flatten, FC64-ReLU-FC) for classification/vector tasks. Encoders: `taskonomy` (3 conv-BN-ReLU),",
        "`mobilenet` (depthwise-separable, ReLU6), `resnet` (wider, residual basic blocks); the Keras models use the",
        "Taskonomy-style encoder in NHWC (tf2onnx keeps the NHWC input and TF names, e.g. `.../bottleneck_1/BiasAdd`).",
        "Two-headed models list both ONNX outputs in `heads`. Test losses (L1 for dense regression, except MSE for the",
        "sparse curvature and edge3d targets, on which L1 collapses to predicting zeros; cross-entropy for classes; MSE",
        "for vectors) are on 500 held-out indoor scenes.",
        "",
        f"Training: Adam, lr {cfg.lr} with cosine decay, {cfg.steps} steps of batch {cfg.batch} "
        "(Keras: the same number of samples with `fit`), one torch/TF thread, seeded per model.",
        "Data seeds: " + "; ".join(f"{name} {style} seeds {first}..{first + n - 1}" for name, (style, first, n, _) in SPLITS.items())
        + " (probe sets start at 10,000,000).",
        "",
        "## Build time per stage (this machine: 2 shared CPU cores, no GPU)",
        "",
        "| stage | seconds |",
        "|---|---|",
    ]
    for stage in ("data", "train", "cards", "transfer", "affinity"):
        if stage in timings:
            lines.append(f"| {stage} | {timings[stage]:.0f} |")
    if timings:
        lines.append(f"| **total** | **{sum(v for k, v in timings.items() if k in ('data', 'train', 'cards', 'transfer', 'affinity')):.0f}** |")
    lines += [
        "",
        "Wall time of the run that did the work (a resumed stage keeps its earlier time), measured by",
        "`python -m zoo.build --version 1.0 --force` (everything from scratch); the machine was shared with other jobs, so times vary.",
        "Training and head fitting use one torch thread: on the shared 2-core machine two threads were ~7x *slower*.",
        "The transfer stage runs its two seeds in two processes (one thread each).",
        "",
        "## Ground truth: measured transfer",
        "",
        f"For every ordered pair (source, target), source = any of the {len(MODELS)} zoo models, target = one of the",
        f"{len(TARGETS)} single-task Taskonomy-style models (its task), the source's encoder is frozen up to its probe",
        "layer; its bottleneck features are computed once per source with onnxruntime from the shipped ONNX file (clean",
        "RGB, or the target task's corrupted input for denoise / colorization / inpainting). A transfer head is trained",
        f"on {cfg.n_train} images (a seeded subset of a 2400-image pool, indoor seeds 2,000,000..) and the target's test loss",
        "is measured on 500 held-out images (seeds 3,000,000..). Features are standardised per channel; heads: for pixel",
        "tasks a fixed small decoder conv3x3(8->16)-ReLU, conv1x1(16->16C), PixelShuffle(4); for vector/class tasks the",
        f"target models' pooled MLP head; Adam lr {cfg.head_lr} cosine, {cfg.head_steps} steps of batch {cfg.head_batch}.",
        "Baselines per target: `random` (a frozen, randomly initialised Taskonomy encoder + the same head) and `scratch`",
        f"(Taskonomy encoder + head trained end to end on the same {cfg.n_train} images, {cfg.scratch_steps} steps).",
        "",
        "Affinity formula:",
        "",
        "```",
        "Per seed and target t" + AFFINITY_DOC.split("Per seed and target t", 1)[1].rstrip().replace("\n\n", "\n"),
        "```",
        "",
        "Files: `ground_truth/affinity.csv` (seed 1), `ground_truth/affinity_seed2.csv` (seed 2: other head init and",
        "other training subset), `ground_truth/transfer_losses.csv` (every raw test loss with its baselines),",
        "`ground_truth/agreement.json`. Rows with source `random` are the baseline (affinity 0); the harness ignores them.",
        "",
    ]
    agree_path = paths.ground_truth / "agreement.json"
    if agree_path.exists():
        a = json.loads(agree_path.read_text())
        ci = a.get("spearman_ci")
        lines += [
            "### Seed-to-seed agreement (the ceiling an estimator can reach)",
            "",
            f"`harness.evaluation.agreement(seed 2, seed 1)` over the {len(MODELS)} models: mean per-target Spearman "
            f"**{a['spearman']:.3f}**" + (f" (95% CI {ci[0]:.2f}..{ci[1]:.2f})" if ci else "")
            + f", Kendall {_f(a.get('kendall'))}, P@1 **{_f(a.get('p_at_1'))}**, P@5 **{_f(a.get('p_at_5'))}**.",
            "",
            f"The target's own model is its best source for {a['own_model_top1']} of {a['targets']} targets and in the top 3 for "
            f"{a['own_model_top3']} (seed 1); the best source is a model trained on the target's task (the target itself, or "
            f"its other-architecture / other-framework / multi-task versions) for {a['same_task_top1']} of {a['targets']}. "
            "Own-model rank per target: " + ", ".join(f"{k} {v}" for k, v in a["own_model_rank"].items()) + ".",
            "",
        ]
    lines += [
        "## Known limitations",
        "",
        "- `class_object` (class of the largest visible object) is barely learnable at 32x32: both the PyTorch and the",
        "  Keras model stay near the class-prior cross-entropy (~1.07 nats; longer training overfits), and every",
        "  transfer loss for this target is close to chance, so its ground-truth column is the noisiest (seed-to-seed",
        "  Spearman ~0.7) and its own model ranks low for it.",
        "- segment2d / segment25d are not in the zoo: their ids are defined only up to permutation, so a per-pixel",
        "  cross-entropy is not a meaningful loss for them.",
        "- Cards refer to `../models/<id>.onnx`: a card used on its own (`harness import zoo/cards/<id>.yaml`) finds",
        "  its zoo through the zoo.yaml above it, so the path stays inside the zoo.",
        "",
        '## Zoos 2.0 and 3.0 (the default since 2026-12-07)',
        '',
        'This page describes zoo **1.0**, kept as the zoo version `zoo/zoo-1.0.yaml` (run it with',
        '`harness run --zoo zoo/zoo-1.0.yaml`; compare it with the others by `harness compare`). Its build is',
        '`python -m zoo.build --version 1.0`. The default zoo `zoo/zoo.yaml` is mini-taskonomy 3.0 (PyTorch and Keras',
        'encoders at 64 and 32 px), built by `python -m zoo.build` into `models-3.0/`, `cards-3.0/`, `ground_truth-3.0/`;',
        'see [BUILD-3.0.md](BUILD-3.0.md). Zoo 2.0 (`zoo/zoo-2.0.yaml`, [BUILD-2.0.md](BUILD-2.0.md)) was the default',
        'from 2026-11-22 to 2026-12-07.',
        "",
    ]
    if RUN_SUMMARY.exists():
        r = json.loads(RUN_SUMMARY.read_text())
        lines += [
            "## `harness run` on this zoo",
            "",
            f"`{r['command']}`: {r['wall_seconds']:.0f} s wall ({r['n_images']} probe images).",
            "",
            "| estimator | P@1 | P@5 | mean Spearman |",
            "|---|---|---|---|",
            f"| random | {_f(r['random']['p_at_1'])} | {_f(r['random']['p_at_5'])} | 0 |",
        ]
        if r.get("ceiling"):
            c = r["ceiling"]
            lines.append(f"| ceiling (seed 2 vs seed 1) | {_f(c['p_at_1'])} | {_f(c['p_at_5'])} | {_f(c['spearman'])} |")
        for name, e in r["estimators"].items():
            lines.append(f"| {name} | {_f(e['p_at_1'])} | {_f(e['p_at_5'])} | {_f(e['spearman'])} |")
        lines += ["", "Stages (s): " + ", ".join(f"{k} {v:.1f}" for k, v in r["stages"].items()), ""]
    paths.build_md.write_text("\n".join(lines) + "\n")
