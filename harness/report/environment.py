"""The software and hardware a run used, for provenance in every report."""

from __future__ import annotations

import platform
from importlib import metadata

import torch

PACKAGES = ("torch", "onnx", "onnxruntime-gpu", "onnxruntime", "onnx2torch", "onnxscript", "numpy", "scipy")


def environment(device: torch.device) -> dict:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "device": str(device),
        "cuda": torch.version.cuda if torch.cuda.is_available() else None,
        "threads": torch.get_num_threads(),
        "packages": versions,
    }
