"""Reading ONNX files defensively.

An ONNX file is untrusted input: it may be missing, truncated, invalid, or name external
tensor data anywhere on disk. External-data locations are checked *before* any of that data
is read, so a model cannot make the harness read files outside its own folder; their
offsets and lengths are checked against the data file and the tensor size limit, and the
tensors a graph would create from constant shapes (ConstantOfShape, Expand, Range) are sized
before anything runs, so a 40 GiB sparse file or a ``ConstantOfShape([1e6, 1e6])`` is one line.
"""

from __future__ import annotations

import math
import os
import stat
from pathlib import Path

import numpy as np
import onnx
from google.protobuf.message import DecodeError
from onnx import external_data_helper, numpy_helper

from harness.common.errors import ImportFailure, excerpt
from harness.common.limits import TENSOR_BYTES


def _external_locations(model: onnx.ModelProto) -> list[str]:
    locations = []
    for tensor in external_data_helper._get_all_tensors(model):
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            entries = {e.key: e.value for e in tensor.external_data}
            locations.append(entries.get("location", ""))
    return locations


def _element_size(data_type: int) -> int:
    try:
        return max(1, np.dtype(onnx.helper.tensor_dtype_to_np_dtype(data_type)).itemsize)
    except (KeyError, TypeError, ValueError):
        return 4


def check_external_data(model: onnx.ModelProto, path: Path, label: str) -> None:
    """Refuse external-data locations that leave the model's folder, are not regular files, or
    whose offset/length do not fit the data file or the tensor size limit."""
    folder = path.parent.resolve()
    cap = TENSOR_BYTES.value
    for tensor in external_data_helper._get_all_tensors(model):
        if tensor.data_location != onnx.TensorProto.EXTERNAL:
            continue
        entries = {e.key: e.value for e in tensor.external_data}
        location = entries.get("location", "")
        target = (folder / location).resolve()
        where = f"{label}: {path.name}: tensor {excerpt(tensor.name)}"
        if Path(location).is_absolute() or not target.is_relative_to(folder):
            raise ImportFailure(
                f"{label}: {path.name} stores tensor data at {excerpt(location)}, outside the model's folder "
                f"{folder}; refusing to read it (move the data file next to the .onnx file)"
            )
        if not target.is_file():
            raise ImportFailure(f"{label}: {path.name} needs external data file {excerpt(location)}, which is missing "
                                f"(or not a regular file) in {folder}")
        size = os.stat(target).st_size
        try:
            offset = int(entries.get("offset", 0))
            length = int(entries["length"]) if "length" in entries else size - offset
        except ValueError:
            raise ImportFailure(f"{where}: external-data offset/length are not integers; re-export the model") from None
        expected = math.prod(tensor.dims) * _element_size(tensor.data_type)
        if offset < 0 or length < 0:
            raise ImportFailure(f"{where}: negative external-data offset or length; re-export the model")
        if max(length, expected) > cap:
            raise ImportFailure(f"{where}: {max(length, expected)} bytes of external data, above "
                                f"{TENSOR_BYTES.how()}")
        if offset + length > size:
            raise ImportFailure(f"{where}: external data {excerpt(location)} is too short ({size} bytes, the tensor needs "
                                f"bytes {offset}..{offset + length}); the data file is truncated, re-export the model")
        if length != expected:
            raise ImportFailure(f"{where}: external data length {length} does not match its shape {list(tensor.dims)} "
                                f"({expected} bytes); re-export the model")


