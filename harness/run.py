"""``harness run``: zoo x probe set -> artifacts -> affinities -> evaluation -> report.

The stages follow the data flow of the design: import every model (with parity), probe it
(attribution maps + features), reduce all models' artifacts with every estimator, rank,
evaluate against ground truth when there is one, build the task trees, and write the
report files atomically at the very end, so an interrupted run writes nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from harness import __version__
from harness.attribution import METHODS
from harness.errors import HarnessError
from harness.estimators import ESTIMATORS, EstimatorParams, estimate, rank_sources
from harness.evaluation import agreement, evaluate, load_ground_truth, task_tree
from harness import budget
from harness.artifacts import ModelArtifacts
from harness.cache import ArtifactCache, default_cache_dir
from harness.cache.key import cache_key, key_parts, probe_fingerprint
from harness.cache.stage import StageJob, StageResult, gallery_maps, load_artifacts
from harness.executor import EXECUTORS, make_executor
from harness.registry import did_you_mean
from harness.mapgrid import GRID_RULE, estimate_on_grids, resolved_grid
from harness.options import DEFAULT_METHODS
from harness.probing import ProbeSettings
from harness.report.atomic import write_all_atomic
from harness.report.document import SCHEMA_VERSION, dumps
from harness.report.environment import environment
from harness.report.format import ci_suffix
from harness.report.format import num as _fmt
from harness.report.html import Gallery, html_files
from harness.report.markdown import render_markdown
from harness.zoo import Zoo, default_zoo_dir, load_zoo
from harness.probes import DEFAULT_PROBE, ProbeRequest, load_probe

#: What each non-map estimator needs besides features.
ESTIMATOR_NEEDS = {"depara": ("gradxinput",), "rsa": ()}


@dataclass(frozen=True)
class RunConfig:
    zoo: Path
    out: Path
    probe: str
    n_images: int | None
    seed: int
    methods: tuple[str, ...]
    estimators: tuple[str, ...]
    ground_truth: Path | None = None
    probe_size: int | None = None
    device: str = "auto"
    depara_lambda: float = 0.25
    n_boot: int = 1000
    settings: ProbeSettings = field(default_factory=lambda: ProbeSettings(methods=DEFAULT_METHODS))
    cache_dir: Path | None = None  # None: the platform's user cache dir (see harness.cache.location)
    use_cache: bool = True  # False: a throwaway cache folder, deleted after the run
    executor: str = "local"
    ray_address: str | None = None
    max_memory: int | None = None  # bytes; None: 75% of physical memory


def _positive(name: str, value: int | None) -> None:
    if value is not None and value <= 0:
        raise HarnessError(f"option {name}: expected a positive number, got {value}")


def config_from_args(args: argparse.Namespace) -> RunConfig:
    zoo_dir = (args.zoo or default_zoo_dir()).resolve()
    for name in ("images", "batch_size", "map_size", "probe_size", "ig_steps", "max_feature_units", "bootstrap"):
        _positive("--" + name.replace("_", "-"), getattr(args, name))
    methods = tuple(dict.fromkeys(args.methods or DEFAULT_METHODS))
    for method in methods:
        METHODS.get(method)  # did-you-mean error for unknown names
    estimators = tuple(dict.fromkeys(args.estimators or default_estimators(methods)))
    for name in estimators:
        ESTIMATORS.get(name)
        needed = ESTIMATOR_NEEDS.get(name, (name,))
        missing = [m for m in needed if m not in methods]
        if missing:
            raise HarnessError(f"estimator {name!r} needs attribution method(s) {', '.join(missing)}: add them to --methods")
    settings = ProbeSettings(methods=methods, map_size=args.map_size, batch_size=args.batch_size,
                             max_feature_units=args.max_feature_units, ig_steps=args.ig_steps)
    if getattr(args, "no_cache", False) and getattr(args, "cache", None) is not None:
        raise HarnessError("options --cache and --no-cache contradict each other: give one of them")
    max_memory = getattr(args, "max_memory", None)
    executor = getattr(args, "executor", "local") or "local"
    if executor not in EXECUTORS:
        raise HarnessError("option --executor: " + did_you_mean(executor, list(EXECUTORS), "executor"))
    if getattr(args, "ray_address", None) and executor != "ray":
        raise HarnessError("option --ray-address needs --executor ray")
    return RunConfig(
        zoo=zoo_dir, out=args.out, probe=args.probe, n_images=args.images, seed=args.seed, methods=methods,
        estimators=estimators, ground_truth=args.ground_truth, probe_size=args.probe_size, device=args.device,
        depara_lambda=args.depara_lambda, n_boot=args.bootstrap, settings=settings,
        cache_dir=getattr(args, "cache", None), use_cache=not getattr(args, "no_cache", False),
        executor=executor, ray_address=getattr(args, "ray_address", None),
        max_memory=budget.parse_size(max_memory) if max_memory is not None else None,
    )


def default_estimators(methods: tuple[str, ...]) -> list[str]:
    names = [m for m in methods if m in ESTIMATORS]
    if "gradxinput" in methods:
        names.append("depara")
    return names + ["rsa"]


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise HarnessError(f"option --device: unknown device {name!r}; use auto, cpu or cuda") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise HarnessError("option --device: CUDA is not available on this machine; use --device cpu")
    return device


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TimeRemainingColumn(), console=console, transient=False,
    )


@dataclass
class RunResult:
    config: RunConfig
    report: dict
    markdown: str
    gallery: dict[str, dict[str, np.ndarray]]  # model -> method -> (g, H, W) full-resolution maps
    gallery_images: np.ndarray | None = None  # the first probe images, for the HTML report's gallery


def execute(config: RunConfig, console: Console | None = None) -> RunResult:
    """Run every stage and return the report (nothing is written here)."""
    console = console or Console(quiet=True)
    timings: dict[str, float] = {}
    tick = time.perf_counter()
    zoo = load_zoo(config.zoo)
    device = pick_device(config.device)
    probe_size = config.probe_size or max(max(c.input.size) for c in zoo.cards)
    probe_name = config.probe or zoo.probe or DEFAULT_PROBE
    with console.status(f"loading probe set {probe_name} ..."):
        probe = load_probe(probe_name, ProbeRequest(n_images=config.n_images, seed=config.seed, size=probe_size))
    if probe.n_images < 2:
        raise HarnessError(f"probe set {probe_name!r}: {probe.n_images} usable image(s); the estimators need at least 2")
    timings["probe_set"] = time.perf_counter() - tick

    budget.check(probe.n_images, config.settings.max_feature_units, config.estimators,
                 config.max_memory or budget.default_limit())

    with open_cache(config) as cache:
        results = probe_models(zoo, probe, config, device, cache, console)
        per_model = {c.id: results[c.id].seconds for c in zoo.cards}
        for stage in ("import", "attribution", "features"):
            timings[stage] = sum(t.get(stage, 0.0) for t in per_model.values())

        tick = time.perf_counter()
        native = [load_artifacts(cache.open_verified_earlier(results[c.id].key), c) for c in zoo.cards]
        grid = resolved_grid([a.map_shape for a in native if a.map_shape], config.settings.map_size)
        params = EstimatorParams(depara_lambda=config.depara_lambda)
        affinities = {name: estimate_on_grids(name, native, params, config.settings.map_size,
                                              uses_maps=bool(ESTIMATOR_NEEDS.get(name, (name,))))
                      for name in config.estimators}
        timings["estimators"] = time.perf_counter() - tick
        gallery = {a.model_id: gallery_maps(a, config.settings.gallery_images) for a in native}
    models_info = [_model_entry(c, results[c.id].record) for c in zoo.cards]

    tick = time.perf_counter()
    ids = [c.id for c in zoo.cards]
    rankings = {name: rank_sources(a.matrix, ids) for name, a in affinities.items()}
    trees = {name: task_tree(a.matrix, ids) for name, a in affinities.items()}
    evaluation, ground_truth_info = evaluate_all(zoo, affinities, ids, config)
    timings["evaluation"] = time.perf_counter() - tick

    report = {
        "schema_version": SCHEMA_VERSION,
        "harness_version": __version__,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "zoo": {
            "name": zoo.name, "version": zoo.version, "description": zoo.description,
            "cards": {c.id: c.content_hash() for c in zoo.cards},
        },
        "probe": {
            "name": probe.name, "source": probe.source, "n_images": probe.n_images, "sha256": probe.sha256(),
            "skipped_unreadable": probe.skipped, "size": probe_size, "seed": config.seed, **probe.details,
        },
        "parameters": _parameters(config, device),
        # the resolved resolution maps were compared at (the policy, map_size, is a parameter; see harness.mapgrid)
        "map_grid": list(grid) if isinstance(grid, tuple) else grid,
        "models": models_info,
        "estimators": {name: {"models": list(a.model_ids), "affinity": a.matrix} for name, a in affinities.items()},
        "rankings": rankings,
        "scores": {name: _ranked_scores(a.matrix, ids, rankings[name]) for name, a in affinities.items()},
        "ground_truth": ground_truth_info,
        "evaluation": evaluation,
        "tree": {name: tree.newick for name, tree in trees.items()},
        "tree_text": {name: tree.text for name, tree in trees.items()},
        "tree_leaf_order": {name: list(tree.leaf_order) for name, tree in trees.items()},
        "environment": environment(device),
        "timings": {"stages": timings, "per_model": per_model, "total": sum(timings.values()), "executor": config.executor},
        "cache": cache_summary(config, results, [c.id for c in zoo.cards]),
    }
    return RunResult(config, report, render_markdown(report), gallery, probe.images[: config.settings.gallery_images])


@contextmanager
def open_cache(config: RunConfig):
    """The run's artifact cache; with --no-cache a temporary one, removed afterwards."""
    if config.use_cache:
        yield ArtifactCache(Path(config.cache_dir or default_cache_dir()).expanduser().resolve())
        return
    if config.executor == "ray" and config.ray_address:
        raise HarnessError("option --no-cache cannot be used with --ray-address: the cluster's workers write into the "
                           "cache; pass --cache DIR on a filesystem every node sees")
    with tempfile.TemporaryDirectory(prefix="harness-nocache-") as tmp:
        yield ArtifactCache(Path(tmp))


