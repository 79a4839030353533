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


def write_card_for(onnx_path: Path, fields: dict, framework: str, size: tuple[int, int], layout: str) -> Path:
    """Write (atomically) and validate a card for an exported file; returns the card's path."""
    import yaml

    from harness.card import load_card
    from harness.report.atomic import write_atomic

    data = {"framework": framework, "onnx": onnx_path.name, **fields}
    data["input"] = {"size": [int(size[0]), int(size[1])], "layout": layout, **fields.get("input", {})}
    card_path = onnx_path.with_suffix(".yaml")
    write_atomic(card_path, yaml.safe_dump(data, sort_keys=False).encode())
    load_card(card_path)  # a card that does not validate is a bug of the caller: fail here
    return card_path