def _constants(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    """Small constant integer tensors (initializers and Constant nodes), by name."""
    out: dict[str, np.ndarray] = {}
    for init in model.graph.initializer:
        if init.data_location != onnx.TensorProto.EXTERNAL and math.prod(init.dims) <= 64:
            out[init.name] = numpy_helper.to_array(init)
    for node in model.graph.node:
        if node.op_type == "Constant" and node.output:
            for attr in node.attribute:
                if attr.name == "value" and math.prod(attr.t.dims) <= 64:
                    out[node.output[0]] = numpy_helper.to_array(attr.t)
    return out


def check_tensor_sizes(model: onnx.ModelProto, label: str) -> None:
    """Size, before anything runs, the tensors a graph builds from constant shapes."""
    cap = TENSOR_BYTES.value
    constants = _constants(model)
    for node in model.graph.node:
        count = None
        if node.op_type in ("ConstantOfShape", "Expand") and len(node.input) > (0 if node.op_type == "ConstantOfShape" else 1):
            shape = constants.get(node.input[0 if node.op_type == "ConstantOfShape" else 1])
            if shape is not None and shape.size:
                count = math.prod(max(int(v), 0) for v in shape.reshape(-1).tolist())
        elif node.op_type == "Range" and len(node.input) == 3 and all(i in constants for i in node.input):
            start, limit, delta = (float(constants[i].reshape(-1)[0]) for i in node.input)
            count = math.ceil((limit - start) / delta) if delta and math.isfinite((limit - start) / delta) else None
        if count is not None and count * 4 > cap:
            raise ImportFailure(f"{label}: node {excerpt(node.name or node.op_type)} ({node.op_type}) would create a tensor "
                                f"of {count} elements, above {TENSOR_BYTES.how()}; fix the model's constant shape")


def load_onnx(path: Path, label: str | None = None, *, check: bool = True) -> onnx.ModelProto:
    """Load and check an ONNX model; every failure is one line naming ``label`` (the card) and the file."""
    label = label or str(path)
    if not path.is_file():
        raise ImportFailure(f"{label}: ONNX file {path} not found")
    if not stat.S_ISREG(path.stat().st_mode):
        raise ImportFailure(f"{label}: ONNX file {path} is not a regular file")
    if path.stat().st_size == 0:
        raise ImportFailure(f"{label}: ONNX file {path} is empty; re-export the model")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise ImportFailure(f"{label}: {path.name} is not a readable ONNX file (truncated or corrupt: the protobuf "
                            f"cannot be parsed, {type(exc).__name__}); re-export it") from exc
    if not model.graph.node:
        raise ImportFailure(f"{label}: {path.name} has an empty graph (truncated or not an ONNX model); re-export it")
    check_external_data(model, path, label)
    check_tensor_sizes(model, label)
    if _external_locations(model):
        external_data_helper.load_external_data_for_model(model, str(path.parent))
    if check:
        try:
            onnx.checker.check_model(model)
        except (onnx.checker.ValidationError, Exception) as exc:  # checker raises several types
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if first.startswith("No Op registered for"):
                # a custom op (e.g. TFLite's via tf2onnx): an adapter may rewrite it, else the
                # importer refuses it by op, domain and node
                return model
            raise ImportFailure(f"{label}: {path.name} fails onnx.checker: {checker_problem(str(exc))}; re-export the model "
                                "(--debug shows the checker's message)") from exc
    return model


def checker_problem(message: str) -> str:
    """What onnx.checker found, in the harness's words: the node it names and the kind of problem.

    The checker's own text is C++ wording with internal context; the user needs the node and
    what kind of thing is wrong (the original stays the chained cause, shown by ``--debug``).
    """
    import re

    node = re.search(r"Name:\s*(\S*)\s+OpType:\s*(\S+)", message)
    where = f"node {excerpt(node.group(1) or '<unnamed>', 60)} ({node.group(2)[:40]})" if node else "the graph"
    field = re.search(r"Field '(\w+)' of '(\w+)' is required but missing", message)
    kinds = (
        ("topologically sorted", "its nodes are not in topological order"),
        ("static single assignment", "a tensor name is produced more than once"),
        ("SSA", "a tensor name is produced more than once"),
        ("ir_version", "its IR version is missing or unsupported"),
        ("opset", "its opset imports are inconsistent"),
        ("attribute", f"an attribute of {where} is missing, unknown or of the wrong type"),
        ("input", f"an input of {where} is missing or of the wrong type"),
        ("output", f"an output of {where} is missing or of the wrong type"),
    )
    if field:
        return f"a {field.group(2)} in {where} lacks its required field {field.group(1)!r}"
    for key, text in kinds:
        if key.lower() in message.lower():
            return text
    return f"{where} does not follow the ONNX specification"
