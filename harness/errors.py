"""User-facing errors.

Every mistake a user can make (a bad card, a missing file, an unknown layer name) is raised
as a :class:`HarnessError` whose message is one line naming the file, field or node and how
to fix it. The CLI prints that line and exits non-zero; only ``--debug`` shows a traceback.
Anything else that escapes is a bug in the harness.
"""

from __future__ import annotations


class HarnessError(Exception):
    """A problem with the user's input, reported as a single line."""

    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(message.split()))


class ValidationError(HarnessError):
    """A card, zoo or report that does not validate (exit code 2, as the CLI documents)."""

    exit_code = 2


class ImportFailure(HarnessError):
    """A model that cannot be imported: unsupported op, parity failure, bad graph."""

    exit_code = 3
