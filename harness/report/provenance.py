"""What produced a report: harness version and git commit, command line, hashes of every input.

Everything here is data (names, hashes, numbers) so that a reader, or ``harness compare``,
can answer "were these two reports made from the same inputs by the same code?" without
parsing prose.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

from harness import __version__
from harness.common.hashing import sha256_file


def git_state(where: Path | None = None) -> dict | None:
    """Commit and dirtiness of the checkout the harness runs from; None outside a git work tree.

    Asked of the folder holding the ``harness`` package (not the current directory): a
    report must name the code that made it, not whatever repository the user stands in.
    """
    where = where or Path(__file__).resolve().parents[2]
    if not (where / ".git").exists():  # an installed wheel lives in site-packages, not a checkout
        return None
    try:
        commit = _git(where, "rev-parse", "HEAD")
        status = _git(where, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    if not commit:
        return None
    return {"commit": commit, "dirty": bool(status), "checkout": str(where)}


def _git(where: Path, *args: str) -> str:
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0"}  # read-only: never take the index lock
    done = subprocess.run(["git", "-C", str(where), *args], capture_output=True, text=True, timeout=10, check=False, env=env)
    return done.stdout.strip() if done.returncode == 0 else ""


def command_line(argv: Sequence[str] | None) -> str | None:
    """The command as a user would retype it (``harness run --images 8``), shell-quoted."""
    return None if argv is None else shlex.join(["harness", *argv])


def file_hashes(paths: Iterable[tuple[str, Path]], root: Path) -> dict[str, str]:
    """``{label: sha256}`` for each (kind, path); labels are paths relative to ``root`` when inside it."""
    out: dict[str, str] = {}
    for kind, path in paths:
        path = Path(path).resolve()
        label = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
        out[f"{kind}:{label}"] = sha256_file(path)
    return out


def provenance(argv: Sequence[str] | None, inputs: dict[str, str], root: Path, environment: dict) -> dict:
    """The report's ``provenance`` block."""
    return {
        "harness_version": __version__,
        "git": git_state(),
        "command": command_line(argv),
        "argv": None if argv is None else list(argv),
        "cwd": os.getcwd(),
        "zoo_root": str(root),
        "inputs": inputs,
        "device": environment.get("device"),
        "device_name": environment.get("device_name"),
        "packages": environment.get("packages", {}),
    }
