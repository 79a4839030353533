"""zoo/BUILD-3.0.md: design, progress, times, ground truth (with the per-target "worse than random" breakdown
against zoo 2.0), classifier accuracies and the layer-selection ground truth of zoo 3.0."""

from __future__ import annotations

import csv
import json

from zoo.build.accuracy import classifier_accuracy
from zoo.build.docs2 import _agreement_lines, loss_text
from zoo.build.families import FAMILY_TEXT
from zoo.build.specs import AUX_3, FAMILIES_3, STEPS_3
from zoo.build.train import records
from zoo.build.transfer import pending, read_source


def _breakdown_lines(cfg, summary: dict) -> list[str]:
    """Per target: sources below their own family's random encoder, beside zoo 2.0's (when its ground truth is there)."""
    from zoo.build.config import V2

    before_path = V2.files.ground_truth / "agreement.json"
    before = json.loads(before_path.read_text()).get("below_same_family_by_target", {}) if before_path.exists() else {}
    now = summary["below_same_family_by_target"]
    lines = ["| target | below own-family random, 3.0 | zoo 2.0 |", "|---|---|---|"]
    for target, v in sorted(now.items(), key=lambda kv: -kv[1]["below"] / kv[1]["of"]):
        old = before.get(target)
        lines.append(f"| {target} | {v['below']:.1f} / {v['of']} | " + (f"{old['below']:.1f} / {old['of']}" if old else "-") + " |")
    total = sum(v["below"] for v in now.values()), sum(v["of"] for v in now.values())
    lines.append(f"| **all** | **{total[0]:.1f} / {total[1]} ({total[0] / total[1]:.1%})** | "
                 + (f"{sum(v['below'] for v in before.values()):.1f} / {sum(v['of'] for v in before.values())}" if before else "-")
                 + " |")
    return lines + ["", "(mean of the two seeds; a source's own target is left out.)", ""]


def _layer_seconds(cfg) -> list[float]:
    """Training seconds of every layer measurement (the raw file in the cache; a fresh checkout has none)."""
    from zoo.build.layer_truth import PLANS

    raw = PLANS[cfg.version].raw if cfg.version in PLANS else None
    if raw is None or not raw.exists():
        return []
    with raw.open(newline="") as fh:
        return [float(r["seconds"]) for r in csv.DictReader(fh) if r.get("seconds")]


def _layer_lines(cfg) -> list[str]:
    """Each case's best layer seed by seed, and the ceiling as the harness's benchmark computes it."""
    from harness.analyses.select_layer.evaluate import load_layer_truth, seed_agreement

    path = cfg.files.ground_truth / "layers.csv"
    if not path.exists():
        return ["Not measured yet (`python -m zoo.build --version 3.0 --only layers`).", ""]
    lines = ["| source | target | budget | best layer, seed by seed | seeds agree |", "|---|---|---|---|---|"]
    agree = []
    for (source, target, budget), per_layer in load_layer_truth(path).items():
        seeds = sorted(set.intersection(*(set(v) for v in per_layer.values())))
        best = [min(per_layer, key=lambda layer, s=s: per_layer[layer][s]) for s in seeds]
        short = [b.split("/")[2] if b.count("/") >= 2 else b for b in best]
        ceiling = seed_agreement(per_layer, list(per_layer))
        if ceiling is not None:
            agree.append(ceiling)
        lines.append(f"| `{source}` | `{target}` | {budget} | {', '.join(short)} | {'-' if ceiling is None else f'{ceiling:.2f}'} |")
    if agree:
        lines += ["", f"Two-seed agreement on the best layer (the ceiling of P@1), mean over {len(agree)} cases: "
                  f"**{sum(agree) / len(agree):.2f}**.", ""]
    return lines