def stage_settings(config: RunConfig) -> ProbeSettings:
    """What the per-model stage computes with: maps stay native (resampled when read), no gallery copy."""
    return replace(config.settings, map_size=None, gallery_images=0)


def plan_jobs(zoo: Zoo, probe, config: RunConfig, device: torch.device, cache: ArtifactCache) -> list[StageJob]:
    """One job per card, with its cache key."""
    probe_sha = probe_fingerprint(probe.images, probe.ids)
    settings = stage_settings(config)
    jobs = []
    for card in zoo.cards:
        parts = key_parts(card, probe_sha, settings, device.type)
        jobs.append(StageJob(card, cache_key(parts), parts, settings, str(device), str(cache.root)))
    return jobs


def probe_models(zoo: Zoo, probe, config: RunConfig, device: torch.device, cache: ArtifactCache,
                 console: Console) -> dict[str, StageResult]:
    """Run the per-model stage for every card (cached, on the chosen executor), with progress bars."""
    jobs = plan_jobs(zoo, probe, config, device, cache)
    executor = make_executor(config.executor, config.ray_address)
    with _progress(console) as progress:
        overall = progress.add_task("models", total=len(jobs))
        bars: dict[str, int] = {}

        def started(job: StageJob):
            bars[job.key] = progress.add_task(f"  {job.card.id}", total=probe.n_images)
            return lambda n, b=bars[job.key]: progress.advance(b, n)

        def finished(result: StageResult) -> None:
            progress.update(bars[result.key], visible=False)
            progress.advance(overall)

        results = executor.run(jobs, probe, started, finished)
    return {r.model_id: r for r in results}


