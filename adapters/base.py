"""What an adapter is: the normalisation passes one source's ONNX files need.

The passes every source shares are :data:`SHARED_PASSES` (in :mod:`harness.adapters.passes`);
each adapter module adds what is specific to its source (TFLite custom ops, tf2onnx's SAME
padding, torch.onnx's ``Reshape(allowzero=1)``, Model Zoo-era IR/opset upgrades).
"""

from __future__ import annotations

from dataclasses import dataclass

import onnx

from harness.adapters.passes import run_passes
from harness.common.registry import Registry


@dataclass(frozen=True)
class Adapter:
    """Graph normalisation for the ONNX files one source framework's exporters write."""

    framework: str
    passes: tuple[str, ...]
    description: str

    def normalise(self, model: onnx.ModelProto, keep: frozenset[str] = frozenset(),
                  input_shape: tuple[int | None, ...] | None = None) -> onnx.ModelProto:
        """A copy of ``model`` that onnx2torch converts, with the ``keep`` tensors intact."""
        return run_passes(model, list(self.passes), keep, input_shape)


ADAPTERS: Registry[Adapter] = Registry("framework")

#: Passes every source's output goes through (pin the card's input size first, so that
#: folding removes the shape arithmetic of dynamic exports; shapes inferred last, and the
#: ranks inference leaves unknown where a converter needs them measured by one run).
SHARED_PASSES = ("pin_input_dims", "float16_to_float32", "fold_constants", "fold_constant_subgraphs", "constants_to_initializers",
                 "asymmetric_average_pool", "infer_shapes", "pin_ranks")
#: The passes that end every adapter's list, in this order.
FINAL_PASSES = ("infer_shapes", "pin_ranks")
#: Kept for callers of the previous name.
COMMON_PASSES = SHARED_PASSES


def with_passes(shared: tuple[str, ...], *extra: str) -> tuple[str, ...]:
    """``shared`` with source-specific passes inserted before the final shape inference."""
    head = tuple(p for p in shared if p not in FINAL_PASSES)
    return (*head, *extra, *FINAL_PASSES)
