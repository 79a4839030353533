"""Finding a sub-network's output among an exported ONNX graph's tensors (by value)."""

from __future__ import annotations

import numpy as np
import onnx
import torch

from harness.model.parity import ort_session


def node_outputs(model: onnx.ModelProto) -> list[tuple[str, str]]:
    """(node name, first output tensor) of every node, in graph order."""
    return [(node.name, node.output[0]) for node in model.graph.node if node.output and node.output[0]]


def matching_node(model: onnx.ModelProto, part: torch.nn.Module, size: int, where: str) -> tuple[str, str]:
    """(node name, tensor) of the first ONNX node whose output equals ``part``'s on a seeded input.

    torch.onnx's node names carry no module path, so a sub-network's output (an encoder's
    bottleneck) is found by value, run through onnxruntime with every tensor exposed.
    """
    x = torch.rand(3, 3, size, size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ref = part(x).numpy()
    nodes = node_outputs(model)
    session = ort_session(model, [t for _, t in nodes])
    names = [o.name for o in session.get_outputs()]
    values = dict(zip(names, session.run(names, {session.get_inputs()[0].name: x.numpy()})))
    for name, tensor in nodes:
        value = values.get(tensor)
        if value is not None and value.shape == ref.shape and np.allclose(value, ref, atol=1e-4, rtol=1e-4):
            return (name or tensor), tensor
    raise RuntimeError(f"{where}: no tensor matches the output of {type(part).__name__}")
