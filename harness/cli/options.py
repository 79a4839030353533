"""Command-line options shared by ``harness run`` and ``harness sensitivity``.

Kept free of torch and the engine so that building the CLI parser (for any command, even
``harness validate``) stays cheap; the engine validates the values when a run starts.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from harness.analyses.select_layer import LAYER_TRUTH
from harness.compare.thresholds import EXIT_THRESHOLD, THRESHOLDS
from harness.run.defaults import DEFAULT_METHODS, DEFAULT_SIZES


def path_arg(text: str) -> Path:
    """A path option: refuses the empty string, which ``Path`` would silently read as the current folder."""
    if not text.strip():
        raise argparse.ArgumentTypeError("empty path; name a file or folder")
    return Path(text)


def add_probing_arguments(p: argparse.ArgumentParser, *, seed_help: str, bootstrap_default: int) -> None:
    """Zoo, methods, estimators, ground truth and the per-model probing settings."""
    p.add_argument("--zoo", type=path_arg, default=None, help="zoo directory or zoo file (default: the embedded zoo)")
    p.add_argument("--seed", type=int, default=0, help=seed_help)
    p.add_argument("--methods", nargs="+", default=None,
                   help=f"attribution methods (default: {' '.join(DEFAULT_METHODS)}; see `harness list methods`)")
    p.add_argument("--estimators", nargs="+", default=None,
                   help="estimators, NAME or NAME@TARGET (default: one per attribution method that has one, plus depara, "
                        "depara_edge, rsa, cka and dds; modelgif with --methods ... gradient_field; see `harness list estimators`)")
    p.add_argument("--targets", nargs="+", default=None,
                   help="attribution targets, each map-based estimator is computed under every one "
                        "(default: sum, the seed's; see `harness list targets`)")
    p.add_argument("--ground-truth", type=path_arg, default=None, help="CSV source,target,affinity (default: the zoo's)")
    p.add_argument("--batch-size", type=int, default=None,
                   help="probe images per forward/backward pass (memory vs speed; results do not change). Default: chosen "
                        "per model from the memory budget (--max-memory, the container's limit or free RAM) and one "
                        "measured pass, at most 32")
    p.add_argument("--map-size", type=int, default=None,
                   help="compare attribution maps on an N x N grid (default: native resolution when all models share an "
                        "input size, else each pair at the smaller of its two input sizes)")
    p.add_argument("--depara-lambda", type=float, default=0.25, help="DEPARA edge weight (0.25: the seed's Taskonomy value)")
    p.add_argument("--ig-steps", type=int, default=50, help="integrated-gradients steps")
    p.add_argument("--max-feature-units", type=int, default=16384, help="spatially pool wider probe features down to this many units")
    p.add_argument("--bootstrap", type=int, default=bootstrap_default, help="bootstrap resamples for confidence intervals")
    p.add_argument("--device", default="auto", help="auto (cuda when available, else cpu) | cpu | cuda[:N]")


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    add_probing_arguments(p, seed_help="probe sampling / generation seed", bootstrap_default=1000)
    p.add_argument("--stability", type=int, default=0, metavar="N",
                   help="re-score the estimators over N resampled setups (subsets of models, targets and probe images) and "
                        "report how often each ranks first (needs a ground truth)")
    p.add_argument("--probe", default=None, help="built-in probe set name or image folder / imlist file (default: the zoo's, else synthetic-indoor)")
    p.add_argument("--images", type=int, default=None, help="number of probe images (default: 200 generated, or all files)")
    p.add_argument("--out", type=path_arg, default=None, help="output folder (default: runs/<zoo>-<version>)")
    p.add_argument("--probe-size", type=int, default=None, help="decode probe images at this square size (default: largest model input)")
    p.add_argument("--labels", default=None, metavar="TASK_OR_FILE",
                   help="score every model as a source for one labelled target: a synthetic task name (generated probe sets), "
                        "a CSV image,label (or image,value,...), or 'folder' (class = sub-folder of the probe folder)")
    p.add_argument("--labelled-benchmark", action="store_true",
                   help="generated probe sets: also run the labelled estimators with every zoo target's own labels, "
                        "evaluated side by side with the label-free ones")
    p.add_argument("--select-layer", nargs="+", default=None, metavar="SOURCE:TARGET",
                   help="also rank each pair's source layers for transfer (DEPARA layer selection) in a report section")
    p.add_argument("--labelled-estimators", nargs="+", default=None,
                   help="labelled estimators for --labels / --labelled-benchmark (default: all; see `harness list labelled`)")
    add_scale_arguments(p)


def add_scale_arguments(p: argparse.ArgumentParser) -> None:
    """Artifact cache, executor and memory limit of ``harness run``."""
    p.add_argument("--cache", type=path_arg, default=None,
                   help="artifact cache folder (default: $XDG_CACHE_HOME/transfer-harness, i.e. ~/.cache/transfer-harness)")
    p.add_argument("--no-cache", action="store_true", help="probe every model afresh; keep nothing after the run")
    p.add_argument("--executor", default="local", help="local (this process) | ray (one Ray task per model)")
    p.add_argument("--ray-address", default=None, help="address of an existing Ray cluster (default: start a local one)")
    p.add_argument("--max-memory", default=None,
                   help="refuse runs whose reduction would need more memory, e.g. 8G (default: 75%% of physical memory)")


def add_cache_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", nargs="?", default="info", help="info (default) | list | prune")
    p.add_argument("--cache", type=path_arg, default=None, help="cache folder (default: the platform's user cache dir)")
    p.add_argument("--all", action="store_true", help="prune: remove every entry")
    p.add_argument("--older-than", type=float, default=None, metavar="DAYS", help="prune: remove entries unused for DAYS days")
    p.add_argument("--max-size", default=None, metavar="SIZE", help="prune: remove least recently used entries until the cache is under SIZE (e.g. 5G)")
    p.add_argument("--no-verify", action="store_true", help="info/list: skip the checksum verification of every entry")


def add_report_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_dir", type=path_arg, metavar="RUN_DIR", help="folder written by harness run or harness evaluate (its report.json)")
    p.add_argument("--out", type=path_arg, default=None, help="write the re-rendered set here (default: RUN_DIR itself)")


def add_sensitivity_arguments(p: argparse.ArgumentParser) -> None:
    add_probing_arguments(p, seed_help="probe generation and subset sampling seed", bootstrap_default=200)
    p.add_argument("--probes", nargs="+", default=None,
                   help="probe sets (built-in names, folders, image lists); the first is the reference "
                        "(default: the zoo's probe set or synthetic-indoor, then the other built-in sets)")
    p.add_argument("--sizes", nargs="+", type=int, default=list(DEFAULT_SIZES), help="probe sizes (number of images)")
    p.add_argument("--out", type=path_arg, default=None, help="output folder (default: runs/<zoo>-<version>-sensitivity)")


def add_evaluate_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("estimates", nargs="+", metavar="[NAME=]ESTIMATES",
                   help="affinity matrices A[source, target] computed elsewhere: CSV source,target,affinity (an 'estimator' "
                        "column holds several), a square CSV (header: a label then the ids; one row per id), or .npy with --ids")
    p.add_argument("--ground-truth", required=True, metavar="GT",
                   help="CSV source,target,affinity, or a built-in name: 'taskonomy' (the seeds' protocol: 18 targets, self "
                        "excluded, Taskonomy's spellings mapped)")
    p.add_argument("--ids", type=path_arg, default=None, help="model ids of .npy matrices, one per line, in row order")
    p.add_argument("--rows-are-targets", action="store_true",
                   help="the matrices are A[target, source] (transposed before evaluation)")
    p.add_argument("--model-sizes", type=path_arg, default=None, help="CSV model,parameters: adds the model-size static ranker")
    p.add_argument("--stability", type=int, default=0, metavar="N",
                   help="also re-score over N resampled setups (subsets of models and targets) and report how often each wins")
    p.add_argument("--out", type=path_arg, default=Path("evaluation"), help="output folder for report.md/.html/.json (default: ./evaluation)")
    p.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples over targets for the CIs")
    p.add_argument("--seed", type=int, default=0, help="bootstrap and setup-resampling seed")


def add_compare_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("a", type=path_arg, help="the baseline report.json (or its run folder)")
    p.add_argument("b", type=path_arg, help="the new report.json (or its run folder)")
    p.add_argument("--out", type=path_arg, default=Path("compare"), help="output folder for compare.md/.html/.json (default: ./compare)")
    p.add_argument("--force", action="store_true", help="compare even when probe sets or method parameters differ")
    p.add_argument("--fail-on", nargs="+", default=[], metavar="NAME=X",
                   help=f"exit {EXIT_THRESHOLD} when a threshold is crossed: " + "; ".join(f"{k}: {v}" for k, v in THRESHOLDS.items()))
    p.add_argument("--bootstrap", type=int, default=2000, help="paired bootstrap resamples over shared targets")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")


#: Where a zoo keeps its measured per-layer transfer (select-layer's ground truth), relative to the zoo folder.


def add_select_layer_arguments(p: argparse.ArgumentParser) -> None:
    p.description = ("Rank a source model's candidate layers for transfer to a target model (DEPARA layer selection; "
                     "--source S --target T), or with --benchmark score every (source, target) pair of the zoo's "
                     "measured per-layer transfer and summarise P@1, Spearman, the deepest-layer baseline and the "
                     "seed-to-seed ceiling over (pair, budget) cases with bootstrap CIs into select-layer-benchmark.json.")
    p.add_argument("--zoo", type=path_arg, default=None, help="zoo directory or zoo file (default: the embedded zoo)")
    p.add_argument("--source", default=None, help="id of the model to transfer from (required without --benchmark)")
    p.add_argument("--target", default=None,
                   help="id of the model whose task is transferred to (its probe layer is the reference; required without --benchmark)")
    p.add_argument("--benchmark", action="store_true",
                   help="score every (source, target) pair of the layer ground truth (--layer-truth, else the zoo's; e.g. "
                        "--zoo zoo/zoo-1.0.yaml), evaluate every (pair, budget) and write select-layer-benchmark.json: "
                        "p_at_1, spearman, baseline_deepest_p_at_1/_spearman, ceiling (seed-to-seed P@1), ceiling_spearman, "
                        "p_at_1_minus_baseline, each {mean, ci, n} over cases, the cases and a verdict. No --source/--target")
    p.add_argument("--layers", nargs="+", default=["auto"],
                   help="candidate layers of the source (ONNX node or tensor names; with --benchmark the same names in every "
                        "source), or 'auto': every 4-D block output up to the probe layer")
    p.add_argument("--probe", default=None, help="built-in probe set or image folder / list (default: the zoo's, else synthetic-indoor)")
    p.add_argument("--images", type=int, default=200, help="number of probe images")
    p.add_argument("--seed", type=int, default=0, help="probe sampling / generation seed (and, with --benchmark, the bootstrap seed)")
    p.add_argument("--depara-lambda", type=float, default=0.25, help="edge weight lambda in V + lambda * E")
    p.add_argument("--map-size", type=int, default=32, help="common resolution of the node maps (pixels per side)")
    p.add_argument("--batch-size", type=int, default=32, help="probe images per forward/backward pass")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda[:N]")
    p.add_argument("--layer-truth", type=path_arg, default=None,
                   help=f"CSV of measured per-layer transfer (default: {LAYER_TRUTH.name} beside the zoo's ground truth, when present)")
    p.add_argument("--bootstrap", type=int, default=2000, help="--benchmark: bootstrap resamples over (pair, budget) cases for the CIs")
    p.add_argument("--out", type=path_arg, default=None,
                   help="output folder (default: runs/select-layer/<source>--<target>; with --benchmark runs/select-layer/benchmark)")


def add_sharing_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("card", type=path_arg, help="model card with at least two heads (field 'heads')")
    p.add_argument("--layer", nargs="+", required=True, metavar="NAME",
                   help="Conv / ConvTranspose / Gemm layer(s) by ONNX node or tensor name (see `harness layers CARD`)")
    p.add_argument("--samples", type=int, default=64, help="Gaussian replacements per unit (S)")
    p.add_argument("--images", type=int, default=200, help="number of labelled probe images (N)")
    p.add_argument("--labels", default=None,
                   help="label source: synthetic-indoor | synthetic-studio | synthetic-glyphs, a folder with one sub-folder "
                        "per class, or a CSV image,<head>... (default: the card's zoo probe set, else synthetic-indoor)")
    p.add_argument("--out", type=path_arg, default=None, help="output folder (default: runs/sharing-<card id>)")
    p.add_argument("--seed", type=int, default=0, help="probe images, parameter samples and bootstrap seed")
    p.add_argument("--threshold", type=float, default=0.25, help="a unit matters to a head at >= this x the head's largest contribution")
    p.add_argument("--bootstrap", type=int, default=500, help="bootstrap draws over units and parameter samples (0: no CIs)")
    p.add_argument("--sigma", type=float, default=None, help="noise scale of regression heads (default: maximum likelihood)")
    p.add_argument("--max-rows", type=int, default=None,
                   help="images x samples per stacked forward (default: sized to keep each stacked activation near 4 MB)")


def add_card_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", type=path_arg, help="the ONNX file to describe")
    p.add_argument("--id", default=None, help="card id (default: the file's stem)")
    p.add_argument("--task", default=None, help="task label (default: 'unknown', reported as one to set)")
    p.add_argument("--out", type=path_arg, default=None, help="card file to write (default: MODEL with .yaml, beside it)")
    p.add_argument("--force", action="store_true", help="overwrite an existing --out")