def cache_summary(config: RunConfig, results: dict[str, StageResult], ids: list[str]) -> dict:
    """Which models came from the cache (hit), were probed (miss), or replaced a corrupt entry."""
    status = {i: ("hit" if results[i].from_cache else "miss") for i in ids}
    return {
        "enabled": config.use_cache,
        "dir": str(Path(config.cache_dir or default_cache_dir()).expanduser()) if config.use_cache else None,
        "hits": sum(v == "hit" for v in status.values()),
        "misses": sum(v == "miss" for v in status.values()),
        "corrupt_recomputed": {i: results[i].status.split(": ", 1)[1] for i in ids if results[i].status.startswith("corrupt")},
        "models": status,
        "keys": {i: results[i].key for i in ids},
    }


def evaluate_all(zoo: Zoo, affinities: dict, ids: list[str], config: RunConfig) -> tuple[dict, dict | None]:
    """Every estimator against the ground truth (if any), and the ceiling from a repeat measurement."""
    gt_path = config.ground_truth or zoo.ground_truth
    if gt_path is None:
        return {}, None
    gt = load_ground_truth(gt_path, dict(zoo.aliases))
    evaluation = {name: evaluate(a.matrix, ids, gt, n_boot=config.n_boot, seed=config.seed) for name, a in affinities.items()}
    info: dict = {"path": _relative(gt_path, zoo.root), "ceiling": None}
    if zoo.ground_truth_repeat is not None and config.ground_truth is None:
        repeat = load_ground_truth(zoo.ground_truth_repeat, dict(zoo.aliases))
        ceiling = agreement(repeat, gt, model_ids=ids, n_boot=config.n_boot, seed=config.seed)
        info["ceiling"] = {k: ceiling[k] for k in ("p_at_k", "r_at_k", "spearman", "kendall", "p_at_1", "p_at_5", "spearman_ci", "p_at_5_ci")}
        info["repeat_path"] = _relative(zoo.ground_truth_repeat, zoo.root)
    return evaluation, info


