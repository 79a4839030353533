"""zoo/BUILD-2.0.md: design, progress (how far a resumable build got), times and ground truth of zoo 2.0."""

from __future__ import annotations

import json

from zoo.build.affinity import __doc__ as AFFINITY_DOC
from zoo.build.families import FAMILY_TEXT, NECK
from zoo.build.train import records
from zoo.build.transfer import pending, read_source



def loss_text(record: dict) -> str:
    """A training record's test losses for a models table (one per head), or that it is not trained yet."""
    return ", ".join(f"{v:.4f}" for v in record.get("test_loss", {}).values()) or "not trained yet"

def _f(v) -> str:
    return "-" if v is None else f"{v:.3f}"


def _agreement_lines(a: dict, what: str) -> list[str]:
    ci = a.get("spearman_ci")
    worse = a.get("worse_than", {})
    return [
        f"{what}: seed-to-seed agreement (the ceiling) over {a['sources']} sources: mean per-target Spearman "
        f"**{_f(a['spearman'])}**" + (f" (95% CI {ci[0]:.2f}..{ci[1]:.2f})" if ci else "")
        + f", Kendall {_f(a.get('kendall'))}, P@1 {_f(a.get('p_at_1'))}, P@5 {_f(a.get('p_at_5'))}.",
        f"Pairs (zoo model, target) worse than the random baseline `{a['random_baseline']}`: "
        f"**{a['worse_than_random']:.1%}** (mean of the two seeds); worse than "
        + ", ".join(f"`{k}` {v:.1%}" for k, v in worse.items()) + ".",
        f"Own model is the best source for {a['own_model_top1']} of {a['targets']} targets (top 3: {a['own_model_top3']}); "
        f"a model of the target's task is the best source for {a['same_task_top1']}.",
        "",
    ]


