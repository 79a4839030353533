"""Stage "affinity": transfer losses -> transfer-affinity matrices, agreement of the two seeds.

Per seed and target t (with loss L(s, t) = target test loss after training a transfer head on
the frozen encoder of source s), the affinity is

    a(s, t) = (L_random(t) - L(s, t)) / (L_random(t) - L_best(t))

with L_random the loss on a frozen randomly initialised encoder (1.0: the Taskonomy encoder; 2.0: the
plain-CNN family, chosen before any measurement) and L_best the lowest
loss of any zoo model for t: 1 = the best source, 0 = no better than a random encoder, < 0 =
worse than random. If no source beats the random encoder (L_best >= L_random), the denominator
is the spread max_s L - min_s L instead (still a positive scale, so ranks are unchanged).
"""

from __future__ import annotations

import csv
import json

import numpy as np

from harness.evaluation import agreement, load_ground_truth
from zoo.build.data import loss_name
from zoo.build.transfer import read_raw

GT_FILES = {1: "affinity.csv", 2: "affinity_seed2.csv"}


def affinities(cfg, raw: dict[tuple[str, str], dict], sources: list[str] | None = None) -> dict[tuple[str, str], float]:
    """Affinity of every (source, target) of one seed; ``sources``: the zoo models to rank (default all)."""
    ids = sources if sources is not None else [m.id for m in cfg.models]
    out = {}
    for target in cfg.targets:
        t = target.id
        l_src = {s: float(raw[(s, t)]["test_loss"]) for s in ids}
        l_rand = float(raw[(cfg.primary_random, t)]["test_loss"])
        l_best = min(l_src.values())
        scale = l_rand - l_best
        if scale <= 1e-12:
            scale = max(l_src.values()) - l_best or 1.0
        for s, loss in l_src.items():
            out[(s, t)] = (l_rand - loss) / scale
        for r in cfg.random_sources:
            out[(r, t)] = (l_rand - float(raw[(r, t)]["test_loss"])) / scale
    return out


def complete_sources(cfg, raws: dict[int, dict]) -> list[str]:
    """Zoo models measured on every target in every seed (all of them once the build is done)."""
    return [m.id for m in cfg.models
            if all((m.id, t.id) in raws[seed] for seed in cfg.seeds for t in cfg.targets)]


def worse_than_random(cfg, raw: dict, ids: list[str]) -> dict[str, float]:
    """Fraction of (zoo model, target) pairs whose transfer loss is above a random encoder's:
    the primary one (the affinity's zero), each random family, and the best random encoder per target."""
    out = {}
    pairs = [(s, t.id) for s in ids for t in cfg.targets]
    loss = {p: float(raw[p]["test_loss"]) for p in pairs}
    for r in cfg.random_sources:
        out[r] = float(np.mean([loss[(s, t)] > float(raw[(r, t)]["test_loss"]) for s, t in pairs]))
    best = {t.id: min(float(raw[(r, t.id)]["test_loss"]) for r in cfg.random_sources) for t in cfg.targets}
    out["best_random"] = float(np.mean([loss[(s, t)] > best[t] for s, t in pairs]))
    out["scratch"] = float(np.mean([loss[(s, t)] > float(raw[("scratch", t)]["test_loss"]) for s, t in pairs]))
    if len(cfg.random_sources) > 1:  # each source against the random encoder of its own family, off-diagonal pairs
        below = below_same_family(cfg, raw, ids)
        out["same_family"] = sum(map(len, below.values())) / sum(1 for s, t in pairs if s != t)
    return out


def below_same_family(cfg, raw: dict, ids: list[str]) -> dict[str, list[str]]:
    """Per target, the zoo models (off-diagonal) whose transfer loss is above their own family's random encoder's."""
    return {t.id: [s for s in ids if s != t.id
                   and float(raw[(s, t.id)]["test_loss"]) > float(raw[(f"random-{cfg.spec(s).encoder}", t.id)]["test_loss"])]
            for t in cfg.targets}


