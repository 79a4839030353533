"""What a run does, as one frozen record (:class:`RunConfig`), and its construction from the command line.

Every name given on the command line (methods, targets, estimators, labelled estimators,
executor) is checked here, with a did-you-mean error, before any work starts.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

from harness.attribution import ATTRIBUTION_TARGETS, DEFAULT_TARGET, METHODS, map_key
from harness.common.errors import HarnessError
from harness.common.options import check_count
from harness.common.registry import did_you_mean
from harness.estimators import ESTIMATORS, parse_estimator
from harness.estimators.labelled import LABELLED_ESTIMATORS
from harness.model.zoo import default_zoo_dir
from harness.probing.loop import ProbeSettings
from harness.run.defaults import DEFAULT_METHODS
from harness.runtime import budget
from harness.runtime.executor import EXECUTORS


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
    stability: int = 0  # --stability N: resampled setups (0: none)
    labels: str | None = None  # --labels: one labelled target (task name, CSV, or 'folder')
    labelled_benchmark: bool = False  # --labelled-benchmark: every zoo target with its own labels
    labelled_estimators: tuple[str, ...] = ()
    select_layer: tuple[tuple[str, str], ...] = ()  # --select-layer SOURCE:TARGET pairs for the report's section
    settings: ProbeSettings = field(default_factory=lambda: ProbeSettings(methods=DEFAULT_METHODS))
    argv: tuple[str, ...] | None = None  # the command line, for provenance (None when not run from the CLI)
    cache_dir: Path | None = None  # None: the platform's user cache dir (see harness.runtime.cache.location)
    use_cache: bool = True  # False: a throwaway cache folder, deleted after the run
    executor: str = "local"
    ray_address: str | None = None
    max_memory: int | None = None  # bytes; None: 75% of physical memory


def config_from_args(args: argparse.Namespace) -> RunConfig:
    zoo_dir = (args.zoo or default_zoo_dir()).resolve()
    for name in ("images", "batch_size", "map_size", "probe_size", "ig_steps", "max_feature_units", "bootstrap"):
        check_count("--" + name.replace("_", "-"), getattr(args, name))
    methods = tuple(dict.fromkeys(args.methods or DEFAULT_METHODS))
    for method in methods:
        METHODS.get(method)  # did-you-mean error for unknown names
    targets = tuple(dict.fromkeys(getattr(args, "targets", None) or (DEFAULT_TARGET,)))
    for target in targets:
        ATTRIBUTION_TARGETS.get(target)
    estimators = expand_targets(args.estimators or default_estimators(methods), targets)
    for name in estimators:
        base, target = parse_estimator(name)
        reads = ESTIMATORS.get(base).reads
        missing = [m for m in reads if m not in methods]
        if missing:
            raise HarnessError(f"estimator {name!r} needs attribution method(s) {', '.join(missing)}: add them to --methods")
        if reads and target not in targets:
            raise HarnessError(f"estimator {name!r} needs attribution target {target!r}: add it to --targets")
    settings = ProbeSettings(methods=methods, map_size=args.map_size, batch_size=args.batch_size,
                             max_feature_units=args.max_feature_units, ig_steps=args.ig_steps, targets=targets)
    labelled = tuple(dict.fromkeys(getattr(args, "labelled_estimators", None) or LABELLED_ESTIMATORS.default_names()))
    for name in labelled:
        LABELLED_ESTIMATORS.get(name)
    if getattr(args, "no_cache", False) and getattr(args, "cache", None) is not None:
        raise HarnessError("options --cache and --no-cache contradict each other: give one of them")
    max_memory = getattr(args, "max_memory", None)
    executor = getattr(args, "executor", "local") or "local"
    if executor not in EXECUTORS:
        raise HarnessError("option --executor: " + did_you_mean(executor, list(EXECUTORS), "executor"))
    if getattr(args, "ray_address", None) and executor != "ray":
        raise HarnessError("option --ray-address needs --executor ray")
    return RunConfig(
        labels=getattr(args, "labels", None), labelled_benchmark=getattr(args, "labelled_benchmark", False),
        labelled_estimators=labelled, select_layer=_pairs(getattr(args, "select_layer", None)),
        argv=tuple(args.argv) if getattr(args, "argv", None) is not None else None,
        zoo=zoo_dir, out=args.out, probe=args.probe, n_images=args.images, seed=args.seed, methods=methods,
        estimators=estimators, ground_truth=args.ground_truth, probe_size=args.probe_size, device=args.device,
        depara_lambda=args.depara_lambda, n_boot=args.bootstrap, settings=settings, stability=_stability(args),
        cache_dir=getattr(args, "cache", None), use_cache=not getattr(args, "no_cache", False),
        executor=executor, ray_address=getattr(args, "ray_address", None),
        max_memory=budget.parse_size(max_memory) if max_memory is not None else None,
    )


def _stability(args: argparse.Namespace) -> int:
    setups = getattr(args, "stability", 0) or 0
    if setups:
        check_count("--stability", setups, maximum=100_000)
    return setups


def _pairs(specs: list[str] | None) -> tuple[tuple[str, str], ...]:
    """``--select-layer SOURCE:TARGET ...`` -> pairs (ids are checked against the zoo when the run starts)."""
    pairs = []
    for spec in specs or ():
        source, sep, target = spec.partition(":")
        if not sep or not source or not target:
            raise HarnessError(f"option --select-layer: {spec!r} is not SOURCE:TARGET; give two model ids separated by ':'")
        pairs.append((source, target))
    return tuple(pairs)


def default_estimators(methods: tuple[str, ...]) -> list[str]:
    """The map estimators of the methods run, DEPARA when its maps exist, and the cheap
    feature-similarity estimators (RSA, CKA, DDS: a Gram matrix per model). ModelGiF needs
    its own attribution pass (``--methods ... gradient_field``) and joins when that runs."""
    names = [m for m in methods if m in ESTIMATORS]
    if "gradxinput" in methods:
        names += ["depara", "depara_edge"]
    if "gradient_field" in methods:
        names += ["modelgif"]
    return names + ["rsa", "cka", "dds"]


def expand_targets(names, targets: tuple[str, ...]) -> tuple[str, ...]:
    """Every plain map-based estimator under every target, side by side (``gradxinput``,
    ``gradxinput@energy``, ``elrp``, ...); ``name@target`` and feature-only estimators as given."""
    out: list[str] = []
    for name in names:
        if "@" in name or not ESTIMATORS.get(name).reads:  # unknown names: did-you-mean here
            out.append(name)
        else:
            out.extend(map_key(name, t) for t in targets)
    return tuple(dict.fromkeys(out))