def write(cfg, timings: dict) -> None:
    files = cfg.files
    recs = records(cfg)
    trained = [m for m in cfg.models if m.id in recs and (files.models / f"{m.id}.onnx").exists()]
    measured = [s for s in cfg.sources if files.probe_info.exists() and not pending(cfg, s)] if files.probe_info.exists() else []
    lines = [
        "# mini-taskonomy 2.0",
        "",
        f"A zoo where transfer is a real signal: {len(cfg.tasks)} Taskonomy-style tasks at {cfg.size}x{cfg.size} px, each "
        f"trained on two of four encoder families, {len(cfg.models)} models, ground truth measured by transfer. "
        "Zoo file `zoo/zoo-2.0.yaml`: the default zoo from 2026-11-22 to 2026-12-07, when mini-taskonomy 3.0 "
        "([BUILD-3.0.md](BUILD-3.0.md)) replaced it as `zoo/zoo.yaml`; run it with `harness run --zoo zoo/zoo-2.0.yaml` "
        "(zoo 1.0 stays available as `zoo/zoo-1.0.yaml`, see [BUILD.md](BUILD.md)).",
        "",
        "## Build, and resume",
        "",
        "```",
        "cd <checkout> && nohup nice -n 19 .venv/bin/python -m zoo.build --version 2.0 > zoo2-build.log 2>&1 &",
        ".venv/bin/python -m zoo.build --only affinity --partial   # progress check on the sources measured so far",
        "```",
        "",
        "The same command resumes: rendered data (`zoo/.cache/2.0/data`, ~2 min to redo) is cached; a model is done when",
        f"`{files.records.relative_to(files.root)}/<id>.json` and `{files.models.relative_to(files.root)}/<id>.onnx` exist (a kill loses the",
        f"models in training); transfer measurements are appended per (seed, target) to `{files.transfer.relative_to(files.root)}/<source>.csv`",
        "(a kill loses one head). Those files are committed, so a build can span sessions: commit them, check out, rerun.",
        "`--jobs N` (default 2) processes with one torch thread each; `--smoke DIR` builds a toy copy for tests.",
        "",
        "## Progress",
        "",
        f"Models trained and exported: **{len(trained)} / {len(cfg.models)}**; transfer sources fully measured: "
        f"**{len(measured)} / {len(cfg.sources)}** (both seeds, every target)."
        + (" Ground truth: written." if (files.ground_truth / "agreement.json").exists() else " Ground truth: not yet."),
        "",
        "## Design",
        "",
        f"- Input {cfg.size}x{cfg.size} RGB in [0, 1]; every encoder ends in the same nonlinear neck (conv1x1-BN-ReLU to 32,",
        f"  conv1x1-BN-ReLU to {NECK}) giving a **{NECK}x8x8 bottleneck** = the cards' probe layer. Why: zoo 1.0's linear",
        "  8x8x8 bottleneck after 3 convs (receptive field 15 px) let a frozen random encoder keep most pixel information,",
        "  so 52% of pairs transferred worse than random. Deeper encoders (receptive field >= 50 px, global for the ViT)",
        "  and a two-layer nonlinear neck are meant to keep little a small head can decode when random, and what the task",
        "  needs when trained. A pilot (`python -m zoo.build.pilot`, 150-step models) found random encoders still strong",
        "  for low-level and classification targets: check `--only affinity --partial` early.",
        "- Families:",
    ]
    for name, text in FAMILY_TEXT.items():
        lines.append(f"  - `{name}`: {text}")
    lines += [
        "- Task i is trained on families i mod 4 (the ground truth's target, id = task) and i+1 mod 4 (its twin,",
        "  id = `<task>-<family>`); two-headed multi-task models complete the sources.",
        f"- Training: Adam lr {cfg.lr} cosine, {cfg.steps} steps of batch {cfg.batch}, "
        + "; ".join(f"{n}: {style} seeds {first}..{first + k - 1}" for n, (style, first, k, _) in cfg.splits.items()) + ".",
        f"- Ground truth: frozen encoder (ONNX, probe tensor), features standardised per channel, a fresh head trained on "
        f"{cfg.n_train} images of the transfer pool ({cfg.head_steps} Adam steps of batch {cfg.head_batch}, lr {cfg.head_lr}); "
        "pixel tasks: conv3x3(16->32)-ReLU, conv1x1 to 64C, PixelShuffle(8); vector/class tasks: avgpool2-FC64-FC. Test loss on "
        f"the test split; two seeds (other head init, other training subset). Baselines: frozen random encoders of every "
        f"family ({', '.join(cfg.random_sources)}; a new one per seed) and `scratch` ({cfg.scratch_encoder} encoder + head "
        f"trained end to end, {cfg.scratch_steps} steps). The affinity's zero is `{cfg.primary_random}` (fixed before measuring).",
        "",
        "```",
        "Per seed and target t" + AFFINITY_DOC.split("Per seed and target t", 1)[1].rstrip().replace("\n\n", "\n"),
        "```",
        "",
    ]
    agree = files.ground_truth / "agreement.json"
    partial = files.state / "partial_ground_truth" / "agreement.json"
    if agree.exists():
        lines += ["## Ground truth", ""] + _agreement_lines(json.loads(agree.read_text()), "Full build")
    elif partial.exists():
        lines += ["## Ground truth so far (partial)", ""] + _agreement_lines(json.loads(partial.read_text()), "Sources measured so far")
    lines += ["## Times (2 shared CPU cores, one torch thread per process)", ""]
    if recs:
        train_s = [r["seconds"] for r in recs.values()]
        lines.append(f"Training: {len(train_s)} models, mean {sum(train_s) / len(train_s):.0f} s each "
                     f"(min {min(train_s):.0f}, max {max(train_s):.0f}), {sum(train_s):.0f} s in all.")
    if files.probe_info.exists():
        heads = [float(r["seconds"]) for s in cfg.sources for r in read_source(cfg, s) if s != "scratch"]
        scratch = [float(r["seconds"]) for r in read_source(cfg, "scratch")]
        if heads:
            lines.append(f"Transfer heads: {len(heads)} measured, mean {sum(heads) / len(heads):.2f} s each.")
        if scratch:
            lines.append(f"Scratch baselines: {len(scratch)} measured, mean {sum(scratch) / len(scratch):.0f} s each.")
    if timings:
        lines.append("Stage wall times (s): " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()) + ".")
    lines += ["", "## Models", "", "| id | task | encoder | group | params | test loss |", "|---|---|---|---|---|---|"]
    for m in cfg.models:
        r = recs.get(m.id, {})
        lines.append(f"| `{m.id}` | {m.task} | {m.encoder} | {m.group} | {r.get('params', '-')} | {loss_text(r)} |")
    files.build_md.write_text("\n".join(lines) + "\n")
