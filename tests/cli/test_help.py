"""--help documents every option with its default; ``harness list`` describes every entry."""

from __future__ import annotations

import argparse

import pytest

from harness.cli.main import build_parser, main, registries


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


@pytest.mark.parametrize("command", sorted(_subparsers(build_parser())))
def test_every_option_is_documented_with_its_default(command):
    sub = _subparsers(build_parser())[command]
    text = " ".join(sub.format_help().split())
    for action in sub._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        name = action.option_strings[0] if action.option_strings else action.dest
        assert action.help and action.help.strip(), f"harness {command}: {name} has no help text"
        default = action.default
        if action.option_strings and default not in (None, False, [], argparse.SUPPRESS) and default is not True:
            assert f"default: {default}" in text or "default" in action.help, f"harness {command} {name}: default {default!r} not shown"


def test_list_describes_every_entry(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for kind, registry in registries().items():
        assert kind in out
        for name in registry.names():
            line = next((ln for ln in out.splitlines() if ln.split()[:1] == [name]), None)
            assert line is not None and len(line.split()) >= 3, f"{kind} {name}: no description in `harness list`"
    assert "synthetic-studio" in out and "depara" in out and "second_order" in out


def test_list_unknown_kind_is_a_one_line_error(capsys):
    assert main(["list", "estimater"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "did you mean 'estimators'" in err
