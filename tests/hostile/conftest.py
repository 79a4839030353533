"""Fixtures of the hostile-input tests: a two-model zoo of 16-px graphs and one earlier run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import write_card, write_zoo
from tests.hostile_helpers import FAST, snapshot
from tests.onnx_builders import conv_relu_model, save


@pytest.fixture(scope="module")
def zoo(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("zoo")
    for name in ("a", "b"):
        save(conv_relu_model(), folder / f"{name}.onnx")
        write_card(folder, name, f"{name}.onnx", "relu1", size=(16, 16), framework="onnx")
    rows = ["source,target,affinity"] + [f"{s},{t},{1.0 if s == t else 0.5}" for s in "ab" for t in "ab"]
    (folder / "gt.csv").write_text("\n".join(rows) + "\n")
    return write_zoo(folder, ground_truth="gt.csv")


@pytest.fixture(scope="module")
def previous(zoo, tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A folder holding a complete report from an earlier run, and its files' hashes."""
    from harness.cli.main import main

    out = tmp_path_factory.mktemp("previous") / "out"
    assert main(["run", "--zoo", str(zoo), "--images", "4", "--out", str(out), *FAST]) == 0
    return out, snapshot(out)