def run(cfg, partial: bool = False) -> dict:
    """Ground-truth files from the measurements; ``partial``: use the models measured so far (progress check)."""
    files = cfg.files
    files.ensure()
    raws = {seed: read_raw(cfg, seed) for seed in cfg.seeds}
    ids = complete_sources(cfg, raws) if partial else [m.id for m in cfg.models]
    baselines = [*cfg.random_sources, "scratch"]
    missing = [b for b in baselines for seed in cfg.seeds for t in cfg.targets if (b, t.id) not in raws[seed]]
    if missing or len(ids) < 2 or (not partial and len(complete_sources(cfg, raws)) < len(ids)):
        raise SystemExit(f"affinity: not enough measurements yet (baselines missing: {sorted(set(missing)) or 'none'}; "
                         f"complete zoo models: {len(complete_sources(cfg, raws))}/{len(cfg.models)}); run the transfer stage first")
    out_dir = files.ground_truth if not partial else files.state / "partial_ground_truth"
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    worse = {}
    for seed in cfg.seeds:
        raw = raws[seed]
        aff = affinities(cfg, raw, ids)
        worse[seed] = worse_than_random(cfg, raw, ids)
        with (out_dir / GT_FILES[seed]).open("w", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["source", "target", "affinity"])
            for target in cfg.targets:
                for source in ids + list(cfg.random_sources):
                    writer.writerow([source, target.id, f"{aff[(source, target.id)]:.6f}"])
        for target in cfg.targets:
            t = target.id
            task = target.tasks[0]
            best = min(float(raw[(s, t)]["test_loss"]) for s in ids)
            for source in ids + list(cfg.random_sources) + ["scratch"]:
                r = raw[(source, t)]
                rows.append({
                    "seed": seed, "source": source, "target": t, "task": task,
                    "loss": loss_name(task, cfg.l2_tasks), "test_loss": r["test_loss"],
                    "random_encoder_loss": raw[(cfg.primary_random, t)]["test_loss"], "scratch_loss": raw[("scratch", t)]["test_loss"],
                    "best_source_loss": f"{best:.6g}",
                    "affinity": f"{aff[(source, t)]:.6f}" if (source, t) in aff else "",
                    "seconds": r["seconds"],
                })
    with (out_dir / "transfer_losses.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    gt1 = load_ground_truth(out_dir / GT_FILES[cfg.seeds[0]])
    gt2 = load_ground_truth(out_dir / GT_FILES[cfg.seeds[1]])
    agree = agreement(gt2, gt1, model_ids=ids, n_boot=1000, seed=0)
    summary = {k: agree[k] for k in ("spearman", "kendall", "p_at_1", "p_at_5", "spearman_ci", "p_at_5_ci") if k in agree}
    summary["sources"] = len(ids)
    summary["random_baseline"] = cfg.primary_random
    summary["worse_than_random"] = float(np.mean([worse[s][cfg.primary_random] for s in cfg.seeds]))
    summary["worse_than"] = {k: float(np.mean([worse[s][k] for s in cfg.seeds])) for k in worse[cfg.seeds[0]]}
    if "same_family" in summary["worse_than"]:  # per target: how many sources (of the off-diagonal ones), mean of the seeds
        per_seed = [below_same_family(cfg, raws[s], ids) for s in cfg.seeds]
        summary["below_same_family_by_target"] = {
            t.id: {"below": float(np.mean([len(p[t.id]) for p in per_seed])), "of": sum(1 for s in ids if s != t.id)}
            for t in cfg.targets}
    summary.update(self_check(cfg, gt1, ids), seconds_head=sum(float(r["seconds"]) for r in rows))
    (out_dir / "agreement.json").write_text(json.dumps(_plain(summary), indent=1) + "\n")
    return summary


def self_check(cfg, gt, ids: list[str]) -> dict:
    """How often a target's own model is its best source (rank 1 among the zoo models)."""
    ranks, best, same_task = {}, {}, 0
    tasks = {m.id: m.tasks for m in cfg.models}
    for target in cfg.targets:
        if target.id not in ids:
            continue
        col = gt.submatrix(ids, [target.id])[:, 0]
        order = [ids[i] for i in np.argsort(-col, kind="stable")]
        ranks[target.id] = order.index(target.id) + 1
        best[target.id] = order[0]
        same_task += target.tasks[0] in tasks[order[0]]
    return {"own_model_rank": ranks, "best_source": best, "own_model_top1": sum(r == 1 for r in ranks.values()),
            "own_model_top3": sum(r <= 3 for r in ranks.values()), "same_task_top1": same_task, "targets": len(ranks)}


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value
