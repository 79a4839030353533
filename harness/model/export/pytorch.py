"""Export a torch module to ONNX (``torch.onnx``, dynamo or legacy exporter), optionally with its card."""

from __future__ import annotations

import warnings
from pathlib import Path

import torch

from harness.model.export.card import write_card_for

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
    card: dict | None = None,
) -> Path:
    """Export ``module`` (in eval mode) to one self-contained ONNX file at ``path``.

    ``exporter`` is ``"dynamo"`` (torch.export based) or ``"legacy"`` (TorchScript based).
    The batch dimension is dynamic unless ``dynamic_batch`` is False. With ``card`` (card
    fields, at least ``id``, ``task`` and ``probe_layer``, which may be a PyTorch module path
    such as ``layer4`` for dynamo exports) a model card is written next to the file
    (``path`` with ``.yaml``), with ``framework``, ``onnx`` and ``input.size`` filled in.
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
    if card is not None:
        write_card_for(path, card, "pytorch", tuple(example.shape[-2:]), "NCHW")
    return path
