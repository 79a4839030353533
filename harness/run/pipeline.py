"""``harness run``: zoo x probe set -> artifacts -> affinities -> evaluation -> report.

The stages follow the data flow of the design: import every model (with parity), probe it
(attribution maps + features), reduce all models' artifacts with every estimator, rank,
evaluate against ground truth when there is one, build the task trees, and write the
report files atomically at the very end, so an interrupted run writes nothing.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from harness.common.console import make_console, progress_bar
from harness.attribution import ATTRIBUTION_TARGETS, map_key
from harness.common.errors import HarnessError
from harness.runtime.device import pick_device
from harness.estimators import ESTIMATORS, EstimatorParams, parse_estimator, rank_sources
from harness.estimators.labelled import LABELLED_ESTIMATORS
from harness.estimators.labelled.stage import benchmark_affinities, labelled_target
from harness.evaluation import agreement, zoo_ground_truth, task_tree
from harness.evaluation.stability import stability, stability_line
from harness.evaluation.suite import evaluate_suite
from harness.probing.artifacts import rows_of
from harness.model.size import parameter_count
from harness.analyses.select_layer.command import pair_document, zoo_layer_truth
from harness.runtime import budget
from harness.common.cost import measured
from harness.runtime.cache import ArtifactCache, default_cache_dir
from harness.runtime.cache.store import cache_errors
from harness.runtime.cache.key import cache_key, key_parts, probe_fingerprint
from harness.runtime.stage import StageJob, StageResult, gallery_maps, load_artifacts
from harness.runtime.executor import make_executor
from harness.estimators.grid import estimate_on_grids, resolved_grid
from harness.estimators.reuse import shared_within_run
from harness.runtime.cache.derived import derived_results_in
from harness.runtime.cache.probe_sets import load_probe_kept
from harness.probing.loop import ProbeSettings
from harness.common.atomic import write_all_atomic
from harness.report.document import SCHEMA_VERSION, dumps
from harness.report.environment import environment
from harness.common.format import with_ci as _ci
from harness.common.format import num as _fmt
from harness.report.figure_cache import FigureCache
from harness.report.html import Gallery, html_files
from harness.report.lookup import filled_for_tree
from harness.report.markdown import render_markdown
from harness.report.provenance import file_hashes, provenance
from harness.report.verdict import verdict_line
from harness.model.zoo import Zoo, load_zoo
from harness.probes import DEFAULT_PROBE, ProbeRequest, require_different_images
from harness.run.config import RunConfig, config_from_args
from harness.report.header import document_header


def _progress(console: Console) -> Progress:
    return progress_bar(console, remaining=True, style="bold")


@dataclass
class RunResult:
    config: RunConfig
    report: dict
    markdown: str
    gallery: dict[str, dict[str, np.ndarray]]  # model -> method -> (g, H, W) full-resolution maps
    gallery_images: np.ndarray | None = None  # the first probe images, for the HTML report's gallery


def execute(config: RunConfig, console: Console | None = None, zoo: Zoo | None = None) -> RunResult:
    """Run every stage and return the report (nothing is written here); ``zoo``: ``config.zoo`` as already read."""
    console = console or make_console(quiet=True)
    timings: dict[str, float] = {}
    tick = time.perf_counter()
    zoo = zoo if zoo is not None else load_zoo(config.zoo)
    device = pick_device(config.device)
    probe_size = config.probe_size or max(max(c.input.size) for c in zoo.cards)
    probe_name = config.probe or zoo.probe or DEFAULT_PROBE
    for source, target in config.select_layer:  # unknown ids fail before any model is probed
        zoo.card(source), zoo.card(target)
    kept_root = kept_cache_root(config)  # derived results outlive the run only in a kept cache
    with console.status(f"loading probe set {probe_name} ..."), derived_results_in(kept_root):  # generated sets are kept
        probe = load_probe_kept(probe_name, ProbeRequest(n_images=config.n_images, seed=config.seed, size=probe_size))
    if probe.n_images < 2:
        raise HarnessError(f"probe set {probe_name!r}: {probe.n_images} usable image(s); the estimators need at least 2")
    require_different_images(probe)
    for warning in probe.details.get("warnings", ()):
        console.print(f"warning: {warning}", style="yellow", soft_wrap=True)
    timings["probe_set"] = time.perf_counter() - tick

    if config.stability and not (config.ground_truth or zoo.ground_truth):
        raise HarnessError("option --stability re-scores estimators against a ground truth, and this zoo has none; "
                           "pass --ground-truth CSV or drop --stability")
    budget.check(probe.n_images, config.settings.max_feature_units, config.estimators, budget.memory_limit(config.max_memory),
                 n_models=len(zoo.cards), probe_size=probe_size)

    with open_cache(config) as cache:
        with cache_errors(cache.root):
            results = probe_models(zoo, probe, config, device, cache, console)
        per_model = {c.id: results[c.id].seconds for c in zoo.cards}
        for stage in ("import", "attribution", "features"):
            timings[stage] = sum(t.get(stage, 0.0) for t in per_model.values())

        tick = time.perf_counter()
        native = [load_artifacts(cache.open_verified_earlier(results[c.id].key), c) for c in zoo.cards]
        grid = resolved_grid([a.map_shape for a in native if a.map_shape], config.settings.map_size)
        params = EstimatorParams(depara_lambda=config.depara_lambda)
        affinities, costs = {}, {}
        # depara reuses the gradxinput and depara_edge matrices; per-model vectors are kept across runs
        with shared_within_run(), derived_results_in(kept_root):
            for name in config.estimators:
                with measured() as cost:
                    affinities[name] = estimate_on_grids(name, native, params, config.settings.map_size)
                costs[name] = cost.as_dict()
        timings["estimators"] = time.perf_counter() - tick
        estimator_info = {name: _estimator_info(name) for name in config.estimators}
        labelled_seconds: dict[str, float] = {}
        if config.labelled_benchmark:
            labelled, labelled_costs, label_warnings = benchmark_affinities(native, probe, config.labelled_estimators)
            labelled_seconds = {name: cost["seconds"] for name, cost in labelled_costs.items()}
            for warning in label_warnings:
                console.print(f"warning: {warning}", style="yellow", soft_wrap=True)
            affinities.update(labelled)
            estimator_info.update({name: {"estimator": name, "target": None, "reads_maps": [], "labelled": True,
                                          "description": LABELLED_ESTIMATORS.get(name).description,
                                          "reference": LABELLED_ESTIMATORS.get(name).reference} for name in labelled})
            timings["labelled_estimators"] = sum(labelled_seconds.values())
            costs.update({name: cost for name, cost in labelled_costs.items() if name in labelled})
        labelled_section = labelled_target(native, probe, config.labels, config.labelled_estimators) if config.labels else None
        if config.stability:
            with console.status(f"re-scoring over {config.stability} resampled setups ..."):
                stability_doc = setup_stability(zoo, native, affinities, config, params)
        gallery = {a.model_id: gallery_maps(a, config.settings.gallery_images) for a in native}
    layer_selection = [
        pair_document(zoo, source, target, probe, probe_name, layers=None, depara_lambda=config.depara_lambda,
                      map_size=config.settings.map_size or 32, batch_size=config.settings.batch_size or 32, device=device,
                      seed=config.seed, truth_path=zoo_layer_truth(zoo), console=console)
        for source, target in config.select_layer
    ]
    models_info = [_model_entry(c, results[c.id].record) for c in zoo.cards]

    tick = time.perf_counter()
    ids = [c.id for c in zoo.cards]
    rankings = {name: rank_sources(a.matrix, ids) for name, a in affinities.items()}
    trees = {name: task_tree(a.matrix, ids) for name, a in affinities.items()}
    sizes = {m["id"]: m["parameters"] for m in models_info if m["parameters"] is not None}
    with derived_results_in(kept_root):  # an evaluation whose inputs did not change is read back
        evaluation, static_baselines, ground_truth_info = evaluate_all(zoo, affinities, ids, config, sizes)
    timings["evaluation"] = time.perf_counter() - tick

    env = environment(device)
    report = {
        "schema_version": SCHEMA_VERSION,
        **document_header(zoo=zoo, zoo_description=True, zoo_cards=True),
        "probe": {
            "name": probe.name, "source": probe.source, "n_images": probe.n_images, "sha256": probe.sha256(),
            "skipped_unreadable": probe.skipped, "size": probe_size, "seed": config.seed, **probe.details,
        },
        "parameters": _parameters(config, device),
        # the resolved resolution maps were compared at (the policy, map_size, is a parameter; see harness.estimators.grid)
        "map_grid": list(grid) if isinstance(grid, tuple) else grid,
        "models": models_info,
        "attribution_targets": {t: ATTRIBUTION_TARGETS.get(t).description for t in config.settings.targets},
        "estimator_info": estimator_info,
        "estimators": {name: {"models": list(a.model_ids), "affinity": a.matrix} for name, a in affinities.items()},
        "rankings": rankings,
        "scores": {name: _ranked_scores(a.matrix, ids, rankings[name]) for name, a in affinities.items()},
        "ground_truth": ground_truth_info,
        "evaluation": evaluation,
        "static_baselines": static_baselines,
        # seconds and the resident memory each estimator added at its peak (see harness.common.cost)
        "cost": costs,
        "tree": {name: tree.newick for name, tree in trees.items()},
        "tree_text": {name: tree.text for name, tree in trees.items()},
        "tree_leaf_order": {name: list(tree.leaf_order) for name, tree in trees.items()},
        "environment": env,
        "provenance": provenance(config.argv, _input_hashes(zoo, ground_truth_info, probe), zoo.root, env),
        "timings": {"stages": timings, "per_model": per_model, "total": sum(timings.values()), "executor": config.executor,
                    **({"labelled_estimators": labelled_seconds} if labelled_seconds else {})},
        "cache": cache_summary(config, results, [c.id for c in zoo.cards]),
    }
    if labelled_section is not None:
        report["labelled_target"] = labelled_section
    if config.stability:
        report["stability"] = stability_doc
    if layer_selection:
        report["layer_selection"] = layer_selection
    return RunResult(config, report, render_markdown(report), gallery, probe.images[: config.settings.gallery_images])


def kept_cache_root(config: RunConfig) -> Path | None:
    """The cache folder that outlives the run (artifacts, derived results, figures); None with --no-cache."""
    return Path(config.cache_dir or default_cache_dir()).expanduser().resolve() if config.use_cache else None


@contextmanager
def open_cache(config: RunConfig):
    """The run's artifact cache; with --no-cache a temporary one, removed afterwards."""
    if config.use_cache:
        yield ArtifactCache(kept_cache_root(config))
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
        jobs.append(StageJob(card, cache_key(parts), parts, settings, str(device), str(cache.root),
                             memory_budget=budget.memory_limit(config.max_memory)))
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


