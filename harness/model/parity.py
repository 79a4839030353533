"""Parity of a converted graph against onnxruntime on the original ONNX file.

Every import runs both on the same inputs and judges the difference **at the scale of each
output tensor**: the *scaled error* of a tensor is ``max |torch - ort| / max |ort|``, and the
import passes when the worst tensor's scaled error is within the tolerance of the graph's
compute precision (``SCALED_TOLERANCE``; a card may set ``parity.scaled``). Float32
accumulation order moves results by about 1e-7..1e-4 of the output's scale whatever the
values are, so a Keras application whose logits mix large values with values near zero
passes, while the conversion bugs that matter (a flipped sign, a wrong padding, a transposed
weight, a dropped bias) move it by 1e-2 or more and fail. The per-element allclose
``|torch - ort| <= atol + rtol * |ort|`` (``parity.atol``/``parity.rtol``) is reported beside
it and is a pass on its own (cards that loosened it keep importing). A NaN or Inf in either
output is a failure, never an error of 0.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import onnx
import torch
from onnx import helper

from harness.adapters.passes import uses_half_precision
from harness.common.errors import ImportFailure

#: Scaled-error tolerance by compute precision. float32: rounding measured at <= 3.1e-5 on the
#: real models tried (Keras applications via tf2onnx), 30x headroom, 10x below the smallest
#: deliberate breakage measured (tests/model/test_parity_verdict.py). float16: its epsilon is
#: 9.8e-4 and errors accumulate over layers. quantized: an int8 output step is 1/255 of its
#: range, and a float emulation may differ by a few steps.
SCALED_TOLERANCE = {"float32": 1e-3, "float16": 2e-2, "quantized": 5e-2}
#: Ops that make a graph quantized (standard and onnxruntime's com.microsoft ones).
QUANTIZED_OPS = frozenset({
    "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "QLinearConv", "QLinearMatMul", "ConvInteger",
    "MatMulInteger", "QLinearAdd", "QLinearMul", "QLinearGlobalAveragePool", "QLinearSigmoid", "QGemm",
    "QLinearLeakyRelu", "QLinearConcat", "QLinearAveragePool", "QLinearSoftmax",
})


def compute_precision(model: onnx.ModelProto) -> str:
    """``quantized``, ``float16`` or ``float32``: what the graph computes in, from its ops, weights and casts."""
    if any(node.op_type in QUANTIZED_OPS for node in model.graph.node):
        return "quantized"
    return "float16" if uses_half_precision(model) else "float32"


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
    worst_tensor: str = ""  # the tensor with the largest scaled error
    precision: str = "float32"  # the graph's compute precision (compute_precision)
    scaled_tolerance: float | None = None  # the tolerance the verdict used (None: not judged yet)

    def allclose(self, atol: float) -> bool:
        """Every element within ``atol + rtol * |ort|`` (the rtol used when comparing)."""
        excess = self.max_abs_err if self.excess is None else self.excess
        return bool(excess <= atol)

    def within_scale(self, tolerance: float) -> bool:
        return bool(self.max_rel_err <= tolerance)

    def tolerance(self, scaled: float | None = None) -> float:
        """The scaled-error tolerance: the card's ``parity.scaled`` when given, else the precision's default."""
        return SCALED_TOLERANCE[self.precision] if scaled is None else scaled

    def passed(self, atol: float, scaled: float | None = None) -> bool:
        """Within the scaled tolerance (default: the precision's), or allclose at ``atol``; NaN/Inf always fails."""
        if self.nonfinite or not np.isfinite(self.max_abs_err):
            return False
        return self.within_scale(self.tolerance(scaled)) or self.allclose(atol)

    def verdict(self, atol: float, scaled: float | None = None) -> str:
        """One phrase: how the two sides agree (for the import table and reports)."""
        tolerance = self.tolerance(scaled)
        if not self.passed(atol, scaled):
            return "failed"
        if self.allclose(atol):
            return "allclose"
        return f"{self.precision} rounding (scaled error {self.max_rel_err:.2g} <= {tolerance:g})"

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
            "worst_tensor": self.worst_tensor,
            "precision": self.precision,
            "scaled_tolerance": self.scaled_tolerance,
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
    options.log_severity_level = 4  # failures raise (and are worded by the caller); nothing goes to stderr
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
    worst_tensor = ""
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
        rel = float(diff.max()) / scale if scale > 0 else float(diff.max())
        if rel >= worst_rel:
            worst_rel, worst_tensor = rel, name
        worst_excess = max(worst_excess, float(np.max(diff - rtol * np.abs(b))))
    if nonfinite:
        worst_abs = worst_rel = worst_excess = float("inf")
    return ParityResult(worst_abs, worst_rel, tuple(reference), batch, provider, excess=worst_excess, rtol=rtol,
                        nonfinite=tuple(nonfinite), worst_tensor=worst_tensor)
