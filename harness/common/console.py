"""The terminal: consoles and progress bars that print user text as it is.

Paths, card ids, layer names and CSV cells come from users, and rich would read ``[red]`` in
them as markup (or fail on ``[/x]``) and ``:smile:`` as an emoji. Every console the harness
makes therefore has markup and emoji off; colour is given with ``style=`` or
:class:`rich.text.Text`, never by markup inside a string that holds user text.
"""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text


def make_console(stderr: bool = False, quiet: bool = False) -> Console:
    """A console that never interprets what it prints (no markup, no emoji codes, no highlighting)."""
    return Console(stderr=stderr, quiet=quiet, markup=False, emoji=False, highlight=False)


def styled(*parts: "str | tuple[str, str]") -> Text:
    """A line from plain parts and ``(text, style)`` parts, e.g. ``styled(("ok", "green"), " ", card_id)``."""
    line = Text()
    for part in parts:
        if isinstance(part, tuple):
            line.append(part[0], style=part[1])
        else:
            line.append(part)
    return line


def progress_bar(console: Console, *, remaining: bool = False, transient: bool = False, style: str = "none") -> Progress:
    """A progress display whose task descriptions (model ids, layer names) are printed as plain text."""
    columns = [TextColumn("{task.description}", style=style, markup=False), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    if remaining:
        columns.append(TimeRemainingColumn())
    return Progress(*columns, console=console, transient=transient)
