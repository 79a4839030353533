"""Command-line options shared by ``harness run`` and ``harness sensitivity``.

Kept free of torch and the engine so that building the CLI parser (for any command, even
``harness validate``) stays cheap; the engine validates the values when a run starts.
"""

from __future__ import annotations

import argparse
from pathlib import Path

#: Attribution methods computed when ``--methods`` is not given.
DEFAULT_METHODS = ("saliency", "gradxinput", "elrp")
#: Probe sizes of ``harness sensitivity`` (the supplementary's range, up to a few hundred images).
DEFAULT_SIZES = (25, 50, 100, 200, 400)
#: Exit code of ``harness compare`` when a ``--fail-on`` threshold is crossed.
EXIT_THRESHOLD = 4
#: --fail-on name -> what it checks. Drops are B − A of a mean over shared targets; "min_"
#: checks fail when the value falls below the threshold.
THRESHOLDS = {
    "p_at_1_drop": "P@1 against ground truth fell by more than X",
    "p_at_5_drop": "P@5 against ground truth fell by more than X",
    "spearman_drop": "mean Spearman against ground truth fell by more than X",
    "min_affinity_corr": "Spearman correlation of the shared off-diagonal affinities is below X",
    "min_ranking_kendall": "mean per-target Kendall tau between the two rankings is below X",
}


def add_probing_arguments(p: argparse.ArgumentParser, *, seed_help: str, bootstrap_default: int) -> None:
    """Zoo, methods, estimators, ground truth and the per-model probing settings."""
    p.add_argument("--zoo", type=Path, default=None, help="zoo directory or zoo file (default: the embedded zoo)")
    p.add_argument("--seed", type=int, default=0, help=seed_help)
    p.add_argument("--methods", nargs="+", default=None,
                   help=f"attribution methods (default: {' '.join(DEFAULT_METHODS)}; see `harness list methods`)")
    p.add_argument("--estimators", nargs="+", default=None, help="estimators (default: one per attribution method, plus depara and rsa)")
    p.add_argument("--ground-truth", type=Path, default=None, help="CSV source,target,affinity (default: the zoo's)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--map-size", type=int, default=None,
                   help="compare attribution maps on an N x N grid (default: native resolution when all models share an "
                        "input size, else the smallest input size)")
    p.add_argument("--depara-lambda", type=float, default=0.25, help="DEPARA edge weight (0.25: the seed's Taskonomy value)")
    p.add_argument("--ig-steps", type=int, default=50, help="integrated-gradients steps")
    p.add_argument("--max-feature-units", type=int, default=16384, help="spatially pool wider probe features down to this many units")
    p.add_argument("--bootstrap", type=int, default=bootstrap_default, help="bootstrap resamples for confidence intervals")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda[:N]")


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    add_probing_arguments(p, seed_help="probe sampling / generation seed", bootstrap_default=1000)
    p.add_argument("--probe", default=None, help="built-in probe set name or image folder / imlist file (default: the zoo's, else synthetic-indoor)")
    p.add_argument("--images", type=int, default=None, help="number of probe images (default: 200 generated, or all files)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: runs/<zoo>-<version>)")
    p.add_argument("--probe-size", type=int, default=None, help="decode probe images at this square size (default: largest model input)")
    add_scale_arguments(p)


def add_scale_arguments(p: argparse.ArgumentParser) -> None:
    """Artifact cache, executor and memory limit of ``harness run``."""
    p.add_argument("--cache", type=Path, default=None,
                   help="artifact cache folder (default: $XDG_CACHE_HOME/transfer-harness, i.e. ~/.cache/transfer-harness)")
    p.add_argument("--no-cache", action="store_true", help="probe every model afresh; keep nothing after the run")
    p.add_argument("--executor", default="local", help="local (this process) | ray (one Ray task per model)")
    p.add_argument("--ray-address", default=None, help="address of an existing Ray cluster (default: start a local one)")
    p.add_argument("--max-memory", default=None,
                   help="refuse runs whose reduction would need more memory, e.g. 8G (default: 75%% of physical memory)")


def add_cache_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", nargs="?", default="info", help="info (default) | list | prune")
    p.add_argument("--cache", type=Path, default=None, help="cache folder (default: the platform's user cache dir)")
    p.add_argument("--all", action="store_true", help="prune: remove every entry")
    p.add_argument("--older-than", type=float, default=None, metavar="DAYS", help="prune: remove entries unused for DAYS days")
    p.add_argument("--max-size", default=None, metavar="SIZE", help="prune: remove least recently used entries until the cache is under SIZE (e.g. 5G)")
    p.add_argument("--no-verify", action="store_true", help="info/list: skip the checksum verification of every entry")


def add_sensitivity_arguments(p: argparse.ArgumentParser) -> None:
    add_probing_arguments(p, seed_help="probe generation and subset sampling seed", bootstrap_default=200)
    p.add_argument("--probes", nargs="+", default=None,
                   help="probe sets (built-in names, folders, image lists); the first is the reference "
                        "(default: the zoo's probe set or synthetic-indoor, then the other built-in sets)")
    p.add_argument("--sizes", nargs="+", type=int, default=list(DEFAULT_SIZES), help="probe sizes (number of images)")
    p.add_argument("--out", type=Path, default=None, help="output folder (default: runs/<zoo>-<version>-sensitivity)")


def add_compare_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("a", type=Path, help="the baseline report.json (or its run folder)")
    p.add_argument("b", type=Path, help="the new report.json (or its run folder)")
    p.add_argument("--out", type=Path, default=Path("compare"), help="output folder for compare.md/.html/.json (default: ./compare)")
    p.add_argument("--force", action="store_true", help="compare even when probe sets or method parameters differ")
    p.add_argument("--fail-on", nargs="+", default=[], metavar="NAME=X",
                   help=f"exit {EXIT_THRESHOLD} when a threshold is crossed: " + "; ".join(f"{k}: {v}" for k, v in THRESHOLDS.items()))
    p.add_argument("--bootstrap", type=int, default=2000, help="paired bootstrap resamples over shared targets")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
