"""Import a card with every step inside the one-line error handling.

``import_card`` already turns what it checks (ONNX file, ops, adapters, conversion) into
:class:`ImportFailure`. The steps that *run* the model — the shape-probing forward pass and
the parity run against onnxruntime — can still fail inside torch or onnxruntime on a hostile
graph (a shape that only breaks at run time, out of memory). This wrapper names the card and
says what to do; ``--debug`` still shows the original traceback as the cause.
"""

from __future__ import annotations

from typing import Any

from harness.model.card import ModelCard
from harness.common.errors import HarnessError, ImportFailure


def _ort_errors() -> tuple[type[BaseException], ...]:
    try:
        from onnxruntime.capi import onnxruntime_pybind11_state as state
    except ImportError:  # pragma: no cover - onnxruntime is a dependency
        return ()
    names = ("Fail", "InvalidArgument", "RuntimeException", "InvalidGraph", "NotImplemented", "NoSuchFile", "InvalidProtobuf")
    return tuple(getattr(state, n) for n in names if hasattr(state, n))


def import_guarded(card: ModelCard, **kwargs: Any):
    """:func:`harness.model.importer.import_card`, with run-time failures as one-line :class:`ImportFailure`."""
    from harness.model.importer import import_card

    try:
        return import_card(card, **kwargs)
    except HarnessError:
        raise
    except MemoryError as exc:
        raise ImportFailure(f"{card.path}: ran out of memory while running the model once (shape probe / parity); "
                            "check input.size and the model's tensor shapes") from exc
    except (RuntimeError, ValueError, IndexError, KeyError, OverflowError, ZeroDivisionError, *_ort_errors()) as exc:
        raise ImportFailure(f"{card.path}: the model failed when run once on a random input of input.size "
                            f"{list(card.input.size)} (shape probe / parity against onnxruntime: {type(exc).__name__}); "
                            "check the card's input fields and that the ONNX file runs in onnxruntime "
                            "(--debug shows the original error)") from exc
