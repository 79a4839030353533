"""The ``harness`` command line: the parser (``main``), its options, and the subcommands' table."""

from harness.cli.main import main

__all__ = ["main"]
