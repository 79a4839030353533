"""ONNX Model Zoo-era files: IR version 3, opsets 7-12, initializers listed as graph inputs.

Caffe2/CNTK/early-PyTorch conversions use op versions onnx2torch never had (BatchNormalization-7
with ``spatial``, Dropout-7, Sum-6, Upsample ...). ``legacy_ir`` drops the IR-3 convention of
listing every weight as a graph input (so weights are constants again); ``upgrade_opset``
converts the default domain up to opset 13 with ONNX's version converter, whose upgrade
adapters are exact. The ``onnx`` adapter runs both when it detects an old file; the
``onnx-legacy`` adapter always upgrades.
"""

from __future__ import annotations

import onnx

from harness.adapters.base import ADAPTERS, SHARED_PASSES, Adapter
from harness.adapters.passes import PASSES, PassContext, PassRefusal, default_opset

#: the opset old files are upgraded to: the newest whose op versions onnx2torch itself converts
UPGRADE_TARGET = 13
#: IR version that first allowed initializers that are not graph inputs
IR_INITIALIZERS_NOT_INPUTS = 4


def is_legacy(model: onnx.ModelProto) -> bool:
    """An old-IR or pre-13 default-domain file (what the ``onnx`` adapter upgrades)."""
    return model.ir_version < IR_INITIALIZERS_NOT_INPUTS or 0 < default_opset(model) < UPGRADE_TARGET


@PASSES.register("legacy_ir")
def legacy_ir(model: onnx.ModelProto, ctx: PassContext) -> onnx.ModelProto:
    """Initializers also listed as graph inputs stop being inputs (IR >= 4 then)."""
    inits = {init.name for init in model.graph.initializer}
    listed = [i for i in model.graph.input if i.name in inits]
    if not listed and model.ir_version >= IR_INITIALIZERS_NOT_INPUTS:
        return model
    kept = [i for i in model.graph.input if i.name not in inits]
    del model.graph.input[:]
    model.graph.input.extend(kept)
    model.ir_version = max(model.ir_version, IR_INITIALIZERS_NOT_INPUTS)
    return model


def _upgrade(model: onnx.ModelProto) -> onnx.ModelProto:
    from onnx import version_converter

    opset = default_opset(model)
    if opset == 0 or opset >= UPGRADE_TARGET:
        return model
    try:
        upgraded = version_converter.convert_version(model, UPGRADE_TARGET)
    except Exception as exc:  # the converter raises RuntimeError/ValueError with C++ text (kept as the cause)
        raise PassRefusal(f"ONNX's version converter cannot upgrade opset {opset} to {UPGRADE_TARGET} (an op it has no "
                          "upgrade for); re-export the model at opset 13 or newer (--debug shows the converter's message)") from exc
    upgraded.ir_version = max(upgraded.ir_version, model.ir_version)
    return upgraded


@PASSES.register("upgrade_opset")
def upgrade_opset(model: onnx.ModelProto, ctx: PassContext) -> onnx.ModelProto:
    """Opset < 13 -> 13 (exact upgrade adapters of onnx.version_converter)."""
    return _upgrade(model)


@PASSES.register("upgrade_legacy")
def upgrade_legacy(model: onnx.ModelProto, ctx: PassContext) -> onnx.ModelProto:
    """Auto-detection for files of unknown origin: ``legacy_ir`` + ``upgrade_opset`` if old."""
    if not is_legacy(model):
        return model
    return _upgrade(legacy_ir(model, ctx))


LEGACY_ADAPTER = Adapter(
    framework="onnx-legacy",
    passes=("legacy_ir", "upgrade_opset", *SHARED_PASSES),
    description="ONNX Model Zoo-era files (IR 3, opsets 7-12, Caffe2/CNTK conversions): "
    "initializers out of the inputs, opset upgraded to 13",
)
ADAPTERS.add("onnx-legacy", LEGACY_ADAPTER)
