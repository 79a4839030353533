"""The parity verdict passes rounding and fails breakage, on both sides of its tolerance.

Deliberately broken conversions are made by editing the converted torch graph of a small
convnet (conv + bias -> relu -> conv -> pool -> dense) after a good import, then re-running
the parity check against onnxruntime on the untouched ONNX file: a flipped weight sign, a
wrong padding, a spatially transposed kernel and a dropped bias must all fail at the float32
tolerance; the error of the unbroken model and of float32-rounding-sized noise must pass.
"""

from __future__ import annotations

import copy

import onnx
import pytest
import torch
from onnx import TensorProto, helper

from harness.model.card import load_card
from harness.model.importer import import_card, parity_check
from harness.model.parity import SCALED_TOLERANCE, compute_precision
from harness.model.preprocess import random_input
from devkit.compressed import convnet
from tests.helpers import write_card


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("parity")
    onnx.save(convnet(), folder / "net.onnx")
    card = load_card(write_card(folder, "net", "net.onnx", "relu1", size=(16, 16), framework="onnx"))
    return import_card(card), onnx.load(folder / "net.onnx")


def _convs(model) -> list[torch.nn.Conv2d]:
    return [m for m in model.graph.modules() if isinstance(m, torch.nn.Conv2d)]


def _recheck(model, original):
    x = random_input(model.card.input, 2, seed=0)
    return parity_check(model, original, x, x)


def test_the_unbroken_conversion_passes(imported):
    model, original = imported
    assert model.parity.passed(model.card.parity.atol) and model.parity.precision == "float32"
    assert model.parity.max_rel_err < 1e-5


def _flip_sign(model):
    _convs(model)[1].weight.data[0] *= -1


def _wrong_padding(model):
    conv = _convs(model)[1]  # VALID instead of SAME: the pooled features lose the border
    conv.padding = (0, 0)
    conv._reversed_padding_repeated_twice = [0, 0, 0, 0]


def _transposed_kernel(model):
    conv = _convs(model)[0]
    conv.weight.data = conv.weight.data.transpose(2, 3).contiguous()


def _dropped_bias(model):
    _convs(model)[1].bias.data.zero_()


@pytest.mark.parametrize("breakage", [_flip_sign, _wrong_padding, _transposed_kernel, _dropped_bias],
                         ids=["flipped sign", "wrong padding", "transposed kernel", "dropped bias"])
def test_deliberately_broken_conversions_fail(imported, breakage):
    model, original = imported
    broken = copy.deepcopy(model)
    breakage(broken)
    result = _recheck(broken, original)
    assert not result.passed(model.card.parity.atol), result
    assert result.max_rel_err > 10 * SCALED_TOLERANCE["float32"], result.max_rel_err  # well clear of the tolerance


def test_rounding_sized_differences_pass_where_the_per_element_check_fails(imported):
    """Perturb the last layer by float32-accumulation-sized amounts (3e-5 of the output scale)."""
    model, original = imported
    nudged = copy.deepcopy(model)
    dense = [m for m in nudged.graph.modules() if isinstance(m, torch.nn.Linear)][0]
    dense.bias.data += 3e-5 * float(_recheck(model, original).max_abs_err + 1) * torch.sign(torch.randn(dense.bias.shape))
    result = _recheck(nudged, original)
    assert result.max_rel_err < SCALED_TOLERANCE["float32"]
    assert result.passed(model.card.parity.atol)


def test_precision_is_read_from_the_graph():
    model = convnet()
    assert compute_precision(model) == "float32"
    half = copy.deepcopy(model)
    half.graph.node.insert(0, helper.make_node("Cast", ["x"], ["xh"], to=TensorProto.FLOAT16))
    assert compute_precision(half) == "float16"
    quant = copy.deepcopy(model)
    quant.graph.node.insert(0, helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"]))
    assert compute_precision(quant) == "quantized"
