"""The ``harness`` command line.

Subcommands: ``validate``, ``layers``, ``import``, ``run``, ``compare``, ``sensitivity``, ``select-layer``, ``explain``,
``sharing``, ``cache``.
User mistakes print one line and exit non-zero; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from contextlib import contextmanager
from collections.abc import Callable, Iterator, Sequence
from typing import NoReturn
from pathlib import Path

from rich.table import Table

from harness.common.console import make_console, styled
from harness import __version__
from harness.common.errors import HarnessError
from harness.analyses.explain.options import add_explain_arguments
from harness.cli.options import (
    add_cache_arguments, add_compare_arguments, add_evaluate_arguments, add_run_arguments, add_select_layer_arguments, add_sensitivity_arguments,
    add_sharing_arguments,
)
from harness.cli.options import add_card_arguments
from harness.cli.options import add_report_arguments

console = make_console()
err_console = make_console(stderr=True)


def _zoo_or_card(target: Path):
    """A path is a zoo (a folder with zoo.yaml, or a zoo file) or a single card."""
    from harness.model.zoo import is_zoo_file

    if target.is_dir() or (target.is_file() and is_zoo_file(target)):
        return "zoo", target
    return "card", target


def cmd_validate(args: argparse.Namespace) -> int:
    from harness.model.card import load_card
    from harness.model.zoo import default_zoo_dir
    from harness.run.preflight import zoo_problems

    kind, path = _zoo_or_card(Path(args.target) if args.target else default_zoo_dir())
    if kind == "card":
        card = load_card(path)  # raises ValidationError (exit 2) with its one line
        console.print(styled(("ok", "green"), f" {card.id} ({path})"))
        return 0
    zoo, problems = zoo_problems(path)
    for problem in problems:
        err_console.print(str(problem), markup=False, highlight=False, soft_wrap=True)
    if problems:
        return 2
    console.print(styled(("ok", "green"), f" zoo {zoo.name} {zoo.version}: {len(zoo.cards)} cards valid"))
    return 0


def cmd_layers(args: argparse.Namespace) -> int:
    from harness.model.listing import list_layers

    target = Path(args.card)
    listing = list_layers(target)
    rows = [row for row in listing.rows if not args.filter or args.filter.lower() in " ".join(
        str(row.get(k) or "") for k in ("node", "op", "tensor", "module_path")).lower()]
    if args.json:
        import json

        print(json.dumps({"model": listing.model, "probe": listing.probe, "layers": rows}, indent=1))
        return 0
    table = Table(title=f"{listing.model}: {len(rows)} layers (address by ONNX node, tensor name or PyTorch module path; "
                        f"* = likely probe candidate)")
    for column in ("ONNX node", "op", "tensor", "module path", "output shape"):
        table.add_column(column, overflow="fold")
    for row in rows:
        mark = (" (probe)", "bold green") if row["tensor"] == listing.probe else (" *", "cyan") if row["candidate"] else ("", "")
        shape = "x".join(map(str, row["shape"])) if row["shape"] else "?"
        table.add_row(row["node"] or "-", row["op"], styled(row["tensor"], mark), row["module_path"] or "", shape)
    console.print(table)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from harness.model.card import load_card
    from harness.model.guarded import import_guarded

    card = load_card(args.card)
    with console.status(f"importing {card.id} ..."):
        model = import_guarded(card)
    table = Table(title=f"{card.id} imported ({card.framework})")
    table.add_column("field")
    table.add_column("value", overflow="fold")
    rows = [
        ("onnx", str(card.onnx)),
        ("probe layer", f"{card.probe_layer} -> {model.probe.tensor}"),
        ("probe shape", "x".join(map(str, (model.probe.shape or ())[1:])) + " per image"),
        ("parity verdict", model.parity.verdict(card.parity.atol, card.parity.scaled)),
        ("parity scaled error", f"{model.parity.max_rel_err:.3g} (max |torch - ort| / max |ort|, worst tensor "
                                f"{model.parity.worst_tensor!r}; {model.parity.precision} tolerance {model.parity.scaled_tolerance:g})"),
        ("parity max abs err", f"{model.parity.max_abs_err:.3g} (per element: |torch - ort| <= {card.parity.atol:g} + "
                               f"{card.parity.rtol:g} * |ort| {'holds' if model.parity.allclose(card.parity.atol) else 'does not hold'})"),
        ("parity reference", model.parity.reference),
        ("parity tensors", ", ".join(model.parity.tensors)),
        ("batch", "dynamic" if model.fixed_batch is None else f"fixed {model.fixed_batch}"),
        ("third-party messages", str(len(model.parity.messages)) + " (recorded, not shown)" if model.parity.messages else "none"),
    ]
    for row in rows:
        table.add_row(*row)
    console.print(table)
    return 0


def _lazy(module: str, function: str) -> Callable[[argparse.Namespace], int]:
    """A subcommand whose engine is imported only when it runs (building the parser stays cheap)."""

    def command(args: argparse.Namespace) -> int:
        import importlib

        return getattr(importlib.import_module(module), function)(args, console)

    command.__name__ = f"cmd_{function}"
    return command


#: Subcommands whose work lives in another module: (name, help, options, module, function);
#: the module is imported only when the subcommand runs.
DELEGATED = (
    ("run", "attribution + features on a probe set, estimators, evaluation, report", add_run_arguments,
     "harness.run.pipeline", "run_from_args"),
    ("evaluate", "evaluate affinity matrices computed elsewhere against a ground truth (same metrics, baselines and report)",
     add_evaluate_arguments, "harness.run.evaluate", "run_evaluate"),
    ("compare", "compare two report.json files (exit 0; 2 not comparable / not a report; 4 a --fail-on threshold crossed)",
     add_compare_arguments, "harness.compare.command", "run_compare"),
    ("explain", "deliberative explanations: insecurity maps (class pairs a classifier hesitates between)",
     add_explain_arguments, "harness.analyses.explain.command", "run_explain"),
    ("sensitivity", "how stable the estimated affinities are across probe sets and probe sizes", add_sensitivity_arguments,
     "harness.run.sensitivity", "run_sensitivity"),
    ("select-layer", "rank a source model's layers for transfer to a target model (DEPARA layer selection)",
     add_select_layer_arguments, "harness.analyses.select_layer.command", "run_select_layer"),
    ("sharing", "which units of a layer serve which head of a multi-task model (parameter marginalisation)",
     add_sharing_arguments, "harness.analyses.sharing.run", "run_sharing"),
    ("cache", "artifact cache: info (size, entries), list, prune", add_cache_arguments,
     "harness.runtime.cache_command", "run_cache_command"),
    ("card", "write a model card for a bare ONNX file (input, framework, probe layer read from the graph)",
     add_card_arguments, "harness.model.card_writer", "run_card_command"),
    ("report", "re-render report.md, report.html and figures/ of a run (or evaluation) folder from its report.json",
     add_report_arguments, "harness.report.command", "run_report"),
)


def registries() -> dict[str, object]:
    """Every registry whose names can be given on the command line or in a card, by kind."""
    from harness.adapters import ADAPTERS
    from harness.adapters.passes import PASSES
    from harness.attribution import ATTRIBUTION_TARGETS, METHODS
    from harness.estimators import ESTIMATORS
    from harness.estimators.labelled import LABELLED_ESTIMATORS
    from harness.probes.base import BUILTIN_PROBES
    import harness.probes  # noqa: F401  (registers the built-in probe sets)

    return {"methods": METHODS, "targets": ATTRIBUTION_TARGETS, "estimators": ESTIMATORS, "labelled": LABELLED_ESTIMATORS,
            "probes": BUILTIN_PROBES, "frameworks": ADAPTERS, "passes": PASSES}


def cmd_list(args: argparse.Namespace) -> int:
    from harness.common.registry import did_you_mean

    kinds = registries()
    if args.kind and args.kind not in kinds:
        raise HarnessError(did_you_mean(args.kind, list(kinds), "kind"))
    for kind, registry in kinds.items():
        if args.kind in (None, kind):
            console.print(kind, style="bold")
            names = registry.names()
            width = max(map(len, names), default=0)
            for name in names:
                reference = getattr(registry.get(name), "reference", None)
                text = registry.describe(name) + (f" [{reference}]" if reference else "")
                console.print(styled(f"  {name.ljust(width)}  ", (text, "dim")), soft_wrap=True)
    return 0


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows ``(default: X)`` for options whose default is a value; options whose default is
    "absent" (None, False, []) explain it in their own help text instead of "(default: None)"."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        absent = action.default is None or action.default is False or action.default == [] or action.default == argparse.SUPPRESS
        if "default" in text or absent or not action.option_strings:
            return text
        return super()._get_help_string(action)


class UsageError(HarnessError):
    """A command line the parser refuses: one line, exit code 1, like every other user mistake."""


class _Parser(argparse.ArgumentParser):
    """Parsers whose errors are one line naming the command (``--help`` shows the usage) and exit 1."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="harness", description="Benchmark harness for deep model transferability.")
    parser.add_argument("--version", action="version", version=f"harness {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("validate", help="validate a zoo or a card (exit 0, or 2 with one line per problem)")
    p.add_argument("target", nargs="?", help="zoo directory, zoo.yaml or card file (default: the embedded zoo)")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("list", help="list attribution methods, estimators, built-in probe sets, frameworks, graph passes")
    p.add_argument("kind", nargs="?", help="methods | targets | estimators | probes | frameworks | passes (default: all)")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("layers", help="list every addressable layer of a model (a card or a bare .onnx file) with its name and shape")
    p.add_argument("card", help="model card, or an ONNX file (no card needed: find the probe layer first)")
    p.add_argument("--filter", default=None, help="only layers whose node, op, tensor or module path contains this text")
    p.add_argument("--json", action="store_true", help="print the listing as JSON")
    p.set_defaults(func=cmd_layers)

    p = sub.add_parser("import", help="import a model, print parity against onnxruntime and the probe shape")
    p.add_argument("card", help="model card (YAML) of the model to import")
    p.set_defaults(func=cmd_import)

    for name, text, add_arguments, module, function in DELEGATED:
        p = sub.add_parser(name, help=text)
        add_arguments(p)
        p.set_defaults(func=_lazy(module, function))
    return parser


@contextmanager
def _third_party_warnings_hidden(hide: bool) -> Iterator[None]:
    """Warnings raised inside other packages (e.g. onnx2torch's Slice indexing deprecation while a
    model is probed) are nothing a user can act on: hidden unless ``--debug``. The importer
    records what it sees at import time in the parity result."""
    with warnings.catch_warnings():
        if hide:
            warnings.filterwarnings("ignore", module=r"(?!harness(\.|$))")
        yield


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        if "--debug" in argv:
            raise
        err_console.print(f"error: {exc}", soft_wrap=True)
        return exc.exit_code
    args.argv = argv  # the exact command line, recorded in report provenance
    debug = bool(args.debug)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        with _third_party_warnings_hidden(not debug):
            return func(args)
    except HarnessError as exc:
        if debug:
            raise
        err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        return exc.exit_code
    except OSError as exc:  # a path the user gave that the OS refuses (name too long, permission, I/O)
        if debug:
            raise
        from harness.common.oserrors import describe

        err_console.print(f"error: {describe(exc)}", soft_wrap=True)
        return 1
    except KeyboardInterrupt:
        err_console.print("interrupted: no report was half-written (the output folder holds its previous set); "
                          "models already probed stay in the artifact cache: rerun to resume", markup=False)
        return 130
