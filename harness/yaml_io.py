"""Safe YAML reading with one-line errors.

Cards and zoo files are data, never code: ``yaml.safe_load`` only, and every parse error is
turned into one line naming the file and the position.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from harness.errors import ValidationError


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """Parse ``path`` as a YAML mapping, or raise a one-line :class:`ValidationError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValidationError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{path}: cannot read ({exc})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ValidationError(f"{path}: malformed YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise ValidationError(f"{path}: expected a YAML mapping of fields, got {type(data).__name__}")
    return data
