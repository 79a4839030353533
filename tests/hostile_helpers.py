"""Helpers of the hostile-input tests: run the CLI bounded, check its one-line answer."""

from __future__ import annotations

import hashlib
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import yaml

from harness.cli.main import main

REPO = Path(__file__).resolve().parent.parent
GIB = 1 << 30
#: The cheapest run options: one method, one estimator, few resamples.
FAST = ("--methods", "saliency", "--estimators", "saliency", "--bootstrap", "10")


def limited(address_space: int, file_size: int | None = None):
    """preexec_fn: cap the child's address space (and file size) so a blow-up fails fast."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
        if file_size is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))

    return apply


def run_bounded(*argv: str, memory: int = 4 * GIB, timeout: float = 60, env: dict | None = None, cwd: Path | None = None):
    """``harness ARGV`` in a subprocess with an address-space limit: (exit code, stderr, seconds)."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "harness.cli", *argv], capture_output=True, text=True, timeout=timeout,
        preexec_fn=limited(memory), env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}, cwd=cwd or REPO,
    )
    return proc.returncode, proc.stderr.strip(), time.perf_counter() - start


def cli(capsys, *argv: str) -> tuple[int, str]:
    """``harness ARGV`` in this process: (exit code, stderr)."""
    code = main(list(argv))
    return code, capsys.readouterr().err.strip()


def assert_one_line(code: int, err: str, expected_code: int, *fragments: str) -> None:
    """Exit code, exactly one line, no traceback, and every fragment (file, field or flag) named."""
    assert code == expected_code, (code, err[-2000:])
    assert "Traceback" not in err, err[-2000:]
    assert len(err.splitlines()) == 1, err[-2000:]
    assert len(err) < 1500, err[:300]
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def snapshot(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` (relative names), to check a report set is intact."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def card_with(zoo: Path, tmp_path: Path, **changes) -> Path:
    """A copy of card 'a' (ONNX file included) with ``changes``; None removes a field."""
    folder = tmp_path / "card"
    folder.mkdir(exist_ok=True)
    (folder / "a.onnx").write_bytes((zoo / "a.onnx").read_bytes())
    data = yaml.safe_load((zoo / "a.yaml").read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)
        elif isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    path = folder / "a.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def zoo_copy(zoo: Path, tmp_path: Path, **changes) -> Path:
    folder = tmp_path / "zoo"
    folder.mkdir(exist_ok=True)
    for p in zoo.iterdir():
        (folder / p.name).write_bytes(p.read_bytes())
    data = yaml.safe_load((folder / "zoo.yaml").read_text())
    data.update(changes)
    (folder / "zoo.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return folder
