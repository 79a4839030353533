"""Small Keras versions of the architecture families (imported lazily: TensorFlow is optional).

Every model names its probe layer ``probe`` so tests can address it by the TF name that
tf2onnx keeps (e.g. ``<model>/probe/Relu``).
"""

from __future__ import annotations


def _layers():
    import keras
    from keras import layers

    return keras, layers


def conv_bn(x, filters: int, k: int = 3, stride: int = 1, act: str = "relu", name: str | None = None, depthwise: bool = False):
    keras, layers = _layers()
    if depthwise:
        x = layers.DepthwiseConv2D(k, stride, padding="same", use_bias=False)(x)
    else:
        x = layers.Conv2D(filters, k, stride, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    return layers.Activation(act, name=name)(x) if act else x


def resnet(x):
    keras, layers = _layers()
    x = conv_bn(x, 16)
    for filters, stride in ((16, 1), (32, 2)):
        y = conv_bn(x, filters, 3, stride)
        y = conv_bn(y, filters, 3, 1, act=None)
        skip = x if stride == 1 else conv_bn(x, filters, 1, stride, act=None)
        x = layers.Activation("relu")(layers.Add()([y, skip]))
    x = layers.Activation("relu", name="probe")(conv_bn(x, 32, act=None))
    return layers.Dense(10)(layers.GlobalAveragePooling2D()(x))


def vgg(x):
    keras, layers = _layers()
    x = layers.Conv2D(16, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D()(layers.Conv2D(16, 3, padding="same", activation="relu")(x))
    x = layers.MaxPooling2D()(layers.Conv2D(32, 3, padding="same", activation="relu")(x))
    x = layers.Dense(32, activation="relu", name="probe")(layers.Flatten()(x))
    return layers.Dense(10)(x)


def mobilenet(x):
    keras, layers = _layers()
    x = conv_bn(x, 16, 3, 2, act="relu6")
    for filters, stride in ((32, 1), (64, 2)):
        x = conv_bn(x, 0, 3, stride, act="relu6", depthwise=True)
        x = conv_bn(x, filters, 1, act="relu6")
    x = conv_bn(x, 64, 1, act="relu6", name="probe")
    return layers.Dense(10)(layers.GlobalAveragePooling2D()(x))


def inception(x):
    keras, layers = _layers()
    x = layers.MaxPooling2D(3, 2, padding="same")(conv_bn(x, 16, 3, 2))
    b1 = conv_bn(x, 8, 1)
    b3 = conv_bn(conv_bn(x, 8, 1), 8, 3)
    b5 = conv_bn(conv_bn(conv_bn(x, 8, 1), 8, 3), 8, 3)
    bp = conv_bn(layers.AveragePooling2D(3, 1, padding="same")(x), 8, 1)
    x = layers.Concatenate(name="probe")([b1, b3, b5, bp])
    return layers.Dense(10)(layers.GlobalAveragePooling2D()(x))


def densenet(x):
    keras, layers = _layers()
    x = conv_bn(x, 16, 3, 2)
    for _ in range(3):
        y = layers.Conv2D(8, 3, padding="same", use_bias=False)(layers.Activation("relu")(layers.BatchNormalization()(x)))
        x = layers.Concatenate()([x, y])
    x = layers.Activation("relu", name="probe")(layers.BatchNormalization()(x))
    x = layers.AveragePooling2D(2)(layers.Conv2D(20, 1)(x))
    return layers.Dense(10)(layers.GlobalAveragePooling2D()(x))


def efficientnet(x):
    keras, layers = _layers()
    x = conv_bn(x, 16, 3, 2, act="swish")
    for filters, stride in ((16, 1), (24, 2)):
        inp = x
        y = conv_bn(x, 64, 1, act="swish")
        y = conv_bn(y, 0, 3, stride, act="swish", depthwise=True)
        s = layers.GlobalAveragePooling2D(keepdims=True)(y)
        s = layers.Conv2D(16, 1, activation="swish")(s)
        s = layers.Conv2D(64, 1, activation="sigmoid")(s)
        y = layers.Multiply()([y, s])
        y = conv_bn(y, filters, 1, act=None)
        x = layers.Add()([inp, y]) if stride == 1 and inp.shape[-1] == filters else y
    x = layers.Activation("swish", name="probe")(x)
    return layers.Dense(10)(layers.GlobalAveragePooling2D()(x))


def encoder_decoder(x):
    keras, layers = _layers()
    x = conv_bn(x, 8, 3, 2)
    x = conv_bn(x, 16, 3, 2)
    z = layers.Conv2D(8, 1, name="probe")(x)
    y = layers.Conv2DTranspose(8, 4, 2, padding="same", activation="relu")(z)
    y = layers.UpSampling2D(2, interpolation="bilinear")(y)
    return layers.Conv2D(1, 3, padding="same", activation="tanh")(y)


FAMILIES = {
    "resnet": resnet,
    "vgg": vgg,
    "mobilenet": mobilenet,
    "inception": inception,
    "densenet": densenet,
    "efficientnet": efficientnet,
    "encoder_decoder": encoder_decoder,
}


def build(family: str, size: int = 32, seed: int = 0):
    """A Keras functional model with randomised (non-trivial) BatchNorm statistics."""
    import numpy as np

    keras, layers = _layers()
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((size, size, 3))
    model = keras.Model(inputs, FAMILIES[family](inputs), name=family)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, gamma.shape), rng.uniform(-0.2, 0.2, beta.shape),
                               rng.uniform(-0.2, 0.2, mean.shape), rng.uniform(0.5, 1.5, var.shape)])
    return model
