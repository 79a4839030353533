"""Loading onnx2torch where torchvision's compiled ops are missing.

onnx2torch imports torchvision at import time, but only its NonMaxSuppression and RoiAlign
converters use it. With a CPU-only torch and PyPI's CUDA-built torchvision, ``import
torchvision`` fails ("operator torchvision::nms does not exist"). Then we put a stand-in
``torchvision`` module in place whose two ops raise a clear error, so that every model
without those ops still converts; the importer refuses models with them up front.
"""

from __future__ import annotations

import importlib.machinery
import sys
import types
from functools import cache

from harness.common.errors import ImportFailure

#: ONNX ops whose onnx2torch converters call into torchvision's compiled ops.
TORCHVISION_OPS = {"NonMaxSuppression": "torchvision.ops.nms", "RoiAlign": "torchvision.ops.roi_align"}


def _stand_in(reason: str) -> types.ModuleType:
    def unavailable(name: str):
        def call(*_args, **_kwargs):
            raise ImportFailure(f"{name} is unavailable: torchvision cannot load its compiled ops here ({reason})")

        return call

    package = types.ModuleType("torchvision")
    ops = types.ModuleType("torchvision.ops")
    ops.nms = unavailable("torchvision.ops.nms")
    ops.roi_align = unavailable("torchvision.ops.roi_align")
    package.ops = ops
    # A spec keeps importlib.util.find_spec("torchvision") working (torch.onnx's exporter calls it).
    package.__spec__ = importlib.machinery.ModuleSpec("torchvision", None, is_package=True)
    ops.__spec__ = importlib.machinery.ModuleSpec("torchvision.ops", None)
    package.__version__ = "unavailable"
    package.__harness_stand_in__ = True
    return package


@cache
def torchvision_problem() -> str | None:
    """None when torchvision's ops load; otherwise why not (installs the stand-in)."""
    try:
        import torchvision  # noqa: F401

        return None
    except Exception as exc:  # RuntimeError from the op registry, ImportError, OSError ...
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[name]
        stand_in = _stand_in(reason)
        sys.modules["torchvision"] = stand_in
        sys.modules["torchvision.ops"] = stand_in.ops
        return reason


def onnx2torch_module():
    """The ``onnx2torch`` module, importable with or without a working torchvision."""
    torchvision_problem()
    import onnx2torch

    return onnx2torch
