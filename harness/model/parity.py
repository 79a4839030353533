"""Parity of a converted graph against onnxruntime on the original ONNX file.

Every import runs both on the same inputs; the errors are recorded (and reported), and an
import fails (with both numbers) unless every element is allclose:
``|torch - ort| <= atol + rtol * |ort|`` with the card's ``parity.atol``/``parity.rtol``. A NaN
or Inf in either output is a failure, never an error of 0.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import onnx
import torch
from onnx import helper

from harness.common.errors import ImportFailure


@dataclass(frozen=True)
class ParityResult:
    """Largest differences between torch and onnxruntime over all compared tensors."""

    max_abs_err: float
    max_rel_err: float  # max abs error / max |onnxruntime value|, per tensor, worst tensor
    tensors: tuple[str, ...]
    batch: int
    provider: str
    #: max over elements of |a - b| - rtol * |b|: the smallest atol that passes at this rtol
    #: (None: not measured elementwise; then max_abs_err is used)
    excess: float | None = None
    rtol: float = 0.0
    nonfinite: tuple[str, ...] = ()  # tensors with NaN/Inf in either output
    reference: str = "original"  # which graph onnxruntime ran: the original file, or the normalised one
    messages: tuple[str, ...] = ()  # third-party warnings/log lines captured during the import

    def passed(self, atol: float) -> bool:
        """Allclose at ``atol`` and the rtol used when comparing; NaN/Inf always fails."""
        if self.nonfinite or not np.isfinite(self.max_abs_err):
            return False
        excess = self.max_abs_err if self.excess is None else self.excess
        return excess <= atol

    def as_dict(self) -> dict:
        return {
            "max_abs_err": self.max_abs_err,
            "max_rel_err": self.max_rel_err,
            "tensors": list(self.tensors),
            "batch": self.batch,
            "provider": self.provider,
            "rtol": self.rtol,
            "nonfinite": list(self.nonfinite),
            "reference": self.reference,
            "messages": list(self.messages),
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
    try:
        return ort.InferenceSession(copy.SerializeToString(), options, providers=providers)
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
        newest = _newest_ir_version(str(exc))
        if newest is None or copy.ir_version <= newest:
            raise
    # exported by an onnx newer than this onnxruntime: the IR number is newer, the graph rarely
    # uses what it added (new element types); run it at the newest IR this onnxruntime reads
    copy.ir_version = newest
    return ort.InferenceSession(copy.SerializeToString(), options, providers=providers)


def _newest_ir_version(message: str) -> int | None:
    """The newest IR version onnxruntime reads, from its 'Unsupported model IR version' error, or None."""
    import re

    found = re.search(r"Unsupported model IR version: \d+, max supported IR version: (\d+)", message)
    return int(found.group(1)) if found else None


def compare(reference: dict[str, np.ndarray], converted: dict[str, np.ndarray], batch: int, provider: str,
            rtol: float = 0.0) -> ParityResult:
    """Elementwise comparison of every tensor both sides computed (float64)."""
    worst_abs, worst_rel, worst_excess = 0.0, 0.0, 0.0
    nonfinite = []
    for name, ref in reference.items():
        got = converted[name]
        if got.shape != ref.shape:
            raise ImportFailure(f"parity: tensor {name!r} has shape {tuple(got.shape)} in torch but {tuple(ref.shape)} in onnxruntime")
        if not ref.size:
            continue
        a, b = got.astype(np.float64), ref.astype(np.float64)
        if not (np.isfinite(a).all() and np.isfinite(b).all()):
            nonfinite.append(name)
            continue
        diff = np.abs(a - b)
        scale = float(np.max(np.abs(b)))
        worst_abs = max(worst_abs, float(diff.max()))
        worst_rel = max(worst_rel, float(diff.max()) / scale if scale > 0 else float(diff.max()))
        worst_excess = max(worst_excess, float(np.max(diff - rtol * np.abs(b))))
    if nonfinite:
        worst_abs = worst_rel = worst_excess = float("inf")
    return ParityResult(worst_abs, worst_rel, tuple(reference), batch, provider, excess=worst_excess, rtol=rtol,
                        nonfinite=tuple(nonfinite))
