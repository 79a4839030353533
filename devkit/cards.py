"""Writing cards and small zoos for tests and benchmarks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import onnx
import yaml

from harness.common.hashing import sha256_file

TF_LOG_ENV = {"TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "0"}


def write_card(folder: Path, model_id: str, onnx_name: str, probe: str, *, framework: str = "pytorch",
               size: tuple[int, int] = (32, 32), layout: str = "NCHW", task: str = "classification",
               with_sha: bool = True, **extra: Any) -> Path:
    """Write a valid card for ``folder/onnx_name`` and return its path."""
    data: dict[str, Any] = {
        "id": model_id,
        "task": task,
        "framework": framework,
        "onnx": onnx_name,
        "input": {"size": list(size), "layout": layout, "channels": "RGB", "range": [0, 1]},
        "probe_layer": probe,
    }
    if with_sha:
        data["sha256"] = sha256_file(folder / onnx_name)
    data.update(extra)
    path = folder / f"{model_id}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def write_zoo(folder: Path, name: str = "test-zoo", version: str = "1", **extra: Any) -> Path:
    data = {"name": name, "version": version, "cards": "*.yaml", **extra}
    (folder / "zoo.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return folder


def last_node(path: Path, op_types: tuple[str, ...] = ("Relu", "Clip", "Concat", "Mul", "Add", "Tanh"), contains: str = "") -> str:
    """Name of the last node of one of ``op_types`` (and containing ``contains``) — a probe layer for tests."""
    graph = onnx.load(str(path)).graph
    names = [n.name for n in graph.node if n.op_type in op_types and contains in n.name]
    return names[-1]
