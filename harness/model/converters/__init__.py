"""ONNX op converters that onnx2torch 1.5.x lacks, registered into its own registry.

onnx2torch looks a converter up by (domain, op type, the op's ``since_version`` at the model's
opset). Models exported at current opsets use op versions it has no entry for (``Gelu``-20,
``Pad``-18, ``Split``-18 ...) and older or quantized graphs use ops it never had (``LSTM``,
``QuantizeLinear``, ``Upsample`` ...). Instead of converting graphs down to an opset it knows
(lossy, and impossible where no down-adapter exists), each module here registers converters
for one op family at the versions missing, keyed exactly like onnx2torch's own.

:func:`register_all` is idempotent and is called by the importer before converting.
"""

from __future__ import annotations

from functools import cache


@cache
def register_all() -> tuple[str, ...]:
    """Import every converter module (registration happens at import); returns their names."""
    from harness.model.converters.compat import onnx2torch_module

    onnx2torch_module()
    from harness.model.converters import (  # noqa: F401  (imported for their registrations)
        activations,
        aliases,
        col2im,
        normalization,
        pad,
        pooling,
        quantize,
        recurrent,
        reduce,
        resize,
        split,
    )

    return ("activations", "aliases", "col2im", "normalization", "pad", "pooling", "quantize", "recurrent", "reduce", "resize", "split")
