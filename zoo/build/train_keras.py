"""Train a Keras zoo model on CPU (seeded, resumable) and export it with tf2onnx (NHWC input).

The Keras models use the Taskonomy-style encoder of the PyTorch ones (same layers, NHWC);
the encoder's last layer is named ``bottleneck`` so the TF name survives in the ONNX graph.
"""

from __future__ import annotations

import json
import os
import time

import numpy as np

from zoo.build.data import L2_DENSE_TASKS, TASK_INFO, is_dense, load_split, out_channels, task_loss, target_tensor
from zoo.build.specs import ModelSpec
from zoo.build.train import fingerprint
from zoo.build.train_torch import _write_json

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")


def _tf():
    """(tensorflow, keras), TensorFlow on one thread (see :func:`zoo.build.families_keras.keras`)."""
    from zoo.build.families_keras import keras

    k = keras()
    import tensorflow as tf

    return tf, k


def build_model(task: str, seed: int, size: int = 32):
    tf, keras = _tf()
    from keras import layers

    keras.utils.set_random_seed(seed)
    inp = keras.Input((size, size, 3), name="input")
    x = inp
    for i, (filters, stride) in enumerate(((16, 2), (32, 2), (32, 1)), start=1):
        x = layers.Conv2D(filters, 3, stride, padding="same", use_bias=False, name=f"conv{i}")(x)
        x = layers.BatchNormalization(momentum=0.9, name=f"bn{i}")(x)
        x = layers.ReLU(name=f"relu{i}")(x)
    z = layers.Conv2D(8, 1, name="bottleneck")(x)
    c = out_channels(task)
    if is_dense(task):
        y = layers.Conv2D(32, 3, padding="same", activation="relu", name="dec_conv")(z)
        y = layers.Conv2DTranspose(16, 4, 2, padding="same", activation="relu", name="dec_up1")(y)
        y = layers.Conv2DTranspose(c, 4, 2, padding="same", name="dec_up2")(y)
    else:
        y = layers.AveragePooling2D(2, name="head_pool")(z)
        y = layers.Flatten(name="head_flatten")(y)
        y = layers.Dense(64, activation="relu", name="head_fc1")(y)
        y = layers.Dense(c, name="head_fc2")(y)
    return keras.Model(inp, y, name=f"zoo_{task}")


def _loss(task: str):
    tf, keras = _tf()
    kind = TASK_INFO[task].kind
    if kind == "dense_regression":
        return keras.losses.MeanSquaredError() if task in L2_DENSE_TASKS else keras.losses.MeanAbsoluteError()
    if kind in ("classification", "dense_classification"):
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    return keras.losses.MeanSquaredError()


def train(cfg, spec: ModelSpec, progress, data_cache: dict) -> dict:
    (task,) = spec.tasks
    onnx_path = cfg.files.models / f"{spec.id}.onnx"
    weights = cfg.files.ckpt / f"{spec.id}.weights.h5"
    record_path = cfg.files.records / f"{spec.id}.json"
    STEPS, BATCH, LR = cfg.steps, cfg.batch, cfg.lr
    tf, keras = _tf()
    model = build_model(task, spec.seed, cfg.size)
    if weights.exists() and record_path.exists():
        model.load_weights(str(weights))
        record = json.loads(record_path.read_text())
    else:
        if spec.split not in data_cache:
            data_cache[spec.split] = load_split(cfg, spec.split)
        data = data_cache[spec.split]
        x, y = data["rgb"], data[task]
        n = len(x)
        epochs = int(np.ceil(STEPS * BATCH / n))
        schedule = keras.optimizers.schedules.CosineDecay(LR, decay_steps=epochs * int(np.ceil(n / BATCH)))
        model.compile(optimizer=keras.optimizers.Adam(schedule), loss=_loss(task))
        bar = progress.add_task(f"train {spec.id} (keras)", total=epochs * int(np.ceil(n / BATCH))) if progress else None

        class Bar(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                if bar is not None:
                    progress.advance(bar, 1)

            def on_epoch_end(self, epoch, logs=None):
                if bar is not None:
                    progress.update(bar, description=f"train {spec.id} (keras) loss {logs['loss']:.4f}")

        t0 = time.perf_counter()
        model.fit(x, y, batch_size=BATCH, epochs=epochs, shuffle=True, verbose=0, callbacks=[Bar()])
        seconds = time.perf_counter() - t0
        if bar is not None:
            progress.update(bar, visible=False)
        if "test" not in data_cache:
            data_cache["test"] = load_split(cfg, "test")
        test = data_cache["test"]
        import torch

        pred = torch.from_numpy(np.asarray(model.predict(test["rgb"], batch_size=250, verbose=0)))
        if is_dense(task) and pred.ndim == 4:
            pred = pred.permute(0, 3, 1, 2)
        test_loss = float(task_loss(task, pred, target_tensor(task, test[task]), cfg.l2_tasks))
        record = {"id": spec.id, "seconds": seconds, "steps": epochs * int(np.ceil(n / BATCH)), "batch": BATCH,
                  "lr": LR, "train_images": n, "test_loss": {task: test_loss},
                  "fingerprint": fingerprint(cfg, spec)}
        model.save_weights(str(weights))
        _write_json(record_path, record)
    if not onnx_path.exists() or "probe" not in record:
        from harness.model.export.tensorflow import export_keras
        from zoo.build.cards import find_probe

        tmp = onnx_path.with_suffix(".tmp.onnx")
        export_keras(model, tmp)
        probe_layer, tensor = find_probe(cfg, spec, tmp)
        record["probe"] = {"probe_layer": probe_layer, "tensor": tensor}
        _write_json(record_path, record)
        tmp.replace(onnx_path)
    return record
