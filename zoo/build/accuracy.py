"""Test accuracy of a zoo's classifiers (from their shipped ONNX files) beside the majority class: is the
classification target learned at all? (Zoo 2.0's class_object models were not: 0.52-0.57 against 0.53.)"""

from __future__ import annotations

import numpy as np
import onnx

from harness.model.parity import ort_session
from zoo.build.data import TASK_INFO, load_split, shrink_input, task_input


def classifier_accuracy(cfg) -> dict[str, dict[str, float]]:
    """{model id: {"task", "accuracy", "majority"}} for every trained model with a classification head."""
    out = {}
    test = None
    for spec in cfg.models:
        heads = [i for i, t in enumerate(spec.tasks) if TASK_INFO[t].kind == "classification"]
        path = cfg.files.models / f"{spec.id}.onnx"
        if not heads or not path.exists():
            continue
        test = test if test is not None else load_split(cfg, "test")
        session = ort_session(onnx.load(str(path)), [])
        x = shrink_input(task_input("autoencoder", test["rgb"], seed=7), cfg.model_size(spec))
        if spec.framework == "tensorflow":
            x = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
        outputs = session.run(None, {session.get_inputs()[0].name: x})
        for i in heads:
            task = spec.tasks[i]
            labels = test[task]
            predicted = np.asarray(outputs[i]).argmax(axis=-1)
            out[spec.id if len(spec.tasks) == 1 else f"{spec.id}:{task}"] = {
                "task": task, "accuracy": float((predicted == labels).mean()),
                "majority": float(np.bincount(labels).max() / len(labels))}
    return out