def _ranked_scores(matrix, ids: list[str], ranking: dict[str, list[str]]) -> dict[str, list[float]]:
    """For every target, the affinities of its ranked sources, in ranking order."""
    index = {model_id: i for i, model_id in enumerate(ids)}
    return {t: [float(matrix[index[s], index[t]]) for s in ranking[t]] for t in ids}


def _relative(path: Path, root: Path) -> str:
    path = Path(path).resolve()
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


def _parameters(config: RunConfig, device: torch.device) -> dict:
    settings = asdict(config.settings)
    settings.pop("gallery_images")
    return {
        **settings,
        "methods": list(config.methods),
        "estimators": list(config.estimators),
        "depara_lambda": config.depara_lambda,
        "bootstrap": config.n_boot,
        "map_resampling": "channel mean; compared at map_grid: " + GRID_RULE + "; area (shrink) / bilinear (enlarge)",
        "features": "probe-layer output flattened; 4-D maps wider than max_feature_units are spatially average-pooled",
        "target": "sum of the probe layer's output unless a card says otherwise",
        "device_type": device.type,
    }


def _model_entry(card, record: dict) -> dict:
    return {
        "id": card.id,
        "task": card.task,
        "framework": card.framework,
        "architecture": card.architecture,
        "training_data": card.training_data,
        "group": card.group,
        "input_size": list(card.input.size),
        "input_layout": card.input.layout,
        "probe_layer": card.probe_layer,
        "probe_tensor": record["probe_tensor"],
        "probe_shape": record["probe_shape"],
        "attribution_target": {"kind": card.target.kind, "output": card.target.output, "unit": card.target.unit},
        "feature_units": record["feature_units"],
        "features_pooled": record["features_pooled"],
        "parity_max_abs_err": record["parity_max_abs_err"],
        "parity_max_rel_err": record["parity_max_rel_err"],
        "parity_provider": record["parity_provider"],
    }


def output_dir(config: RunConfig, report: dict) -> Path:
    if config.out is not None:
        return config.out
    zoo = report["zoo"]
    return Path("runs") / f"{zoo['name']}-{zoo['version']}"


def write_report(result: RunResult, out: Path) -> list[Path]:
    gallery = Gallery(result.gallery_images, result.gallery)
    files = {"report.md": result.markdown.encode(), **html_files(result.report, gallery), "report.json": dumps(result.report)}
    write_all_atomic(out, files, last="report.json")
    return [out / name for name in files if "/" not in name]  # figures/*.png not listed one by one


def summary_table(report: dict) -> Table:
    table = Table(title=f"{report['zoo']['name']} {report['zoo']['version']}: {len(report['models'])} models, "
                        f"{report['probe']['n_images']} probe images ({report['probe']['name']})")
    table.add_column("estimator")
    for column in ("P@1", "P@5", "mean Spearman [95% CI]"):
        table.add_column(column, justify="right")
    evaluation = report["evaluation"]
    first = next(iter(evaluation.values()), None)
    if first:
        k5 = min(5, len(first["random_p_at_k"])) - 1
        table.add_row("random", f"{first['random_p_at_k'][0]:.3f}", f"{first['random_p_at_k'][k5]:.3f}", "0")
        table.add_row("oracle", f"{first['oracle_p_at_k'][0]:.3f}", f"{first['oracle_p_at_k'][k5]:.3f}", "1")
        ceiling = (report.get("ground_truth") or {}).get("ceiling")
        if ceiling:
            table.add_row("ceiling (repeat)", _fmt(ceiling["p_at_1"]), _fmt(ceiling["p_at_5"]), _ci(ceiling["spearman"], ceiling.get("spearman_ci")))
    for name in report["estimators"]:
        if name in evaluation:
            e = evaluation[name]
            table.add_row(name, _fmt(e["p_at_1"]), _fmt(e["p_at_5"]), _ci(e["spearman"], e.get("spearman_ci")))
        else:
            table.add_row(name, "–", "–", "–")
    return table


def _ci(value, ci) -> str:
    return _fmt(value) + ci_suffix(ci)


def timing_table(report: dict) -> Table:
    table = Table(title="time per stage")
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    for stage, seconds in report["timings"]["stages"].items():
        table.add_row(stage, f"{seconds:.1f}")
    return table


def run_from_args(args: argparse.Namespace, console: Console) -> int:
    config = config_from_args(args)
    result = execute(config, console)
    out = output_dir(config, result.report)
    files = write_report(result, out)
    console.print(summary_table(result.report))
    console.print(timing_table(result.report))
    console.print(f"wrote {', '.join(str(f) for f in files)}")
    return 0