def write(cfg, timings: dict) -> None:
    files = cfg.files
    recs = records(cfg)
    trained = [m for m in cfg.models if m.id in recs and (files.models / f"{m.id}.onnx").exists()]
    measured = [s for s in cfg.sources if not pending(cfg, s)] if files.probe_info.exists() else []
    n_keras = sum(m.framework == "tensorflow" for m in cfg.models)
    n_small = sum(cfg.model_size(m) != cfg.size for m in cfg.models)
    lines = [
        "# mini-taskonomy 3.0",
        "",
        f"{len(cfg.tasks)} Taskonomy-style tasks on synthetic `layout` scenes, each trained on two of five encoder families "
        f"across two frameworks and two input sizes: {len(cfg.models)} models, {n_keras} of them Keras (tf2onnx), "
        f"{n_small} at 32 px. Zoo file `zoo/{files.zoo_file.name}`" + (" (the default zoo since 2026-12-07; zoo 2.0 "
        "stays available as `zoo/zoo-2.0.yaml`)" if files.zoo_file.name == "zoo.yaml" else "") + ". Why this design: "
        "[BUILD-3.0-pilots.md](BUILD-3.0-pilots.md).",
        "",
        "## Build, and resume",
        "",
        "```",
        "nohup nice -n 2 .venv/bin/python -m zoo.build --version 3.0 > zoo3-build.log 2>&1 &",
        "zoo/build/checkpoint_commits.sh $! 900 3.0 &   # commit the resumable state every 15 min",
        ".venv/bin/python -m zoo.build --version 3.0 --status",
        "```",
        "",
        f"The same command resumes: a model is done when `{files.records.relative_to(files.root)}/<id>.json` and "
        f"`{files.models.relative_to(files.root)}/<id>.onnx` exist; transfer measurements are appended per (seed, target) to "
        f"`{files.transfer.relative_to(files.root)}/<source>.csv`; the layer ground truth grows one (pair, layer) at a time in "
        f"`{files.ground_truth.relative_to(files.root)}/layers.csv`. All of them are committed, so a build can span sessions.",
        "",
        "## Progress",
        "",
        f"Models trained and exported: **{len(trained)} / {len(cfg.models)}**; transfer sources fully measured: "
        f"**{len(measured)} / {len(cfg.sources)}**."
        + (" Ground truth: written." if (files.ground_truth / "agreement.json").exists() else " Ground truth: not yet."),
        "",
        "## Design",
        "",
        "- Scenes: renderer style `layout` (`probes/synthetic/styles.py`): five room types (hall, corridor, storeroom, "
        "gallery, nook) told apart by room shape, ceiling height and the number and mix of objects; palette and "
        "textures drawn independently of the room type; the first object of every class alike and larger. The "
        "harness's probe set for this zoo is `synthetic-layout`.",
        f"- Every model but the autoencoder also learns {', '.join(AUX_3)} through a training-only decoder "
        f"(loss weight {cfg.aux_weight}), not exported: its features keep appearance information.",
        "- Families (all end in the same nonlinear neck, a **16x8x8 bottleneck** = the cards' probe layer; 32-px "
        "models see the 64-px scenes area-downsampled, as the harness resizes probes, with a first stride of 1):",
    ]
    for key, framework, size in FAMILIES_3:
        base = key.removeprefix("keras-")
        lines.append(f"  - `{key}` ({framework}, {size} px): {FAMILY_TEXT[base]}"
                     + (" (Keras: NHWC, padding 'same', glorot init)" if framework == "tensorflow" else ""))
    lines += [
        "- Task i is trained on families i mod 5 (the ground truth's target, id = task) and i+1 mod 5 (its twin, id = "
        "`<task>-<family>`); two-headed multi-task models complete the sources.",
        f"- Training: Adam lr {cfg.lr} cosine, {cfg.steps} steps of batch {cfg.batch} ("
        + ", ".join(f"{t}: {s}" for t, s in STEPS_3.items()) + "); "
        + "; ".join(f"{n}: {style} seeds {first}..{first + k - 1}" for n, (style, first, k, _) in cfg.splits.items()) + ".",
        f"- Ground truth: as zoo 2.0 (a fresh head on {cfg.n_train} images of frozen probe-layer features, two seeds); "
        f"baselines: a frozen random encoder of every family ({', '.join(cfg.random_sources)}), fed at its family's "
        f"size, and `scratch`. The affinity's zero is `{cfg.primary_random}`.",
        "",
    ]
    agree = files.ground_truth / "agreement.json"
    if agree.exists():
        summary = json.loads(agree.read_text())
        lines += ["## Ground truth", ""] + _agreement_lines(summary, "Full build")
        if "below_same_family_by_target" in summary:
            lines += ["### Worse than the random encoder of the source's own family, per target", ""]
            lines += _breakdown_lines(cfg, summary)
    accuracy = classifier_accuracy(cfg)
    if accuracy:
        lines += ["## Classifiers: learned?", "", "| model | task | test accuracy | majority class |", "|---|---|---|---|"]
        lines += [f"| `{k}` | {v['task']} | {v['accuracy']:.3f} | {v['majority']:.3f} |" for k, v in accuracy.items()]
        lines.append("")
    lines += ["## Layer-selection ground truth", ""] + _layer_lines(cfg)
    lines += ["## Times (2 shared CPU cores, one thread per process)", ""]
    if recs:
        for framework in ("pytorch", "tensorflow"):
            secs = [r["seconds"] for m in cfg.models if m.framework == framework and (r := recs.get(m.id))]
            if secs:
                lines.append(f"Training, {framework}: {len(secs)} models, mean {sum(secs) / len(secs):.0f} s each "
                             f"(min {min(secs):.0f}, max {max(secs):.0f}).")
    if files.probe_info.exists():
        heads = [float(r["seconds"]) for s in cfg.sources for r in read_source(cfg, s) if s != "scratch"]
        if heads:
            lines.append(f"Transfer heads: {len(heads)} measured (scratch aside), mean {sum(heads) / len(heads):.2f} s each, "
                         f"{sum(heads):.0f} s in all (one process each; the build runs --jobs of them at once).")
    layer_secs = _layer_seconds(cfg)
    if layer_secs:
        lines.append(f"Layer ground truth: {len(layer_secs)} measurements, {sum(layer_secs):.0f} s of training in all (one "
                     "process each; features not counted).")
    if timings:
        lines.append("Stage wall times (s): " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()) + " (a stage resumed "
                     "from an interrupted run counts the runs that recorded a time; the per-measurement sums above count all).")
    lines += ["", "## Models", "", "| id | task | family | framework | px | group | test loss |", "|---|---|---|---|---|---|---|"]
    for m in cfg.models:
        lines.append(f"| `{m.id}` | {m.task} | {m.encoder} | {m.framework} | {cfg.model_size(m)} | {m.group} | "
                     f"{loss_text(recs.get(m.id, {}))} |")
    files.build_md.write_text("\n".join(lines) + "\n")