def evaluate_all(zoo: Zoo, affinities: dict, ids: list[str], config: RunConfig,
                 sizes: dict[str, int] | None = None) -> tuple[dict, dict, dict | None]:
    """Every estimator and the static baselines against the ground truth (if any), and the
    ceiling from a repeat measurement."""
    gt_path = config.ground_truth or zoo.ground_truth
    if gt_path is None:
        return {}, {}, None
    gt = zoo_ground_truth(zoo, gt_path)
    evaluation, static_baselines = evaluate_suite({name: a.matrix for name, a in affinities.items()}, ids, gt, sizes=sizes,
                                                  n_boot=config.n_boot, seed=config.seed)
    info: dict = {"path": _relative(gt_path, zoo.root), "ceiling": None, **ground_truth_matrix(gt, ids)}
    if zoo.ground_truth_repeat is not None and config.ground_truth is None:
        repeat = zoo_ground_truth(zoo, zoo.ground_truth_repeat)
        ceiling = agreement(repeat, gt, model_ids=ids, n_boot=config.n_boot, seed=config.seed)
        info["ceiling"] = {k: ceiling[k] for k in ("p_at_k", "r_at_k", "spearman", "kendall", "p_at_1", "p_at_5", "spearman_ci", "p_at_5_ci")}
        info["repeat_path"] = _relative(zoo.ground_truth_repeat, zoo.root)
    return evaluation, static_baselines, info


