"""Parity of a converted graph against onnxruntime on the original ONNX file.

Every import runs both on the same inputs; the errors are recorded (and reported), and an
import whose error is above the card's tolerance fails with both numbers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import onnx
import torch
from onnx import helper

from harness.errors import ImportFailure


@dataclass(frozen=True)
class ParityResult:
    """Largest differences between torch and onnxruntime over all compared tensors."""

    max_abs_err: float
    max_rel_err: float  # max abs error / max |onnxruntime value|, per tensor, worst tensor
    tensors: tuple[str, ...]
    batch: int
    provider: str

    def passed(self, tolerance: float) -> bool:
        return self.max_abs_err <= tolerance or self.max_rel_err <= tolerance

    def as_dict(self) -> dict:
        return {
            "max_abs_err": self.max_abs_err,
            "max_rel_err": self.max_rel_err,
            "tensors": list(self.tensors),
            "batch": self.batch,
            "provider": self.provider,
        }


def ort_session(model: onnx.ModelProto, extra_outputs: list[str]):
    """An onnxruntime session on ``model`` that also returns the ``extra_outputs`` tensors."""
    import onnxruntime as ort

    ort.set_default_logger_severity(3)
    logging.getLogger("onnxruntime").setLevel(logging.ERROR)
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    existing = {o.name for o in copy.graph.output}
    for name in extra_outputs:
        if name not in existing:
            copy.graph.output.append(helper.make_empty_tensor_value_info(name))
    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = max(1, torch.get_num_threads())
    providers = ["CPUExecutionProvider"]
    if torch.cuda.is_available() and "CUDAExecutionProvider" in ort.get_available_providers():
        providers.insert(0, "CUDAExecutionProvider")
    return ort.InferenceSession(copy.SerializeToString(), options, providers=providers)


def compare(reference: dict[str, np.ndarray], converted: dict[str, np.ndarray], batch: int, provider: str) -> ParityResult:
    worst_abs, worst_rel = 0.0, 0.0
    for name, ref in reference.items():
        got = converted[name]
        if got.shape != ref.shape:
            raise ImportFailure(f"parity: tensor {name!r} has shape {tuple(got.shape)} in torch but {tuple(ref.shape)} in onnxruntime")
        diff = float(np.max(np.abs(got.astype(np.float64) - ref.astype(np.float64)))) if ref.size else 0.0
        scale = float(np.max(np.abs(ref))) if ref.size else 0.0
        worst_abs = max(worst_abs, diff)
        worst_rel = max(worst_rel, diff / scale if scale > 0 else diff)
    if not np.isfinite(worst_abs):
        worst_abs = worst_rel = float("inf")
    return ParityResult(worst_abs, worst_rel, tuple(reference), batch, provider)
