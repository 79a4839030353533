"""Train a zoo 3.0 Keras family model on CPU (seeded, resumable) and export it with tf2onnx (NHWC input).

The encoder is a ``families_keras`` family, its heads the Keras versions of the PyTorch heads; the
training loop is a ``tf.GradientTape`` loop rather than ``model.fit`` because, like the PyTorch
models, each step draws a fresh corruption of the inputs (denoise / colorization / inpainting)
and the auxiliary reconstruction decoder (``ModelSpec.aux``) sees the clean image. Only the task
heads are exported.
"""

from __future__ import annotations

import json
import math
import time

import numpy as np
import torch

from zoo.build.data import TASK_INFO, input_kind, is_dense, load_split, out_channels, shrink_input, shrink_target, target_tensor, task_input, task_loss
from zoo.build.families import NECK
from zoo.build.families_keras import dense_head, encoder, keras, pooled_head
from zoo.build.specs import ModelSpec
from zoo.build.train import fingerprint
from zoo.build.train_torch import _write_json


def base_family(spec: ModelSpec) -> str:
    """``keras-residual`` -> ``residual`` (the ``families_keras`` body)."""
    return spec.encoder.removeprefix("keras-")


def build(spec: ModelSpec, size: int):
    """(training model with every head, exported model with the task heads only): one set of layers."""
    k = keras()
    k.utils.set_random_seed(spec.seed)
    inp, z = encoder(base_family(spec), size, NECK)
    ups = (size // 8).bit_length() - 1

    def head(task: str, name: str):
        return dense_head(z, out_channels(task), ups, name) if is_dense(task) else pooled_head(z, out_channels(task), name)

    outs = [head(t, f"head{i}") for i, t in enumerate(spec.tasks)]
    aux = [head(t, f"aux{i}") for i, t in enumerate(spec.aux)]
    return k.Model(inp, outs + aux, name=f"train_{spec.id}"), k.Model(inp, outs, name=f"zoo_{spec.id}")


def _tf_loss(task: str, pred, target, l2: frozenset):
    import tensorflow as tf

    kind = TASK_INFO[task].kind
    if kind == "dense_regression":
        diff = pred - target
        return tf.reduce_mean(diff * diff) if task in l2 else tf.reduce_mean(tf.abs(diff))
    if kind in ("classification", "dense_classification"):
        return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=target, logits=pred))
    return tf.reduce_mean(tf.square(pred - target))


def _nhwc(task: str, y: torch.Tensor) -> np.ndarray:
    """A training target in Keras layout (dense regression NHWC; class maps and vectors as they are)."""
    arr = y.numpy()
    return np.ascontiguousarray(arr.transpose(0, 2, 3, 1)) if TASK_INFO[task].kind == "dense_regression" else arr


def train(cfg, spec: ModelSpec, progress, data_cache: dict) -> dict:
    import tensorflow as tf

    k = keras()
    size = cfg.model_size(spec)
    onnx_path = cfg.files.models / f"{spec.id}.onnx"
    weights = cfg.files.ckpt / f"{spec.id}.weights.h5"
    record_path = cfg.files.records / f"{spec.id}.json"
    full, exported = build(spec, size)
    if weights.exists() and record_path.exists():
        full.load_weights(str(weights))
        record = json.loads(record_path.read_text())
    else:
        tasks = spec.tasks + spec.aux
        data = load_split(cfg, spec.split, ("rgb", *tasks))
        rgb, n = data["rgb"], len(data["rgb"])
        labels = {t: _nhwc(t, shrink_target(t, target_tensor(t, data[t]), size)) for t in tasks}
        weights_of = [1.0] * len(spec.tasks) + [cfg.aux_weight] * len(spec.aux)
        kinds = sorted({input_kind(t) for t in tasks})
        first = {input_kind(t): t for t in reversed(tasks)}  # the task whose corruption makes each kind's input
        steps, batch = spec.steps or cfg.steps, cfg.batch
        opt = k.optimizers.Adam(k.optimizers.schedules.CosineDecay(cfg.lr, decay_steps=steps))

        @tf.function(reduce_retracing=True)
        def step(inputs: dict, targets: list):
            with tf.GradientTape() as tape:
                outs = {kind: full(inputs[kind], training=True) for kind in kinds}
                loss = tf.add_n([w * _tf_loss(t, outs[input_kind(t)][i], targets[i], cfg.l2_tasks)
                                 for i, (t, w) in enumerate(zip(tasks, weights_of))])
            grads = tape.gradient(loss, full.trainable_variables)
            opt.apply_gradients(zip(grads, full.trainable_variables))
            return loss

        rng = np.random.default_rng(spec.seed)
        bar = progress.add_task(f"train {spec.id} (keras)", total=steps) if progress else None
        t0 = time.perf_counter()
        for s in range(steps):
            idx = rng.integers(0, n, batch)
            inputs = {kind: shrink_input(task_input(first[kind], rgb[idx], seed=spec.seed * 100_000 + s), size).transpose(0, 2, 3, 1)
                      for kind in kinds}
            loss = step(inputs, [labels[t][idx] for t in tasks])
            if bar is not None and (s % 25 == 0 or s == steps - 1):
                progress.update(bar, completed=s + 1, description=f"train {spec.id} (keras) loss {float(loss):.4f}")
        seconds = time.perf_counter() - t0
        if bar is not None:
            progress.update(bar, visible=False)
        test = load_split(cfg, "test", ("rgb", *spec.tasks))
        test_loss = {}
        for i, task in enumerate(spec.tasks):
            x = shrink_input(task_input(task, test["rgb"], seed=7), size).transpose(0, 2, 3, 1)
            pred = exported.predict(x, batch_size=250, verbose=0)
            pred = torch.from_numpy(np.asarray(pred[i] if len(spec.tasks) > 1 else pred))
            if is_dense(task) and pred.ndim == 4:
                pred = pred.permute(0, 3, 1, 2)
            test_loss[task] = float(task_loss(task, pred, shrink_target(task, target_tensor(task, test[task]), size), cfg.l2_tasks))
        record = {"id": spec.id, "encoder": spec.encoder, "seconds": seconds, "steps": steps, "batch": batch, "lr": cfg.lr,
                  "train_images": n, "params": int(exported.count_params()), "test_loss": test_loss,
                  "fingerprint": fingerprint(cfg, spec)}
        full.save_weights(str(weights))
        _write_json(record_path, record)
    if not onnx_path.exists() or "probe" not in record:
        from harness.model.export.tensorflow import export_keras
        from zoo.build.cards import find_probe

        tmp = onnx_path.with_suffix(".tmp.onnx")
        t0 = time.perf_counter()
        export_keras(exported, tmp)
        probe_layer, tensor = find_probe(cfg, spec, tmp)
        record["probe"] = {"probe_layer": probe_layer, "tensor": tensor}
        record["export_seconds"] = time.perf_counter() - t0
        _write_json(record_path, record)
        tmp.replace(onnx_path)
    return record


def random_features(family: str, size: int, seed: int, batches: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """NCHW bottleneck features of a freshly initialised Keras ``family`` encoder on NCHW ``batches``
    (the frozen random baseline of a Keras family)."""
    from zoo.build.families_keras import random_encoder

    enc = random_encoder(family.removeprefix("keras-"), size, NECK, seed)
    out = {}
    for name, batch in batches.items():
        x = shrink_input(batch, size).transpose(0, 2, 3, 1)
        out[name] = torch.from_numpy(np.ascontiguousarray(np.asarray(enc.predict(x, batch_size=250, verbose=0)).transpose(0, 3, 1, 2)))
    return out
