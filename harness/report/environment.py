"""The software and hardware a run used, for provenance in every report."""

from __future__ import annotations

import platform
from importlib import metadata
from pathlib import Path

import torch

PACKAGES = ("transfer-harness", "torch", "onnx", "onnxruntime-gpu", "onnxruntime", "onnx2torch", "onnxscript", "numpy",
            "scipy", "matplotlib", "pillow", "pyyaml", "tensorflow-cpu", "tf2onnx")


def package_versions(names=PACKAGES) -> dict[str, str]:
    """Installed versions of ``names``; packages that are not installed are left out."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def device_name(device: torch.device) -> str:
    """The GPU's marketing name, or the CPU model from /proc/cpuinfo (platform.processor() is often empty)."""
    if device.type == "cuda" and torch.cuda.is_available():
        return torch.cuda.get_device_name(device)
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(device: torch.device) -> dict:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "device": str(device),
        "device_name": device_name(device),
        "cuda": torch.version.cuda if torch.cuda.is_available() else None,
        "threads": torch.get_num_threads(),
        "packages": package_versions(),
    }
