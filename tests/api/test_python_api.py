"""docs/python.md runs as written: its ```python blocks, in order, in one namespace, in an empty folder."""

from __future__ import annotations

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "python.md"


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_the_page_has_code():
    blocks = python_blocks(DOC.read_text(encoding="utf-8"))
    assert len(blocks) >= 5
    assert any("th.add_torch" in b for b in blocks) and any("th.compare" in b for b in blocks)


def test_the_walkthrough_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "docs_python_md"}
    for number, block in enumerate(python_blocks(DOC.read_text(encoding="utf-8")), start=1):
        exec(compile(block, f"docs/python.md block {number}", "exec"), namespace)  # noqa: S102 - the page's own code
    printed = capsys.readouterr().out
    assert "mini-taskonomy 3.0.0 38 models" in printed
    assert "unknown estimator 'salincy'" in printed
    # what the walkthrough promises: files written, the new model ranked, the comparison seeing it added
    assert (tmp_path / "runs" / "mini-8" / "report.json").is_file() and (tmp_path / "runs" / "mini-8-plus" / "report.json").is_file()
    assert (tmp_path / "models" / "untrained-cnn.onnx").is_file() and (tmp_path / "models" / "untrained-cnn.yaml").is_file()
    assert namespace["diff"]["models"]["added"] == ["untrained-cnn"]
    assert len(namespace["same"]["models"]["unchanged"]) == 8
    assert namespace["again"].report["ground_truth"]["missing_models"] == ["untrained-cnn"]
