"""BatchNormalization after a Reshape whose target shape is computed at run time imports.

The Reshape's shape is a Shape/Slice/Concat chain whose Slice end depends on the input's
values, so static shape inference cannot know its rank even with the card's size pinned, and
onnx2torch failed with "BatchNorm operation with spatial rank == -2". The ``pin_ranks`` pass
measures the rank with one onnxruntime run.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from harness.adapters.base import ADAPTERS
from harness.model.card import load_card
from harness.model.importer import import_card
from tests.helpers import write_card


def runtime_reshape_model() -> onnx.ModelProto:
    """conv -> Reshape(c, Concat(Slice(Shape(c), 0, 2 + 0 * max(x)), [-1])) -> BatchNormalization -> relu -> mean."""
    rng = np.random.default_rng(0)

    def init(name, value):
        return numpy_helper.from_array(np.asarray(value), name)

    inits = [init("w", (rng.standard_normal((8, 3, 3, 3)) * 0.3).astype(np.float32)),
             init("start", np.array([0], np.int64)), init("two", np.array([2], np.int64)),
             init("minus_one", np.array([-1], np.int64)), init("zero", np.array(0, np.float32)),
             init("gamma", (np.abs(rng.standard_normal(8)) + 0.5).astype(np.float32)),
             init("beta", rng.standard_normal(8).astype(np.float32)), init("mean", rng.standard_normal(8).astype(np.float32)),
             init("var", (np.abs(rng.standard_normal(8)) + 0.5).astype(np.float32))]
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Shape", ["c"], ["shape"]),
        helper.make_node("ReduceMax", ["x"], ["peak"], keepdims=1, axes=[0, 1, 2, 3]),  # a value known only at run time
        helper.make_node("Mul", ["peak", "zero"], ["nothing"]),
        helper.make_node("Cast", ["nothing"], ["nothing_int"], to=TensorProto.INT64),
        helper.make_node("Reshape", ["nothing_int", "minus_one"], ["offset"]),
        helper.make_node("Add", ["offset", "two"], ["end"]),
        helper.make_node("Slice", ["shape", "start", "end"], ["batch_channels"]),
        helper.make_node("Concat", ["batch_channels", "minus_one"], ["target"], axis=0),
        helper.make_node("Reshape", ["c", "target"], ["flat"], name="flatten_spatial"),
        helper.make_node("BatchNormalization", ["flat", "gamma", "beta", "mean", "var"], ["bn"], name="bn"),
        helper.make_node("Relu", ["bn"], ["r"], name="relu"),
        helper.make_node("ReduceMean", ["r"], ["y"], axes=[2], keepdims=0),
    ]
    graph = helper.make_graph(nodes, "runtime_reshape", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 3, None, None])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 8])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def test_batchnorm_after_a_runtime_reshape_imports_with_parity(tmp_path):
    onnx.save(runtime_reshape_model(), tmp_path / "m.onnx")
    model = import_card(load_card(write_card(tmp_path, "m", "m.onnx", "relu", size=(16, 16), framework="onnx")))
    assert model.parity.passed(model.card.parity.atol) and model.parity.max_rel_err < 1e-5, model.parity
    assert model.fixed_batch is None  # the rank is pinned, the batch stays dynamic


def test_static_inference_alone_leaves_the_rank_unknown():
    """Without the measured rank the BatchNorm input has no shape (the case this pass exists for)."""
    model = runtime_reshape_model()
    normalised = ADAPTERS.get("onnx").normalise(model, input_shape=(None, 3, 16, 16))
    flat = [v for v in normalised.graph.value_info if v.name == "flat"]
    assert flat and len(flat[0].type.tensor_type.shape.dim) == 3
    passes = list(ADAPTERS.get("onnx").passes)
    passes.remove("pin_ranks")
    from harness.adapters.passes import run_passes

    unpinned = run_passes(model, passes, frozenset(), (None, 3, 16, 16))
    assert not any(v.name == "flat" and v.type.tensor_type.HasField("shape") for v in unpinned.graph.value_info)
