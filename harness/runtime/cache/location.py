"""Where the artifact cache lives by default: the platform's per-user cache directory.

Linux and other XDG systems: ``$XDG_CACHE_HOME/transfer-harness`` (``~/.cache/transfer-harness``
when unset); macOS: ``~/Library/Caches/transfer-harness``; Windows:
``%LOCALAPPDATA%\\transfer-harness\\cache``. ``harness run --cache DIR`` overrides it,
``--no-cache`` uses a throwaway folder deleted after the run.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP = "transfer-harness"


def default_cache_dir() -> Path:
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA")
        return (Path(base) if base else Path.home() / "AppData" / "Local") / APP / "cache"
    if sys.platform == "darwin" and not os.environ.get("XDG_CACHE_HOME"):
        return Path.home() / "Library" / "Caches" / APP
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"  # the spec ignores relative paths
    return base / APP