def setup_stability(zoo: Zoo, native: list, affinities: dict, config: RunConfig, params: EstimatorParams) -> dict:
    """``--stability N``: every estimator re-scored over resampled models, targets and probe images.

    Label-free estimators are recomputed on each image subset; labelled ones keep their
    full-probe matrices (their labels would need re-pooling per subset), so for them only
    models and targets are resampled.
    """
    gt = zoo_ground_truth(zoo, config.ground_truth or zoo.ground_truth)
    ids = [a.model_id for a in native]
    label_free = [name for name in affinities if name in config.estimators]

    def reestimate(rows: np.ndarray) -> dict[str, np.ndarray]:
        subset = [rows_of(a, rows) for a in native]
        fresh = {name: estimate_on_grids(name, subset, params, config.settings.map_size).matrix for name in label_free}
        return {name: fresh.get(name, a.matrix) for name, a in affinities.items()}

    return stability({name: a.matrix for name, a in affinities.items()}, ids, gt, setups=config.stability, seed=config.seed,
                     n_images=native[0].n_images if native else None, reestimate=reestimate)


def _estimator_info(name: str) -> dict:
    """What an estimator name means, for renderers: its family, target and the maps it reads."""
    base, target = parse_estimator(name)
    estimator = ESTIMATORS.get(base)
    reads = estimator.reads
    return {"estimator": base, "target": target if reads else None, "reads_maps": [map_key(m, target) for m in reads],
            "description": (estimator.fn.__doc__ or "").strip().splitlines()[0], "reference": estimator.reference}


