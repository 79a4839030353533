"""Which torch device a command runs on (``--device auto|cpu|cuda[:N]``)."""

from __future__ import annotations

import torch

from harness.common.errors import HarnessError


def pick_device(name: str) -> torch.device:
    """``auto``: CUDA when available, else the CPU; a named device is refused when this machine lacks it."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise HarnessError(f"option --device: unknown device {name!r}; use auto, cpu or cuda") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise HarnessError("option --device: CUDA is not available on this machine; use --device cpu")
    return device
