"""PyTorch: normalisation of torch.onnx output, and the export helper.

torch 2.x has two exporters. The legacy TorchScript one routes some Conv biases through
Identity nodes (the shared ``constants_to_initializers`` fixes them); the dynamo one writes
``Reshape(allowzero=1)`` (``reshape_allowzero``, specific to this source) and records each
node's PyTorch module path in its metadata, which :mod:`harness.layers` uses as a layer name.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from harness.adapters.base import ADAPTERS, SHARED_PASSES, Adapter, with_passes

PYTORCH_ADAPTER = Adapter(
    framework="pytorch",
    passes=with_passes(SHARED_PASSES, "reshape_allowzero"),
    description="torch.onnx (dynamo and legacy exporters): Identity-routed biases, Reshape allowzero, module paths",
)
ADAPTERS.add("pytorch", PYTORCH_ADAPTER)

EXPORTERS = ("dynamo", "legacy")


def export_torch(
    module: torch.nn.Module,
    example: torch.Tensor,
    path: Path | str,
    *,
    opset: int = 17,
    exporter: str = "dynamo",
    input_name: str = "input",
    output_names: list[str] | None = None,
    dynamic_batch: bool = True,
) -> Path:
    """Export ``module`` (in eval mode) to one self-contained ONNX file at ``path``.

    ``exporter`` is ``"dynamo"`` (torch.export based) or ``"legacy"`` (TorchScript based).
    The batch dimension is dynamic unless ``dynamic_batch`` is False.
    """
    if exporter not in EXPORTERS:
        raise ValueError(f"exporter must be one of {EXPORTERS}, got {exporter!r}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    module = module.eval()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        if exporter == "dynamo":
            shapes = ({0: torch.export.Dim("batch", min=1, max=4096)},) if dynamic_batch else None
            program = torch.onnx.export(
                module, (example,), dynamo=True, verbose=False, opset_version=opset, input_names=[input_name],
                output_names=output_names, dynamic_shapes=shapes, external_data=False,
            )
            program.save(str(path), external_data=False)
        else:
            axes = {input_name: {0: "batch"}} if dynamic_batch else None
            if axes and output_names:
                axes.update({name: {0: "batch"} for name in output_names})
            torch.onnx.export(
                module, (example,), str(path), dynamo=False, opset_version=opset, input_names=[input_name],
                output_names=output_names, dynamic_axes=axes,
            )
    return path
