"""Small CLI behaviours not covered elsewhere: listings and their did-you-mean errors."""

from __future__ import annotations

from harness.cli import main, registries


def test_list_shows_every_registry(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for names in registries().values():
        for name in names:
            assert name in out
    assert "synthetic-studio" in out and "depara" in out and "second_order" in out


def test_list_unknown_kind_suggests(capsys):
    assert main(["list", "estimater"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "did you mean 'estimators'" in err
