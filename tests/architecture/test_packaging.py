"""A non-editable install: the wheel adds only ``harness`` to site-packages and runs from anywhere.

The wheel is built from a copy of the sources and installed into a fresh virtual
environment with ``--no-deps``; the heavy dependencies (torch, onnx, ...) come from this test
environment's site-packages through a ``.pth`` line. A directory added by a ``.pth`` line is
put on ``sys.path`` but not processed as a site directory, so the editable install's own
``.pth`` finder there never runs: ``harness`` is imported from the wheel, which the test checks.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "harness", "adapters", "probes", "zoo")


def _run(*cmd: str | Path, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", PYTHONNOUSERSITE="1")
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{cmd}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The project's wheel, built from a copy of the sources (so the checkout gets no build/ folder)."""
    src = tmp_path_factory.mktemp("src")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "build", "*.egg-info")
    for name in SOURCES:
        path = REPO / name
        (shutil.copytree(path, src / name, ignore=ignore) if path.is_dir() else shutil.copy2(path, src / name))
    dist = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", dist, src, cwd=src)
    (found,) = dist.glob("transfer_harness-*.whl")
    return found


def test_wheel_adds_only_the_harness_namespace(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    top = {n.split("/", 1)[0] for n in names if not n.split("/", 1)[0].endswith(".dist-info")}
    assert top == {"harness"}, top
    assert "harness/adapters/__init__.py" in names and "harness/probes/synthetic/__init__.py" in names
    assert "harness/default_zoo/zoo.yaml" in names and any(n.startswith("harness/default_zoo/models/") for n in names)
    assert not any(n.startswith("harness/default_zoo/build/") for n in names)  # build scripts stay in the checkout


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv holding only the wheel; dependencies reached through a .pth line."""
    venv = tmp_path_factory.mktemp("venv")
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=venv)
    python = venv / "bin" / "python"
    _run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", wheel, cwd=venv)
    site = Path(_run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=venv).stdout.strip())
    (site / "_test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def test_wheel_runs_outside_the_checkout(installed, tmp_path):
    """`harness run --images 8` from another directory finds the packaged default zoo."""
    python, harness = installed / "bin" / "python", installed / "bin" / "harness"
    where = _run(python, "-c", "import harness, harness.adapters, harness.probes; print(harness.__file__)", cwd=tmp_path).stdout.strip()
    assert Path(where).is_relative_to(installed), where  # the wheel's copy, not the editable checkout
    for generic in ("adapters", "probes", "zoo"):
        probe = subprocess.run([str(python), "-c", f"import {generic}"], cwd=tmp_path, capture_output=True, check=False)
        assert probe.returncode != 0, f"a top-level {generic!r} is importable from the installed wheel"

    _run(harness, "run", "--images", "8", "--bootstrap", "20", "--out", "out", cwd=tmp_path)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["zoo"]["name"] == "mini-taskonomy" and len(report["models"]) >= 20
    assert report["evaluation"] and (tmp_path / "out" / "report.html").is_file()
    prov = report["provenance"]
    assert prov["command"] == "harness run --images 8 --bootstrap 20 --out out"
    assert prov["git"] is None  # an installed wheel is not a checkout: no commit is claimed
    assert Path(prov["zoo_root"]).is_relative_to(installed)


def test_benchmarks_do_not_import_the_test_suite():
    for path in (REPO / "benchmarks").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n == "tests" or n.startswith("tests.") for n in names), f"{path.name} imports {names}"


def test_every_package_folder_is_listed_in_pyproject():
    """setuptools installs only the packages pyproject lists; a new sub-package must be added there."""
    import tomllib

    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    roots = {folder: name for name, folder in config["package-dir"].items()}
    found = set()
    for folder, name in roots.items():
        for init in (REPO / folder).rglob("__init__.py"):
            parts = init.parent.relative_to(REPO / folder).parts
            found.add(".".join((name, *parts)))
    found.discard("harness.default_zoo.build")  # the zoo's build scripts run from a checkout only (see pyproject)
    assert found - listed == set(), f"add to [tool.setuptools] packages in pyproject.toml: {sorted(found - listed)}"
