"""Shared pieces of the converter modules: registration and attribute/constant access."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import torch
from onnx2torch.node_converters.registry import _CONVERTER_REGISTRY, OperationDescription, add_converter
from onnx2torch.onnx_graph import OnnxGraph
from onnx2torch.onnx_node import OnnxNode
from onnx2torch.utils.common import OnnxMapping, OnnxToTorchModule, OperationConverterResult, onnx_mapping_from_node

__all__ = [
    "OnnxGraph", "OnnxNode", "OnnxMapping", "OnnxToTorchModule", "OperationConverterResult",
    "onnx_mapping_from_node", "register", "constant", "result", "unsupported", "ConverterRefusal",
]

Converter = Callable[[OnnxNode, OnnxGraph], OperationConverterResult]


def registered(op_type: str, version: int, domain: str = "") -> bool:
    return OperationDescription(domain=domain, operation_type=op_type, version=version) in _CONVERTER_REGISTRY


def register(op_type: str, versions: Iterable[int], domain: str = "") -> Callable[[Converter], Converter]:
    """Register ``converter`` for ``op_type`` at each of ``versions`` (its ONNX since_versions).

    A version onnx2torch already converts is left to onnx2torch (a newer onnx2torch release
    then wins over ours).
    """

    def decorate(converter: Converter) -> Converter:
        for version in versions:
            if not registered(op_type, version, domain):
                add_converter(operation_type=op_type, version=version, domain=domain)(converter)
        return converter

    return decorate


def constant(node: OnnxNode, graph: OnnxGraph, index: int) -> np.ndarray | None:
    """The value of input ``index`` when it is an initializer; None when absent or computed."""
    if index >= len(node.input_values) or not node.input_values[index]:
        return None
    name = node.input_values[index]
    if name in graph.initializers:
        return graph.initializers[name].to_numpy()
    return None


def result(module: torch.nn.Module, node: OnnxNode, inputs: tuple[str, ...] | None = None) -> OperationConverterResult:
    """A converter result whose module takes ``inputs`` (default: all the node's inputs)."""
    mapping = onnx_mapping_from_node(node) if inputs is None else OnnxMapping(inputs=inputs, outputs=node.output_values)
    return OperationConverterResult(torch_module=module, onnx_mapping=mapping)


class ConverterRefusal(NotImplementedError):
    """A harness converter meets a construct it cannot express; its message is ours and shown to the user.

    Anything else a converter raises comes from onnx2torch or torch, whose wording is kept
    out of user-facing messages (``--debug`` shows it as the cause).
    """


def unsupported(node: OnnxNode, what: str) -> ConverterRefusal:
    """The error a converter raises for a construct it cannot express (the importer words it)."""
    return ConverterRefusal(f"{node.operation_type} node {node.name!r}: {what}")
