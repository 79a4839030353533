"""The seed papers' claims, confirmed or refuted on a zoo, with confidence intervals.

    .venv/bin/python benchmarks/findings.py                   # embedded zoo -> docs/findings.md
    .venv/bin/python benchmarks/findings.py --zoo DIR --out docs/findings-2.0.md

Probes every model of the zoo on the zoo's probe set (400 images; the first 200 are exactly
the default run's probe set) and on the second scene style (200 images), with saliency,
gradient*input and epsilon-LRP under every named attribution target, then writes one
Markdown page with, for every claim, the numbers, the random baseline and the ceiling (the
agreement of the two ground-truth measurements) beside them, and a verdict by a stated rule.
Per-model artifacts are cached in ``--cache`` (keyed by card hash, probe set and settings),
so an interrupted run resumes and a re-run only rewrites the page.

All CIs are 95% percentile bootstraps over the zoo's targets; differences are paired (one
resampling of targets shared by both estimators).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
from scipy.cluster.hierarchy import fcluster
from scipy.special import comb

from harness.probing.artifacts import ModelArtifacts, rows_of
from harness.attribution import map_key
from harness.compare.stats import affinity_correlation
from harness.estimators import EstimatorParams
from harness.estimators.grid import estimate_on_grids
from harness.evaluation import agreement, evaluate, load_ground_truth, task_tree
from harness.evaluation.bootstrap import bootstrap_indices, nanmean
from harness.model.importer import import_card
from harness.probes import ProbeRequest, load_probe, sample_indices
from harness.probing.loop import ProbeSettings, probe_model
from harness.common.atomic import write_all_atomic
from harness.model.zoo import default_zoo_dir, load_zoo

import torch

TARGETS = ("sum", "energy", "sqnorm", "l1")
METHODS = ("saliency", "gradxinput", "elrp")
MAIN_IMAGES, MAX_IMAGES, SIZES = 200, 400, (25, 50, 100, 200, 400)
OTHER_PROBE = "synthetic-studio"
#: Taskonomy's task groups (room_layout / vanishing_point, "low-dimensional geometric", are left out).
GROUPS = {
    "3D": ("rgb2depth", "rgb2mist", "rgb2sfnorm", "reshade", "curvature", "edge3d", "keypoint3d"),
    "2D": ("autoencoder", "denoise", "colorization", "inpainting", "edge2d", "keypoint2d"),
    "semantic": ("class_object", "class_scene", "segmentsemantic"),
}
SAME = 0.05  # |difference| below which two estimators count as "about equal"


def configure(targets: tuple[str, ...], max_images: int, sizes: tuple[int, ...]) -> None:
    """Smaller runs for a quick look (the page states what it used)."""
    global TARGETS, MAX_IMAGES, MAIN_IMAGES, SIZES
    TARGETS, MAX_IMAGES, MAIN_IMAGES = targets, max_images, max_images // 2
    SIZES = tuple(sorted({*(n for n in sizes if n <= max_images), max_images}))


def estimator_names() -> list[str]:
    names = [map_key(m, t) for t in TARGETS for m in (*METHODS, "depara")]
    return names + ["depara_edge", "rsa"]


# ---------------------------------------------------------------- probing (cached)
def probe_all(zoo, probe_name: str, n: int, cache: Path) -> list[ModelArtifacts]:
    size = max(max(c.input.size) for c in zoo.cards)
    probe = load_probe(probe_name, ProbeRequest(n_images=n, seed=0, size=size))
    settings = ProbeSettings(methods=METHODS, targets=TARGETS, gallery_images=0)
    out = []
    computed = 0
    for card in zoo.cards:
        key = hashlib.sha256(json.dumps([card.content_hash(), probe.sha256(), asdict(settings)], sort_keys=True).encode())
        path = cache / f"{probe_name}-{n}" / f"{card.id}-{key.hexdigest()[:16]}.npz"
        if not path.exists():
            tick = time.perf_counter()
            art = probe_model(import_card(card), probe, settings, torch.device("cpu")).artifacts
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npz")
            np.savez(tmp, features=art.features, pooled=art.features_pooled, map_shape=np.asarray(art.map_shape or (), dtype=np.int64),
                     **{f"map:{k}": v for k, v in art.maps.items()})
            tmp.replace(path)
            computed += 1
            print(f"  {probe_name}-{n} {card.id}: {time.perf_counter() - tick:.0f} s", file=sys.stderr, flush=True)
        with np.load(path) as data:
            maps = {k[4:]: data[k] for k in data.files if k.startswith("map:")}
            # entries written before the map shape was stored: the card's input size, the resolution maps are kept at
            shape = tuple(int(v) for v in data["map_shape"]) if "map_shape" in data.files else tuple(card.input.size)
            out.append(ModelArtifacts(card.id, card.task, maps=maps, features=data["features"], features_pooled=bool(data["pooled"]),
                                      map_shape=shape or None))
    PROBED[probe_name] = (computed, len(zoo.cards))
    return out


#: probe set -> (models probed by this run, models in the zoo); the rest came from the cache.
PROBED: dict[str, tuple[int, int]] = {}


def rows(arts: list[ModelArtifacts], idx: np.ndarray) -> list[ModelArtifacts]:
    return [rows_of(a, idx) for a in arts]


# ---------------------------------------------------------------- statistics
def per_target(ev: dict, key: str = "spearman") -> np.ndarray:
    return np.array([np.nan if ev["per_target"][t][key] is None else ev["per_target"][t][key] for t in ev["targets"]])


def paired(ev_a: dict, ev_b: dict, n_boot: int, key: str = "spearman") -> tuple[float, float, float]:
    """Mean over targets of (a - b) and its paired 95% bootstrap CI."""
    diff = per_target(ev_a, key) - per_target(ev_b, key)
    idx = bootstrap_indices(len(diff), n_boot, 0)
    boots = np.array([nanmean(diff[i]) for i in idx])
    return nanmean(diff), float(np.nanpercentile(boots, 2.5)), float(np.nanpercentile(boots, 97.5))


def ari(a, b) -> float:
    """Adjusted Rand index of two labelings (Hubert & Arabie)."""
    _, ia = np.unique(a, return_inverse=True)
    _, ib = np.unique(b, return_inverse=True)
    table = np.zeros((ia.max() + 1, ib.max() + 1))
    np.add.at(table, (ia, ib), 1)
    pairs = comb(table, 2).sum()
    rows_, cols = comb(table.sum(1), 2).sum(), comb(table.sum(0), 2).sum()
    expected = rows_ * cols / comb(len(ia), 2)
    top = (rows_ + cols) / 2
    return float((pairs - expected) / (top - expected)) if top != expected else 0.0


def tree_ari(matrix: np.ndarray, ids: list[str]) -> float:
    models = [m for g in GROUPS.values() for m in g]
    keep = [ids.index(m) for m in models]
    tree = task_tree(matrix[np.ix_(keep, keep)], models)
    clusters = fcluster(tree.linkage, t=len(GROUPS), criterion="maxclust")
    truth = [g for g, members in GROUPS.items() for _ in members]
    return ari(clusters, truth)


# ---------------------------------------------------------------- formatting
def f(x, digits: int = 3) -> str:
    return "–" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{x:.{digits}f}".replace("-", "−")


def ci(ev: dict, key: str = "spearman") -> str:
    lo, hi = ev.get(f"{key}_ci") or (None, None)
    return f"{f(ev[key])} [{f(lo, 2)}, {f(hi, 2)}]"


def diff_text(d: tuple[float, float, float]) -> str:
    return f"{'+' if d[0] >= 0 else ''}{f(d[0])} [{f(d[1], 2)}, {f(d[2], 2)}]"


# ---------------------------------------------------------------- the page
#: Start of the section that benchmarks/field_table.py maintains at the end of the findings page.
FIELD_MARKER = "<!-- field_table.py -->"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--zoo", type=Path, default=None)
    p.add_argument("--out", type=Path, default=Path("docs/findings.md"))
    p.add_argument("--cache", type=Path, default=Path("runs/findings-cache"))
    p.add_argument("--n-boot", type=int, default=2000)
    p.add_argument("--targets", nargs="+", default=list(TARGETS), help="attribution targets (first: the seeds' sum)")
    p.add_argument("--max-images", type=int, default=MAX_IMAGES,
                   help="probe images of the zoo's probe set; the first half is the main set, the second the fresh same-domain set")
    p.add_argument("--sizes", nargs="+", type=int, default=list(SIZES), help="probe sizes for claim 4 (the largest = --max-images)")
    args = p.parse_args(argv)
    configure(tuple(args.targets), args.max_images, tuple(args.sizes))
    tick = time.perf_counter()
    zoo = load_zoo((args.zoo or default_zoo_dir()).resolve())
    ids = [c.id for c in zoo.cards]
    gt = load_ground_truth(zoo.ground_truth, dict(zoo.aliases))
    ceiling = agreement(load_ground_truth(zoo.ground_truth_repeat, dict(zoo.aliases)), gt, model_ids=ids, n_boot=args.n_boot)
    main_probe = zoo.probe or "synthetic-indoor"
    here, there = main_probe.removeprefix("synthetic-"), OTHER_PROBE.removeprefix("synthetic-")  # scene styles, for the text
    own = probe_all(zoo, main_probe, MAX_IMAGES, args.cache)
    studio = probe_all(zoo, OTHER_PROBE, MAIN_IMAGES, args.cache)
    half = SIZES[-2] if len(SIZES) > 1 else MAX_IMAGES
    names = estimator_names()
    params = EstimatorParams()

    def run(arts):
        # maps of models with different input sizes are compared per pair, at the smaller grid, as `harness run` does
        mats = {e: np.asarray(estimate_on_grids(e, arts, params, None).matrix)
                for e in names}
        return mats, {e: evaluate(m, ids, gt, n_boot=args.n_boot, seed=0) for e, m in mats.items()}

    main_mats, main_ev = run(rows(own, np.arange(0, MAIN_IMAGES)))
    fresh_mats, fresh_ev = run(rows(own, np.arange(MAIN_IMAGES, MAX_IMAGES)))
    studio_mats, studio_ev = run(studio)
    sized = {n: run(rows(own, sample_indices(MAX_IMAGES, n, 0))) for n in SIZES}
    first = next(iter(main_ev.values()))
    rnd_p1, rnd_p5 = first["random_p_at_k"][0], first["random_p_at_k"][4]
    lines = [f"# Findings on {zoo.name} {zoo.version}", "",
             f"Regenerate: `.venv/bin/python benchmarks/findings.py {' '.join(argv if argv is not None else sys.argv[1:])}` "
             f"(writes this page; per-model probing is cached in `{args.cache}`; this page: targets {' '.join(TARGETS)}, "
             f"{MAX_IMAGES} {here} images). {len(ids)} models, "
             f"{first['n_targets']} ground-truth targets, probe set {main_probe} (first "
             f"{MAIN_IMAGES} images = the default run's). 95% CIs: percentile bootstrap over targets ({args.n_boot} "
             "resamples); differences are paired over targets. Random baseline: mean Spearman 0, "
             f"P@1 {f(rnd_p1)}, P@5 {f(rnd_p5)}. Ceiling (the two ground-truth seeds' agreement): mean Spearman "
             f"{ci(ceiling)}, P@1 {f(ceiling['p_at_1'])}, P@5 {f(ceiling['p_at_5'])}.", ""]

    lines += ["## Every estimator under every attribution target", "",
              "Mean per-target Spearman [95% CI] against the measured ground truth (P@5 in brackets below). "
              "`sum` is the seeds' target; `depara` is the seed's V/1000 + 0.25·E; `depara_edge` and `rsa` read "
              "features only.", "",
              "| estimator | " + " | ".join(TARGETS) + " |", "|---|" + "---|" * len(TARGETS),
              "| random | " + " | ".join(["0"] * len(TARGETS)) + " |",
              "| ceiling | " + " | ".join([ci(ceiling)] * len(TARGETS)) + " |"]
    for m in (*METHODS, "depara"):
        cells = [f"{ci(main_ev[map_key(m, t)])} (P@5 {f(main_ev[map_key(m, t)]['p_at_5'])})" for t in TARGETS]
        lines.append(f"| {m} | " + " | ".join(cells) + " |")
    for e in ("depara_edge", "rsa"):
        lines.append(f"| {e} | {ci(main_ev[e])} (P@5 {f(main_ev[e]['p_at_5'])}) |" + " (reads no maps) |" * (len(TARGETS) - 1))
    lines.append("")

    # Claim 1
    lines += ["## Claim 1: ε-LRP ≈ gradient*input > saliency", "",
              f"Rule: ≈ holds when the paired 95% CI of the difference lies within ±{SAME}; > holds when it excludes 0 "
              "on the positive side.", "",
              "| target | elrp | gradxinput | saliency | elrp − gradxinput | gradxinput − saliency | verdict |",
              "|---|---|---|---|---|---|---|"]
    for t in TARGETS:
        e, g, s = (main_ev[map_key(m, t)] for m in ("elrp", "gradxinput", "saliency"))
        d1, d2 = paired(e, g, args.n_boot), paired(g, s, args.n_boot)
        ok1, ok2 = -SAME < d1[1] and d1[2] < SAME, d2[1] > 0
        verdict = "confirmed" if ok1 and ok2 else ("≈ holds, > refuted" if ok1 else "refuted")
        lines.append(f"| {t} | {ci(e)} | {ci(g)} | {ci(s)} | {diff_text(d1)} | {diff_text(d2)} | {verdict} |")
    lines.append("")

    # Claim 2
    lines += ["## Claim 2: DEPARA > attribution maps alone", "",
              "Rule: confirmed when the paired CI of depara − gradxinput (same target) excludes 0 on the positive side. "
              "`depara − depara_edge` shows what the node term V adds to the seed's computation.", "",
              "| target | depara | gradxinput | depara − gradxinput | depara − depara_edge | verdict |", "|---|---|---|---|---|---|"]
    for t in TARGETS:
        dep, g = main_ev[map_key("depara", t)], main_ev[map_key("gradxinput", t)]
        d, de = paired(dep, g, args.n_boot), paired(dep, main_ev["depara_edge"], args.n_boot)
        lines.append(f"| {t} | {ci(dep)} | {ci(g)} | {diff_text(d)} | {diff_text(de)} | {'confirmed' if d[1] > 0 else 'refuted'} |")
    lines.append("")

    # Claim 3
    lines += ["## Claim 3: the probe set barely matters", "",
              f"Affinities from {MAIN_IMAGES} {OTHER_PROBE} images against the {MAIN_IMAGES} default {here} images "
              f"(Spearman over off-diagonal affinities; 1 = identical ordering), beside the same statistic for {MAIN_IMAGES} "
              f"*fresh* {here} images (same domain: the sampling-noise reference); and mean Spearman against the ground "
              f"truth on each. Rule: barely matters when the cross-domain affinity Spearman is within {SAME} of the "
              "same-domain one and the paired CI of the ground-truth change includes 0.", "",
              f"| estimator | affinity ρ {there} vs {here} | affinity ρ fresh {here} vs {here} | GT Spearman {here} | "
              f"GT Spearman {there} | {there} − {here} | verdict |", "|---|---|---|---|---|---|---|"]
    for e in names:
        cross = affinity_correlation(studio_mats[e], main_mats[e])["spearman"]
        same = affinity_correlation(fresh_mats[e], main_mats[e])["spearman"]
        d = paired(studio_ev[e], main_ev[e], args.n_boot)
        ok = cross >= same - SAME and d[1] <= 0 <= d[2]
        lines.append(f"| {e} | {f(cross)} | {f(same)} | {ci(main_ev[e])} | {ci(studio_ev[e])} | {diff_text(d)} | "
                     f"{'confirmed' if ok else 'refuted'} |")
    lines.append("")

    # Claim 4
    ref_mats, ref_ev = sized[MAX_IMAGES]
    lines += ["## Claim 4: a few hundred images suffice", "",
              f"Seeded random subsets of the {MAX_IMAGES} {here} images. Per size: affinity Spearman against the "
              f"{MAX_IMAGES}-image affinities / mean Spearman against the ground truth. Rule: confirmed when at {half} images "
              f"the paired CI of the ground-truth Spearman change against {MAX_IMAGES} lies within ±{SAME}.", "",
              "| estimator | " + " | ".join(f"{n} images" for n in SIZES) + f" | {half} − {MAX_IMAGES} | verdict |",
              "|---|" + "---|" * (len(SIZES) + 2)]
    for e in names:
        cells = [f"{f(affinity_correlation(sized[n][0][e], ref_mats[e])['spearman'])} / {f(sized[n][1][e]['spearman'])}"
                 for n in SIZES]
        d = paired(sized[half][1][e], ref_ev[e], args.n_boot)
        lines.append(f"| {e} | " + " | ".join(cells) + f" | {diff_text(d)} | {'confirmed' if -SAME < d[1] and d[2] < SAME else 'refuted'} |")
    lines.append("")

    # Claim 5
    gt_models = [m for g in GROUPS.values() for m in g]
    gt_mat = gt.submatrix(ids, ids)
    rep = load_ground_truth(zoo.ground_truth_repeat, dict(zoo.aliases)).submatrix(ids, ids)
    rng = np.random.default_rng(0)
    truth = [g for g, members in GROUPS.items() for _ in members]
    null = np.array([ari(rng.permutation(truth), truth) for _ in range(2000)])
    null_hi = float(np.percentile(null, 95))
    lines += ["## Claim 5: the task tree recovers the 3D / 2D / semantic groups", "",
              f"Single-linkage tree with optimal leaf ordering (the report's) on the {len(gt_models)} Taskonomy-style models "
              f"of those groups, cut into {len(GROUPS)} clusters, scored by the adjusted Rand index against the groups "
              f"({', '.join(f'{g}: {len(m)}' for g, m in GROUPS.items())}; room_layout and vanishing_point, Taskonomy's "
              "'geometric' group, left out). Random baseline: ARI of a random grouping, mean "
              f"{f(float(null.mean()))}, 95th percentile {f(null_hi)}. Ceiling: the tree of the measured ground truth "
              f"itself, ARI {f(tree_ari(np.nan_to_num(gt_mat), ids))} (repeat seed: {f(tree_ari(np.nan_to_num(rep), ids))}). "
              "Rule: recovered when the ARI exceeds the random 95th percentile. No CI: a tree is not an average over targets.", "",
              "| estimator | ARI | verdict |", "|---|---|---|"]
    for e in names:
        a = tree_ari(main_mats[e], ids)
        lines.append(f"| {e} | {f(a)} | {'recovered' if a > null_hi else 'not recovered'} |")
    probed = ", ".join(f"{name}: {done} of {total} models probed, the rest read from the cache" for name, (done, total) in PROBED.items())
    lines += ["", f"_Generated in {time.perf_counter() - tick:.0f} s ({probed})._", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    old = args.out.read_text() if args.out.is_file() else ""
    if FIELD_MARKER in old:  # the section benchmarks/field_table.py writes survives a regeneration of this page
        lines += ["", old[old.index(FIELD_MARKER):].rstrip("\n")]
    write_all_atomic(args.out.parent, {args.out.name: "\n".join(lines).encode()}, last=args.out.name)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
