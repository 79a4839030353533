"""PyTorch: normalisation of torch.onnx output (the export helper is :mod:`harness.model.export.pytorch`).

torch 2.x has two exporters. The legacy TorchScript one routes some Conv biases through
Identity nodes (the shared ``constants_to_initializers`` fixes them); the dynamo one writes
``Reshape(allowzero=1)`` (``reshape_allowzero``, specific to this source) and records each
node's PyTorch module path in its metadata, which :mod:`harness.model.layers` uses as a layer name.
"""

from __future__ import annotations

from harness.adapters.base import ADAPTERS, SHARED_PASSES, Adapter, with_passes

PYTORCH_ADAPTER = Adapter(
    framework="pytorch",
    passes=with_passes(SHARED_PASSES, "reshape_allowzero"),
    description="torch.onnx (dynamo and legacy exporters): Identity-routed biases, Reshape allowzero, module paths",
)
ADAPTERS.add("pytorch", PYTORCH_ADAPTER)
