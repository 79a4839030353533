"""float16 graphs (float16 weights, with float16 or float32 inputs/outputs) import and compute in float32.

onnxruntime runs the original float16 file; the harness's graph is widened to float32
(``float16_to_float32``), and parity is judged at float16 precision.
"""

from __future__ import annotations

import onnx
import pytest
import torch

from harness.model.card import load_card
from harness.model.importer import import_card
from harness.model.parity import SCALED_TOLERANCE
from devkit.compressed import half_model
from tests.helpers import write_card


@pytest.mark.parametrize("half_io", [True, False], ids=["float16 I/O", "float32 I/O"])
def test_float16_graphs_import_with_parity_at_float16_precision(tmp_path, half_io):
    onnx.save(half_model(half_io), tmp_path / "m.onnx")
    model = import_card(load_card(write_card(tmp_path, "m", "m.onnx", "relu", size=(16, 16), framework="onnx")))
    assert model.parity.precision == "float16" and model.parity.scaled_tolerance == SCALED_TOLERANCE["float16"]
    assert model.parity.passed(model.card.parity.atol)
    assert 0 < model.parity.max_rel_err < 5e-3  # float16 rounding of the reference, not a conversion error
    assert all(p.dtype == torch.float32 for p in model.graph.parameters())
