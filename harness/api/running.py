"""Run, evaluate, load and compare from Python, through the same code as the command line.

:func:`run` turns its keyword arguments into the namespace ``harness run`` parses (defaults
taken from the CLI's own parser), then calls :func:`harness.run.config.config_from_args` and
:func:`harness.run.pipeline.run_config`, exactly what ``harness run`` calls: same checks,
same defaults, same report, same one-line errors.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from harness.api.results import Result, as_json, result_from_report
from harness.common.console import make_console
from harness.common.errors import HarnessError, excerpt
from harness.common.registry import did_you_mean
from harness.estimators.base import Affinity
from harness.model.card import ZOO_FILE
from harness.model.zoo import Zoo

#: Options that take a list on the command line (a single string is taken as a list of one).
_LIST_OPTIONS = ("methods", "estimators", "targets", "labelled_estimators", "select_layer")
#: Options the CLI parses as paths.
_PATH_OPTIONS = ("zoo", "ground_truth", "out", "cache")


def _cli_defaults() -> argparse.Namespace:
    """``harness run``'s options with the CLI's defaults (its parser is the one source of them)."""
    from harness.cli.options import add_run_arguments

    parser = argparse.ArgumentParser(add_help=False)
    add_run_arguments(parser)
    return parser.parse_args([])


def _path(name: str, value: Any) -> Path | None:
    if value is None:
        return None
    if not isinstance(value, (str, Path)) or not str(value).strip():
        raise HarnessError(f"option {name}: expected a path, got {excerpt(value)}")
    return Path(value)


def run_namespace(zoo: Zoo | Path | str | None, options: Mapping[str, Any]) -> argparse.Namespace:
    """The argparse namespace ``harness run`` would build for these options (unknown names: did-you-mean)."""
    args = _cli_defaults()
    known = sorted(k for k in vars(args) if k != "no_cache")
    for name, value in options.items():
        if name not in known:
            raise HarnessError("run(): " + did_you_mean(name, known, "option"))
        if name in _LIST_OPTIONS and isinstance(value, str):
            value = [value]
        elif name in _LIST_OPTIONS and value is not None:
            value = list(value)
        if name in _PATH_OPTIONS:
            value = _path(name, value)
        setattr(args, name, value)
    if isinstance(zoo, Zoo):  # its folder when the file is the folder's zoo.yaml, as `--zoo DIR` gives it
        args.zoo = zoo.root if zoo.file == zoo.root / ZOO_FILE else zoo.file
    else:
        args.zoo = _path("zoo", zoo)
    return args


def run(zoo: Zoo | Path | str | None = None, *, images: int | None = None, methods: Sequence[str] | str | None = None,
        estimators: Sequence[str] | str | None = None, targets: Sequence[str] | str | None = None, probe: str | None = None,
        ground_truth: Path | str | None = None, labels: str | None = None, labelled_benchmark: bool = False,
        out: Path | str | None = None, seed: int = 0, bootstrap: int = 1000, stability: int = 0,
        cache: Path | str | bool | None = None, device: str = "auto", console: Console | None = None, **options: Any) -> Result:
    """Run the benchmark on ``zoo`` (a :class:`Zoo`, a zoo path, or None for the embedded zoo).

    The keywords are ``harness run``'s options (``images`` is ``--images``, ``bootstrap`` is
    ``--bootstrap``, ...); any other option goes by its CLI name with underscores (``batch_size``,
    ``map_size``, ``probe_size``, ``depara_lambda``, ``ig_steps``, ``max_feature_units``,
    ``labelled_estimators``, ``select_layer``, ``executor``, ``ray_address``, ``max_memory``).
    ``cache``: None for the user cache, a folder, or False for a throwaway one (``--no-cache``).
    With ``out`` the report files are written there; without, nothing is written. Progress is
    silent unless a ``console`` is given.
    """
    from harness.run.config import config_from_args
    from harness.run.pipeline import run_config

    if cache is True:
        cache = None
    given = dict(images=images, methods=methods, estimators=estimators, targets=targets, probe=probe, ground_truth=ground_truth,
                 labels=labels, labelled_benchmark=labelled_benchmark, out=out, seed=seed, bootstrap=bootstrap, stability=stability,
                 device=device, cache=None if cache is False else cache, **options)
    args = run_namespace(zoo, given)
    args.no_cache = cache is False
    console = console or make_console(quiet=True)
    if out is not None:
        result, files = run_config(config_from_args(args), console)
        return result_from_report(as_json(result.report), tuple(files))
    # Nothing is written; the preflight checks a scratch folder instead of runs/<zoo>-<version>.
    with tempfile.TemporaryDirectory(prefix="harness-api-") as scratch:
        args.out = Path(scratch)
        result, _ = run_config(config_from_args(args), console, write=False)
    return result_from_report(as_json(result.report))


def load_report(path: Path | str) -> Result:
    """A report.json (or its run folder), validated as ``harness compare`` reads it."""
    from harness.compare.load import load_report as _load, report_path

    return result_from_report(_load(Path(path)), (report_path(Path(path)),))


def _report_of(value: Result | Mapping | Path | str, label: str) -> tuple[dict, str]:
    """A validated report document and how to name it: Results and dicts pass through the same validation as files."""
    from harness.compare.load import load_report as _load
    from harness.report.document import dumps

    if isinstance(value, (str, Path)):
        return _load(Path(value)), str(value)
    if isinstance(value, Result):
        document, name = value.report, str(value.paths[0]) if value.paths else label
    elif isinstance(value, Mapping):
        document, name = dict(value), label
    else:
        raise HarnessError(f"compare(): {label} is a {type(value).__name__}; pass a Result, a report dict or a report.json path")
    with tempfile.TemporaryDirectory(prefix="harness-api-") as scratch:
        path = Path(scratch) / f"{label}.json"
        path.write_bytes(dumps(document))
        return _load(path), name


def compare(a: Result | Mapping | Path | str, b: Result | Mapping | Path | str, *, force: bool = False, bootstrap: int = 2000,
            seed: int = 0, fail_on: Sequence[str] = (), out: Path | str | None = None) -> dict[str, Any]:
    """``harness compare`` between two reports (Results, report dicts or report.json paths): compare.json's dict.

    Reports made with different probe sets or method parameters raise ``NotComparable`` unless
    ``force``. ``fail_on`` takes ``NAME=X`` thresholds; crossings are listed in ``result["fail_on"]["failures"]``.
    With ``out`` compare.json/.md/.html are written there.
    """
    from harness.common.limits import BOOTSTRAP
    from harness.common.options import check_count, check_output_dir, check_seed
    from harness.compare.comparable import prose_parameters
    from harness.compare.load import NotComparable, differences
    from harness.compare.stats import compare_reports
    from harness.compare.thresholds import check_thresholds, parse_thresholds

    check_count("bootstrap", bootstrap, BOOTSTRAP)
    check_seed(seed)
    thresholds = parse_thresholds([fail_on] if isinstance(fail_on, str) else list(fail_on))
    if out is not None:
        check_output_dir(Path(out), "out")
    (ra, name_a), (rb, name_b) = _report_of(a, "a"), _report_of(b, "b")
    diffs = differences(ra, rb)
    if diffs and not force:
        raise NotComparable(f"{name_a} and {name_b} are not comparable: {'; '.join(diffs)}; pass force=True to compare anyway")
    result = compare_reports(ra, rb, n_boot=bootstrap, seed=seed)
    result["forced_differences"] = diffs
    result["prose_parameters_ignored"] = prose_parameters(ra, rb)
    result["a"], result["b"] = _identity(name_a, ra), _identity(name_b, rb)
    failures, unchecked = check_thresholds(result, thresholds)
    result["fail_on"] = {"thresholds": thresholds, "failures": failures, "unchecked": unchecked}
    if out is not None:
        from harness.common.atomic import write_all_atomic
        from harness.compare.render import render_html, render_markdown
        from harness.report.document import dumps

        names = (name_a, name_b)
        write_all_atomic(Path(out), {"compare.md": render_markdown(result, ra, rb, names).encode(),
                                     "compare.html": render_html(result, ra, rb, names).encode(), "compare.json": dumps(result)},
                         last="compare.json")
    return result


def _identity(name: str, report: Mapping) -> dict:
    return {"path": name, "zoo": report["zoo"]["name"], "version": report["zoo"]["version"], "created": report.get("created"),
            "probe": {k: report["probe"].get(k) for k in ("name", "n_images", "sha256")}}


def _estimates(name: str, value: Any, aliases: Mapping[str, str]):
    """One in-memory matrix as ``harness evaluate`` would read it from a .npy file with --ids (same checks)."""
    from harness.evaluation.estimates import Estimates

    origin = f"estimates[{name!r}]"
    if isinstance(value, Affinity):
        ids, matrix = value.model_ids, value.matrix
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        ids, matrix = value
    else:
        raise HarnessError(f"{origin}: expected (ids, matrix) or an Affinity, got {type(value).__name__}")
    try:
        matrix = np.asarray(matrix, dtype=np.float64)
    except (TypeError, ValueError):
        raise HarnessError(f"{origin}: the matrix is not numeric") from None
    ids = [aliases.get(str(m), str(m)) for m in ids]
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise HarnessError(f"{origin}: expected a square matrix, got shape {matrix.shape}")
    if len(ids) != matrix.shape[0]:
        raise HarnessError(f"{origin}: {len(ids)} ids for a {matrix.shape[0]} x {matrix.shape[1]} matrix; give one id per row")
    twice = sorted({m for m in ids if ids.count(m) > 1})
    if twice or any(not m for m in ids):
        raise HarnessError(f"{origin}: model id {excerpt(twice[0] if twice else '')} is empty or appears twice")
    bad = np.argwhere(~np.eye(len(ids), dtype=bool) & ~np.isfinite(matrix))
    if bad.size:
        s, t = bad[0]
        raise HarnessError(f"{origin}: entry [{s}, {t}] ({ids[s]} -> {ids[t]}) is not finite; only the diagonal may be NaN")
    return Estimates(name, tuple(ids), matrix, origin)


def _ground_truth(value: Any):
    """(GroundTruth, name for the report, aliases) from a path, a built-in name, a Zoo, a GroundTruth or (ids, matrix)."""
    from harness.evaluation.builtin import resolve_ground_truth
    from harness.evaluation.ground_truth import GroundTruth, zoo_ground_truth

    if isinstance(value, GroundTruth):
        return value, value.origin, {}
    if isinstance(value, Zoo):
        if value.ground_truth is None:
            raise HarnessError(f"zoo {value.name} {value.version} has no ground truth; pass a CSV or a built-in name")
        return zoo_ground_truth(value, value.ground_truth), str(value.ground_truth), dict(value.aliases)
    if isinstance(value, (str, Path)):
        return resolve_ground_truth(value)
    if isinstance(value, (tuple, list)) and len(value) == 2:
        ids, matrix = tuple(str(m) for m in value[0]), np.asarray(value[1], dtype=np.float64)
        if matrix.shape != (len(ids), len(ids)):
            raise HarnessError(f"ground truth: expected a {len(ids)} x {len(ids)} matrix for its ids, got shape {matrix.shape}")
        return GroundTruth(ids, ids, matrix, "<memory>"), "<memory>", {}
    raise HarnessError(f"ground truth: expected a CSV path, a built-in name, a Zoo, a GroundTruth or (ids, matrix); "
                       f"got {type(value).__name__}")


def evaluate(estimates: Mapping[str, Any], ground_truth: Any, *, bootstrap: int = 1000, seed: int = 0,
             sizes: Mapping[str, float] | None = None, stability: int = 0, out: Path | str | None = None) -> Result:
    """``harness evaluate`` for matrices in memory: ``{name: (ids, A[source, target])}`` (or Affinity values).

    ``ground_truth``: a CSV path, a built-in name ('taskonomy'), a Zoo (its measured ground
    truth), a GroundTruth, or ``(ids, matrix)``. ``sizes`` (model -> parameters) adds the
    model-size static ranker. With ``out`` report.json/.md/.html are written there.
    """
    from harness.common.limits import BOOTSTRAP
    from harness.common.options import check_count, check_output_dir, check_seed
    from harness.run.evaluate import evaluation_document

    check_count("bootstrap", bootstrap, BOOTSTRAP)
    check_seed(seed)
    if stability:
        check_count("stability", stability, maximum=100_000)
    if not estimates:
        raise HarnessError("evaluate(): no estimates given; pass {name: (ids, matrix)}")
    if out is not None:
        check_output_dir(Path(out), "out")
    gt, gt_name, aliases = _ground_truth(ground_truth)
    found = [_estimates(str(name), value, aliases) for name, value in estimates.items()]
    doc = evaluation_document(found, gt, gt_name, n_boot=bootstrap, seed=seed, sizes=dict(sizes) if sizes else None, setups=stability)
    paths: tuple[Path, ...] = ()
    if out is not None:
        from harness.common.atomic import write_all_atomic
        from harness.report.document import dumps
        from harness.report.html import html_files
        from harness.report.markdown import render_evaluation_markdown

        outputs = {"report.md": render_evaluation_markdown(doc).encode(), **html_files(doc), "report.json": dumps(doc)}
        write_all_atomic(Path(out), outputs, last="report.json")
        paths = tuple(Path(out) / n for n in outputs if "/" not in n)
    return result_from_report(as_json(doc), paths)
