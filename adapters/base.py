"""What an adapter is: the normalisation passes one exporter's ONNX output needs."""

from __future__ import annotations

from dataclasses import dataclass

import onnx

from harness.adapters.passes import run_passes
from harness.registry import Registry


@dataclass(frozen=True)
class Adapter:
    """Graph normalisation for the ONNX files one source framework's exporters write."""

    framework: str
    passes: tuple[str, ...]
    description: str

    def normalise(self, model: onnx.ModelProto, keep: frozenset[str] = frozenset()) -> onnx.ModelProto:
        """A copy of ``model`` that onnx2torch converts, with the ``keep`` tensors intact."""
        return run_passes(model, list(self.passes), keep)


ADAPTERS: Registry[Adapter] = Registry("framework")

#: Passes every exporter's output goes through; adapters add their own around them.
COMMON_PASSES = ("fold_constants", "constants_to_initializers", "reshape_allowzero", "downgrade_opset", "infer_shapes")
