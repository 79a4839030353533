"""Stage "affinity": transfer losses -> transfer-affinity matrices, agreement of the two seeds.

Per seed and target t (with loss L(s, t) = target test loss after training a transfer head on
the frozen encoder of source s), the affinity is

    a(s, t) = (L_random(t) - L(s, t)) / (L_random(t) - L_best(t))

with L_random the loss on a frozen randomly initialised Taskonomy encoder and L_best the lowest
loss of any zoo model for t: 1 = the best source, 0 = no better than a random encoder, < 0 =
worse than random. If no source beats the random encoder (L_best >= L_random), the denominator
is the spread max_s L - min_s L instead (still a positive scale, so ranks are unchanged).
"""

from __future__ import annotations

import csv
import json

import numpy as np

from harness.evaluation import agreement, load_ground_truth
from zoo.build import paths
from zoo.build.data import loss_name
from zoo.build.specs import MODELS, TARGETS
from zoo.build.transfer import SEEDS, read_raw

GT_FILES = {1: "affinity.csv", 2: "affinity_seed2.csv"}


def losses(seed: int) -> dict[tuple[str, str], dict]:
    return {(r["source"], r["target"]): r for r in read_raw(seed)}


def affinities(raw: dict[tuple[str, str], dict]) -> dict[tuple[str, str], float]:
    out = {}
    for target in TARGETS:
        t = target.id
        l_src = {m.id: float(raw[(m.id, t)]["test_loss"]) for m in MODELS}
        l_rand = float(raw[("random", t)]["test_loss"])
        l_best = min(l_src.values())
        scale = l_rand - l_best
        if scale <= 1e-12:
            scale = max(l_src.values()) - l_best or 1.0
        for s, loss in l_src.items():
            out[(s, t)] = (l_rand - loss) / scale
        out[("random", t)] = 0.0
    return out


def run() -> dict:
    paths.ensure()
    rows = []
    for seed in SEEDS:
        raw = losses(seed)
        aff = affinities(raw)
        with (paths.GROUND_TRUTH / GT_FILES[seed]).open("w", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["source", "target", "affinity"])
            for target in TARGETS:
                for source in [m.id for m in MODELS] + ["random"]:
                    writer.writerow([source, target.id, f"{aff[(source, target.id)]:.6f}"])
        for target in TARGETS:
            t = target.id
            task = target.tasks[0]
            best = min(float(raw[(m.id, t)]["test_loss"]) for m in MODELS)
            for source in [m.id for m in MODELS] + ["random", "scratch"]:
                r = raw[(source, t)]
                rows.append({
                    "seed": seed, "source": source, "target": t, "task": task,
                    "loss": loss_name(task), "test_loss": r["test_loss"],
                    "random_encoder_loss": raw[("random", t)]["test_loss"], "scratch_loss": raw[("scratch", t)]["test_loss"],
                    "best_source_loss": f"{best:.6g}",
                    "affinity": f"{aff[(source, t)]:.6f}" if (source, t) in aff else "",
                    "seconds": r["seconds"],
                })
    with (paths.GROUND_TRUTH / "transfer_losses.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    ids = [m.id for m in MODELS]
    gt1 = load_ground_truth(paths.GROUND_TRUTH / GT_FILES[1])
    gt2 = load_ground_truth(paths.GROUND_TRUTH / GT_FILES[2])
    agree = agreement(gt2, gt1, model_ids=ids, n_boot=1000, seed=0)
    summary = {k: agree[k] for k in ("spearman", "kendall", "p_at_1", "p_at_5", "spearman_ci", "p_at_5_ci") if k in agree}
    summary.update(self_check(gt1), seconds_head=sum(float(r["seconds"]) for r in rows))
    (paths.GROUND_TRUTH / "agreement.json").write_text(json.dumps(_plain(summary), indent=1) + "\n")
    return summary


def self_check(gt) -> dict:
    """How often a target's own model is its best source (rank 1 among all zoo models)."""
    ranks, best, same_task = {}, {}, 0
    ids = [m.id for m in MODELS]
    tasks = {m.id: m.tasks for m in MODELS}
    for target in TARGETS:
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
