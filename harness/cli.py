"""The ``harness`` command line.

Subcommands: ``validate``, ``layers``, ``import``, ``run``, ``compare``, ``sensitivity``, ``cache``.
User mistakes print one line and exit non-zero; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from harness import __version__
from harness.errors import HarnessError
from harness.options import add_cache_arguments, add_compare_arguments, add_run_arguments, add_sensitivity_arguments

console = Console()
err_console = Console(stderr=True)


def _zoo_or_card(target: Path):
    """A path is a zoo (a folder with zoo.yaml, or a zoo file) or a single card."""
    from harness.zoo import is_zoo_file

    if target.is_dir() or (target.is_file() and is_zoo_file(target)):
        return "zoo", target
    return "card", target


def cmd_validate(args: argparse.Namespace) -> int:
    from harness.card import load_card
    from harness.zoo import default_zoo_dir, load_zoo, validate_zoo

    kind, path = _zoo_or_card(Path(args.target) if args.target else default_zoo_dir())
    if kind == "card":
        card = load_card(path)  # raises ValidationError (exit 2) with its one line
        console.print(f"[green]ok[/green] {card.id} ({path})")
        return 0
    problems = validate_zoo(path)
    for problem in problems:
        err_console.print(str(problem), markup=False, highlight=False, soft_wrap=True)
    if problems:
        return 2
    zoo = load_zoo(path)
    console.print(f"[green]ok[/green] zoo {zoo.name} {zoo.version}: {len(zoo.cards)} cards valid")
    return 0


def cmd_layers(args: argparse.Namespace) -> int:
    from harness.card import load_card
    from harness.importer import import_card

    card = load_card(args.card)
    with console.status(f"importing {card.id} ..."):
        model = import_card(card, check_parity=False)
    table = Table(title=f"{card.id}: {len(model.layers.layers)} layers (address by ONNX node or tensor name)")
    for column in ("ONNX node", "op", "tensor", "output shape"):
        table.add_column(column, overflow="fold")
    for layer in model.layers.layers:
        probe = " [bold green](probe)[/]" if layer.tensor == model.probe.tensor else ""
        shape = "x".join(map(str, layer.shape)) if layer.shape else "?"
        table.add_row(layer.onnx_node or "-", layer.op_type, layer.tensor + probe, shape)
    console.print(table)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from harness.card import load_card
    from harness.importer import import_card

    card = load_card(args.card)
    with console.status(f"importing {card.id} ..."):
        model = import_card(card)
    table = Table(title=f"{card.id} imported ({card.framework})")
    table.add_column("field")
    table.add_column("value", overflow="fold")
    rows = [
        ("onnx", str(card.onnx)),
        ("probe layer", f"{card.probe_layer} -> {model.probe.tensor}"),
        ("probe shape", "x".join(map(str, (model.probe.shape or ())[1:])) + " per image"),
        ("parity max abs err", f"{model.parity.max_abs_err:.3g}"),
        ("parity max rel err", f"{model.parity.max_rel_err:.3g} (tolerance {card.parity_tolerance:g})"),
        ("parity tensors", ", ".join(model.parity.tensors)),
        ("batch", "dynamic" if model.fixed_batch is None else f"fixed {model.fixed_batch}"),
    ]
    for row in rows:
        table.add_row(*row)
    console.print(table)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from harness.run import run_from_args

    return run_from_args(args, console)


def cmd_compare(args: argparse.Namespace) -> int:
    from harness.compare import run_compare

    return run_compare(args, console)


def cmd_sensitivity(args: argparse.Namespace) -> int:
    from harness.sensitivity import run_sensitivity

    return run_sensitivity(args, console)


def cmd_cache(args: argparse.Namespace) -> int:
    from harness.cache.command import run_cache_command

    return run_cache_command(args, console)


def registries() -> dict[str, list[str]]:
    """Everything that can be named on the command line or in a card, by kind."""
    from harness.adapters import ADAPTERS
    from harness.adapters.passes import PASSES
    from harness.attribution import METHODS
    from harness.estimators import ESTIMATORS
    from harness.probes import list_probes

    return {
        "methods": METHODS.names(),
        "estimators": ESTIMATORS.names(),
        "probes": list_probes(),
        "frameworks": ADAPTERS.names(),
        "passes": PASSES.names(),
    }


def cmd_list(args: argparse.Namespace) -> int:
    from harness.adapters import ADAPTERS
    from harness.registry import did_you_mean

    kinds = registries()
    if args.kind and args.kind not in kinds:
        raise HarnessError(did_you_mean(args.kind, list(kinds), "kind"))
    for kind, names in kinds.items():
        if args.kind in (None, kind):
            console.print(f"[bold]{kind}[/bold]")
            for name in names:
                detail = f"  [dim]{ADAPTERS.get(name).description}[/dim]" if kind == "frameworks" else ""
                console.print(f"  {name}{detail}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="harness", description="Benchmark harness for deep model transferability.")
    parser.add_argument("--version", action="version", version=f"harness {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("validate", help="validate a zoo or a card (exit 0, or 2 with one line per problem)")
    p.add_argument("target", nargs="?", help="zoo directory, zoo.yaml or card file (default: the embedded zoo)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("list", help="list attribution methods, estimators, built-in probe sets, frameworks, graph passes")
    p.add_argument("kind", nargs="?", help="methods | estimators | probes | frameworks | passes (default: all)")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("layers", help="list every addressable layer of a model with its ONNX name and shape")
    p.add_argument("card")
    p.set_defaults(func=cmd_layers)

    p = sub.add_parser("import", help="import a model, print parity against onnxruntime and the probe shape")
    p.add_argument("card")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("run", help="attribution + features on a probe set, estimators, evaluation, report")
    add_run_arguments(p)
    p.set_defaults(func=cmd_run)


    p = sub.add_parser("compare", help="compare two report.json files (exit 0; 2 not comparable / not a report; 4 a --fail-on threshold crossed)")
    add_compare_arguments(p)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("sensitivity", help="how stable the estimated affinities are across probe sets and probe sizes")
    add_sensitivity_arguments(p)
    p.set_defaults(func=cmd_sensitivity)

    p = sub.add_parser("cache", help="artifact cache: info (size, entries), list, prune")
    add_cache_arguments(p)
    p.set_defaults(func=cmd_cache)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = bool(args.debug)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except HarnessError as exc:
        if debug:
            raise
        err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        return exc.exit_code
    except KeyboardInterrupt:
        err_console.print("interrupted: no report was written (models already probed stay in the artifact cache: rerun to resume)", markup=False)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