def below_zero_share(matrix) -> float | None:
    """Share of the measured off-diagonal (source, target) pairs whose ground-truth affinity is below 0: transfer
    worse than the ground truth's zero (in the built-in zoos, a frozen random encoder). A benchmark whose pairs
    are mostly below it ranks estimators on sources that are worse than nothing."""
    m = np.asarray(matrix, dtype=float)
    if m.ndim != 2 or m.shape[0] != m.shape[1]:
        return None
    mask = np.isfinite(m) & ~np.eye(len(m), dtype=bool)
    return float((m[mask] < 0).mean()) if mask.any() else None


def ground_truth_matrix(gt, ids: list[str]) -> dict:
    """The ground truth on the zoo's models (zoo order), its task tree, and the models it lacks.

    Stored in report.json so that the report shows the truth beside every estimate and
    ``compare`` can re-score a report with the same code as ``run`` (harness.evaluation).
    """
    known = set(gt.sources) | set(gt.targets)
    models = [m for m in ids if m in known]
    matrix = gt.submatrix(models, models)
    out: dict = {"models": models, "missing_models": [m for m in ids if m not in known], "affinity": matrix,
                 "tree": None, "tree_leaf_order": None, "below_zero": below_zero_share(matrix)}
    if len(models) >= 2:
        tree = task_tree(filled_for_tree(matrix), models)
        out["tree"], out["tree_leaf_order"] = tree.newick, list(tree.leaf_order)
    return out


def _input_hashes(zoo: Zoo, ground_truth: dict | None, probe) -> dict[str, str]:
    """sha256 of every input: zoo file, cards, ONNX files, ground truth, and the probe set's content."""
    files = [("zoo", zoo.file)]
    for card in zoo.cards:
        files += [("card", card.path), ("onnx", card.onnx)]
    for key in ("path", "repeat_path"):
        if ground_truth and ground_truth.get(key):
            path = Path(ground_truth[key])
            files.append(("ground_truth", path if path.is_absolute() else zoo.root / path))
    hashes = file_hashes(files, zoo.root)
    hashes[f"probe:{probe.name}"] = probe.sha256()
    return hashes


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
    settings.pop("targets")  # in the estimator names (gradxinput@energy) and the report's attribution_targets
    return {
        **settings,
        "methods": list(config.methods),
        "estimators": list(config.estimators),
        "depara_lambda": config.depara_lambda,
        "bootstrap": config.n_boot,
        # Names only (prose lives in harness.report.parameters.NOTES), so compare decides from data.
        "map_resampling": "channel-mean+per-pair-grid+area-or-bilinear",
        "features": "flatten+spatial-mean-pool",
        "target": "card",
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
        "probe_layout": record.get("probe_layout"),
        "parity_max_abs_err": record["parity_max_abs_err"],
        "parity_max_rel_err": record["parity_max_rel_err"],
        "parity_provider": record["parity_provider"],
        "parameters": parameter_count(card.onnx),
        "batch_size": record.get("batch_size"),  # images per pass, and how it was chosen (given / measured)
        "batch_source": record.get("batch_source"),
    }


def output_dir(config: RunConfig, report: dict) -> Path:
    if config.out is not None:
        return config.out
    zoo = report["zoo"]
    return Path("runs") / f"{zoo['name']}-{zoo['version']}"


