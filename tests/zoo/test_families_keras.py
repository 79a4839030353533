"""Zoo 3.0's Keras encoder families: shape of the bottleneck at both input sizes, and the probe
layer found by name after tf2onnx (the value of the ONNX tensor equals the Keras bottleneck)."""

import numpy as np
import pytest

from tests.conftest import requires_tf

pytestmark = requires_tf


@pytest.mark.parametrize("family", ["plain", "residual", "depthwise"])
@pytest.mark.parametrize("size", [32, 64])
def test_every_family_ends_in_an_8x8_bottleneck(family, size):
    from zoo.build.families_keras import random_encoder

    model = random_encoder(family, size, channels=16, seed=0)
    assert tuple(model.output.shape[1:]) == (8, 8, 16)
    assert model.layers[-1].name == "bottleneck"


def test_the_bottleneck_survives_tf2onnx_by_name_and_value(tmp_path):
    import keras

    from harness.model.export.tensorflow import export_keras
    from harness.model.parity import ort_session
    from zoo.build.families_keras import encoder, pooled_head
    from zoo.build.onnx_search import node_outputs
    import onnx

    keras.utils.set_random_seed(1)
    inp, z = encoder("residual", 32, channels=16)
    model = keras.Model(inp, pooled_head(z, 5, "head"))
    path = export_keras(model, tmp_path / "m.onnx")
    graph = onnx.load(str(path))
    hits = [(n, t) for n, t in node_outputs(graph) if "/bottleneck" in n]
    assert len(hits) == 1, hits
    x = np.random.default_rng(0).random((3, 32, 32, 3), dtype=np.float32)
    session = ort_session(graph, [hits[0][1]])
    onnx_value = session.run([hits[0][1]], {session.get_inputs()[0].name: x})[0]
    keras_value = keras.Model(inp, z)(x, training=False).numpy()
    # tf2onnx moves the NHWC->NCHW transpose of the convolutions past the ReLU: the tensor is NCHW
    assert onnx_value.shape == (3, 16, 8, 8)
    np.testing.assert_allclose(onnx_value, keras_value.transpose(0, 3, 1, 2), atol=1e-5, rtol=1e-4)
