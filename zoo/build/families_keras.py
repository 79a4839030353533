"""Zoo 3.0's Keras encoder families: the plain, residual and depthwise families of ``families`` in Keras.

Same layers, widths and strides as the PyTorch families, written the way a Keras user writes
them: NHWC tensors, ``padding="same"`` (asymmetric padding on stride 2, unlike PyTorch's
symmetric ``padding=1``), BatchNormalization with Keras defaults except momentum 0.9 (PyTorch's
0.1), glorot-uniform initialisation. The neck's last ReLU is the layer named ``bottleneck``: its
name survives tf2onnx and is the probe layer. The first stride is ``size // 32`` so that 64-px and
32-px inputs both end in the same 8x8 bottleneck.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

KERAS_FAMILIES = ("plain", "residual", "depthwise")


def keras():
    """keras, with TensorFlow on one thread (the build runs one model per core)."""
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass  # already initialised
    import keras as k

    return k


def _conv_bn(x, filters: int, kernel: int, stride: int, name: str, relu6: bool = False, act: bool = True):
    L = keras().layers
    x = L.Conv2D(filters, kernel, stride, padding="same", use_bias=False, name=f"{name}_conv")(x)
    x = L.BatchNormalization(momentum=0.9, epsilon=1e-5, name=f"{name}_bn")(x)
    if act:
        x = L.ReLU(max_value=6.0 if relu6 else None, name=f"{name}_relu")(x)
    return x


def _neck(x, channels: int):
    L = keras().layers
    x = _conv_bn(x, 32, 1, 1, "neck1")
    x = L.Conv2D(channels, 1, padding="same", use_bias=False, name="neck2_conv")(x)
    x = L.BatchNormalization(momentum=0.9, epsilon=1e-5, name="neck2_bn")(x)
    return L.ReLU(name="bottleneck")(x)


def _plain(x, first: int):
    for i, (w, s) in enumerate(zip((24, 32, 48, 48, 64, 96), (first, 1, 2, 1, 2, 1)), start=1):
        x = _conv_bn(x, w, 3, s, f"conv{i}")
    return x


def _residual(x, first: int):
    L = keras().layers
    x = _conv_bn(x, 16, 3, first, "stem")
    cin = 16
    for i, (w, s) in enumerate(((24, 2), (32, 1), (48, 2), (64, 1)), start=1):
        y = _conv_bn(x, w, 3, s, f"block{i}_a")
        y = _conv_bn(y, w, 3, 1, f"block{i}_b", act=False)
        skip = x if s == 1 and cin == w else _conv_bn(x, w, 1, s, f"block{i}_skip", act=False)
        x = L.ReLU(name=f"block{i}_relu")(L.Add(name=f"block{i}_add")([y, skip]))
        cin = w
    return x


def _depthwise(x, first: int):
    L = keras().layers
    x = _conv_bn(x, 24, 3, first, "stem", relu6=True)
    for i, (w, s) in enumerate(((32, 1), (48, 2), (48, 1), (64, 2), (96, 1), (128, 1)), start=1):
        x = L.DepthwiseConv2D(3, s, padding="same", use_bias=False, name=f"dw{i}_depthwise")(x)
        x = L.BatchNormalization(momentum=0.9, epsilon=1e-5, name=f"dw{i}_bn1")(x)
        x = L.ReLU(max_value=6.0, name=f"dw{i}_relu1")(x)
        x = _conv_bn(x, w, 1, 1, f"dw{i}_pw", relu6=True)
    return x


BODIES = {"plain": _plain, "residual": _residual, "depthwise": _depthwise}


def encoder(family: str, size: int, channels: int, inputs=None):
    """(input tensor, bottleneck tensor) of a Keras family encoder for ``size`` x ``size`` NHWC input."""
    k = keras()
    inp = inputs if inputs is not None else k.Input((size, size, 3), name="input")
    return inp, _neck(BODIES[family](inp, size // 32), channels)


def dense_head(z, out: int, ups: int, name: str):
    """conv3x3-ReLU (32) then ``ups`` Conv2DTranspose(4, stride 2) upsamplings (widths 32 -> 24 -> 16 -> C)."""
    L = keras().layers
    widths = {2: (32, 16), 3: (32, 24, 16)}[ups]
    y = L.Conv2D(widths[0], 3, padding="same", activation="relu", name=f"{name}_conv")(z)
    outs = widths[1:] + (out,)
    for i, w in enumerate(outs, start=1):
        y = L.Conv2DTranspose(w, 4, 2, padding="same", activation="relu" if i < len(outs) else None, name=f"{name}_up{i}")(y)
    return y


def pooled_head(z, out: int, name: str):
    """2x2 average pool, flatten, Dense 64 ReLU, Dense C (the PyTorch PooledHead)."""
    L = keras().layers
    y = L.AveragePooling2D(2, name=f"{name}_pool")(z)
    y = L.Flatten(name=f"{name}_flatten")(y)
    y = L.Dense(64, activation="relu", name=f"{name}_fc1")(y)
    return L.Dense(out, name=f"{name}_fc2")(y)


def random_encoder(family: str, size: int, channels: int, seed: int):
    """A freshly initialised Keras encoder (the frozen random baseline of a Keras family)."""
    k = keras()
    k.utils.set_random_seed(seed)
    inp, z = encoder(family, size, channels)
    return k.Model(inp, z, name=f"random_{family}")
