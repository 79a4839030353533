"""The architecture families live in :mod:`devkit.archs` (shared with the benchmarks).

``from tests.archs import torch_archs`` keeps working; the modules load on first use, so that
TensorFlow is only imported by the tests that need ``keras_archs``.
"""

from __future__ import annotations

import importlib


def __getattr__(name: str):
    if name in ("torch_archs", "keras_archs"):
        return importlib.import_module(f"devkit.archs.{name}")
    raise AttributeError(name)
