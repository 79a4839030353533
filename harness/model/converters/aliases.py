"""Op versions whose only change is new tensor types: the previous converter is exact.

Each entry is an ONNX op version that widened the accepted types (bfloat16, float8, int4,
string ...) without changing the computation on float and integer tensors, per the ONNX
changelog. onnx2torch's converter for the version before it is registered under the new one.
Versions that changed semantics (Pad-18, Split-18, Resize-18, Reduce*-18 ...) have their own
converters in the other modules.
"""

from __future__ import annotations

import torch
from onnx import defs
from onnx2torch.node_converters.registry import _CONVERTER_REGISTRY, OperationDescription

from harness.model.converters.base import OnnxToTorchModule, register, result

#: op type -> versions that only added types (each aliased to the newest older registered one).
TYPE_ONLY_VERSIONS: dict[str, tuple[int, ...]] = {
    "Cast": (19, 21, 23, 24),  # 19 adds float8 and 'saturate' (float8 only)
    "Constant": (19, 21, 23, 24),
    "ConstantOfShape": (20, 21, 23, 24),
    "Identity": (19, 21, 23, 24),
    "Reshape": (19, 21, 23, 24),
    "Shape": (19, 21, 23, 24),
    "Flatten": (21, 23, 24),
    "Transpose": (21, 23, 24),
    "Squeeze": (23, 24),
    "Unsqueeze": (21, 23, 24),
    "Equal": (19,),
    "IsInf": (20,),
    "IsNaN": (20,),
    "LessOrEqual": (16,),
    "GreaterOrEqual": (16,),
    "Conv": (22,),
    "ConvTranspose": (22,),
    "MaxPool": (22,),
    "Dropout": (22,),
    "GlobalAveragePool": (22,),
    "InstanceNormalization": (22,),
    "HardSigmoid": (22,),
    "HardSwish": (22,),
    "Elu": (22,),
    "Selu": (22,),
    "Softplus": (22,),
    "Softsign": (22,),
    "Sin": (22,), "Cos": (22,), "Tan": (22,), "Asin": (22,), "Acos": (22,), "Atan": (22,),
    "Round": (22,),
    "EyeLike": (22,),
    "RoiAlign": (22,),
}


def _previous(op_type: str, version: int):
    older = [d.version for d in _CONVERTER_REGISTRY if d.domain == "" and d.operation_type == op_type and d.version < version]
    if not older:
        return None
    return _CONVERTER_REGISTRY[OperationDescription(domain="", operation_type=op_type, version=max(older))]


def _known(op_type: str, version: int) -> bool:
    try:
        return defs.get_schema(op_type, version, "").since_version == version
    except Exception:  # an onnx release that does not know this version yet
        return False


for _op, _versions in TYPE_ONLY_VERSIONS.items():
    for _version in _versions:
        _converter = _previous(_op, _version)
        if _converter is not None and _known(_op, _version):
            register(_op, (_version,))(_converter)


class OnnxCastLike(torch.nn.Module, OnnxToTorchModule):
    """``CastLike``: cast the first input to the second input's dtype."""

    def forward(self, x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        return x.to(like.dtype)


@register("CastLike", (15, 19, 21, 23, 24))
def _cast_like(node, graph):
    return result(OnnxCastLike(), node)