def write_report(result: RunResult, out: Path) -> list[Path]:
    gallery = Gallery(result.gallery_images, result.gallery)
    # figures drawn from unchanged inputs come from the cache (no figure cache with --no-cache)
    config = result.config
    root = kept_cache_root(config)
    figure_cache = FigureCache(root) if root is not None else None
    document = dumps(result.report)
    # the page is drawn from report.json's own values (rounded as stored), so `harness report` redraws it exactly
    files = {"report.md": result.markdown.encode(), **html_files(json.loads(document), gallery, figure_cache),
             "report.json": document}
    write_all_atomic(out, files, last="report.json")
    if figure_cache is not None:
        figure_cache.bound()
    return [out / name for name in files if "/" not in name]  # figures/*.png not listed one by one


def summary_table(report: dict) -> Table:
    table = Table(title=f"{report['zoo']['name']} {report['zoo']['version']}: {len(report['models'])} models, "
                        f"{report['probe']['n_images']} probe images ({report['probe']['name']})")
    below = (report.get("ground_truth") or {}).get("below_zero")
    if below is not None:
        table.caption = f"ground truth: {below:.1%} of off-diagonal pairs transfer worse than its zero (a random encoder)"
    table.add_column("estimator")
    for column in ("P@1", "P@5", "mean Spearman [95% CI]", "weighted τ", "Δ vs static [95% CI]"):
        table.add_column(column, justify="right")
    evaluation = report["evaluation"]
    first = next(iter(evaluation.values()), None)
    if first:
        k5 = min(5, len(first["random_p_at_k"])) - 1
        table.add_row("random", f"{first['random_p_at_k'][0]:.3f}", f"{first['random_p_at_k'][k5]:.3f}", "0", "0", "")
        table.add_row("oracle", f"{first['oracle_p_at_k'][0]:.3f}", f"{first['oracle_p_at_k'][k5]:.3f}", "1", "1", "")
        ceiling = (report.get("ground_truth") or {}).get("ceiling")
        if ceiling:
            table.add_row("ceiling (repeat)", _fmt(ceiling["p_at_1"]), _fmt(ceiling["p_at_5"]), _ci(ceiling["spearman"], ceiling.get("spearman_ci")),
                          "", "")
        for name, e in (report.get("static_baselines") or {}).items():
            table.add_row(name, _fmt(e["p_at_1"]), _fmt(e["p_at_5"]), _ci(e["spearman"], e.get("spearman_ci")), _fmt(e.get("weighted_tau")), "")
    for name in report["estimators"]:
        if name in evaluation:
            e = evaluation[name]
            vs = e.get("vs_static") or {}
            table.add_row(name, _fmt(e["p_at_1"]), _fmt(e["p_at_5"]), _ci(e["spearman"], e.get("spearman_ci")), _fmt(e.get("weighted_tau")),
                          _ci(vs.get("spearman_diff"), vs.get("spearman_diff_ci")) if vs else "–")
        else:
            table.add_row(name, "–", "–", "–", "–", "–")
    return table


def timing_table(report: dict) -> Table:
    table = Table(title="time per stage")
    table.add_column("stage")
    table.add_column("seconds", justify="right")
    for stage, seconds in report["timings"]["stages"].items():
        table.add_row(stage, f"{seconds:.1f}")
    return table


def run_config(config: RunConfig, console: Console, *, write: bool = True) -> tuple[RunResult, list[Path]]:
    """Preflight, every stage, and the report files (unless ``write`` is False): the one code path
    behind ``harness run`` and :func:`harness.api.run`, so both check, compute and write alike."""
    from harness.run.preflight import preflight_run

    config, zoo = preflight_run(config)  # options, --out, ground truth, probe source, cards, memory: before any probing
    result = execute(config, console, zoo)
    files = write_report(result, output_dir(config, result.report)) if write else []
    return result, files


def run_from_args(args: argparse.Namespace, console: Console) -> int:
    result, files = run_config(config_from_args(args), console)
    console.print(summary_table(result.report))
    if result.report["evaluation"]:
        console.print(verdict_line(result.report["evaluation"]), markup=False, highlight=False, soft_wrap=True)
    if result.report.get("stability"):
        console.print(stability_line(result.report["stability"]), markup=False, highlight=False, soft_wrap=True)
    console.print(timing_table(result.report))
    console.print(f"wrote {', '.join(str(f) for f in files)}")
    return 0
