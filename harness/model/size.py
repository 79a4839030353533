"""A model's size in parameters, read from its ONNX file: the static ranker's "model size".

Counted from the graph's stored tensors (initializers and Constant nodes, whatever their
dtype: int8 weights of a quantized model count as parameters too), without loading external
data, so it costs a protobuf parse. Shape and axis constants add a handful of elements, noise
next to any real network's weights.
"""

from __future__ import annotations

import math
from pathlib import Path

import onnx


def parameter_count(path: Path) -> int | None:
    """Elements stored in the ONNX file at ``path``; None if it cannot be read (the run reports
    that elsewhere; a missing size only drops the size baseline)."""
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception:  # noqa: BLE001 - an unreadable file has no size; import already refused it loudly
        return None
    graph_tensors = [init.dims for init in model.graph.initializer]
    graph_tensors += [attr.t.dims for node in model.graph.node if node.op_type == "Constant"
                      for attr in node.attribute if attr.name == "value"]
    return int(sum(math.prod(dims) for dims in graph_tensors))
