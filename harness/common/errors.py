"""User-facing errors.

Every mistake a user can make (a bad card, a missing file, an unknown layer name) is raised
as a :class:`HarnessError` whose message is one line naming the file, field or node and how
to fix it. The CLI prints that line and exits non-zero; only ``--debug`` shows a traceback.
Anything else that escapes is a bug in the harness.

Values that come from files are echoed through :func:`excerpt` only: a hostile file (a YAML
alias bomb, a 1 GB line) must never turn into a gigabyte error message.
"""

from __future__ import annotations

from typing import Any

#: Longest excerpt of a user-supplied value in a message (characters).
EXCERPT_CHARS = 60
#: Longest message a HarnessError keeps; anything longer is cut in the middle.
MAX_MESSAGE_CHARS = 1000


def excerpt(value: Any, limit: int = EXCERPT_CHARS) -> str:
    """A short ``repr``-like excerpt of ``value``, built without ever rendering all of it.

    Containers are walked lazily (shared YAML aliases make ``repr`` exponential), strings are
    sliced before ``repr``, so the cost is bounded by ``limit`` whatever the value is.
    """
    parts: list[str] = []
    budget = [limit]

    def emit(text: str) -> bool:
        parts.append(text[: max(budget[0], 0)])
        budget[0] -= len(text)
        return budget[0] > 0

    def walk(v: Any, depth: int) -> bool:
        if isinstance(v, str):
            return emit(repr(v[: limit + 1]))
        if isinstance(v, bytes):
            return emit(repr(v[: limit + 1]))
        if isinstance(v, int) and not isinstance(v, bool) and v.bit_length() > 4 * limit:
            return emit(f"<{v.bit_length()}-bit integer>")
        if isinstance(v, dict):
            if depth > 4:
                return emit("{…}")
            if not emit("{"):
                return False
            for i, (k, item) in enumerate(v.items()):
                if (i and not emit(", ")) or not walk(k, depth + 1) or not emit(": ") or not walk(item, depth + 1):
                    return False
            return emit("}")
        if isinstance(v, (list, tuple)):
            if depth > 4:
                return emit("[…]")
            if not emit("["):
                return False
            for i, item in enumerate(v):
                if (i and not emit(", ")) or not walk(item, depth + 1):
                    return False
            return emit("]")
        try:
            text = repr(v) if isinstance(v, (int, float, bool, type(None))) else f"<{type(v).__name__}>"
        except Exception:  # pragma: no cover - defensive: a repr that fails
            text = f"<{type(v).__name__}>"
        return emit(text)

    complete = walk(value, 0)
    text = "".join(parts)
    return text if complete and budget[0] >= 0 else text[: limit - 1] + "…"


def _one_line(message: str) -> str:
    if len(message) > 4 * MAX_MESSAGE_CHARS:  # never split a huge string on whitespace
        message = message[: 2 * MAX_MESSAGE_CHARS] + " … " + message[-MAX_MESSAGE_CHARS:]
    message = " ".join(message.split())
    if len(message) > MAX_MESSAGE_CHARS:
        half = MAX_MESSAGE_CHARS // 2
        message = message[:half] + " … " + message[-half:]
    return message


class HarnessError(Exception):
    """A problem with the user's input, reported as a single line."""

    exit_code: int = 1

    def __init__(self, message: str) -> None:
        super().__init__(_one_line(message))


class ValidationError(HarnessError):
    """A card, zoo or report that does not validate (exit code 2, as the CLI documents)."""

    exit_code = 2


class ImportFailure(HarnessError):
    """A model that cannot be imported: unsupported op, parity failure, bad graph."""

    exit_code = 3


class ResourceLimit(HarnessError):
    """A size or memory estimate above a limit, refused before the work starts (exit code 1)."""

    exit_code = 1
