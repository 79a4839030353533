"""A small zoo of test models, built in the tests (legacy torch export: fast)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from harness.model.export.pytorch import export_torch
from tests.archs import torch_archs
from tests.helpers import last_node, write_card, write_zoo
from tests.onnx_builders import conv_relu_model, save

#: (model id, family, seed, task)
TORCH_MODELS = (
    ("resnet-a", "resnet", 0, "classification"),
    ("resnet-b", "resnet", 1, "classification"),
    ("mobilenet", "mobilenet", 0, "classification"),
    ("densenet", "densenet", 0, "classification"),
    ("autoenc", "encoder_decoder", 0, "autoencoding"),
)


def build_test_zoo(folder: Path, *, with_ground_truth: bool = True, models=TORCH_MODELS, nhwc_model: bool = True, version: str = "1") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    ids = []
    for model_id, family, seed, task in models:
        net = torch_archs.build(family, seed=seed)
        path = export_torch(net, torch.rand(1, 3, 32, 32), folder / f"{model_id}.onnx", opset=17, exporter="legacy")
        extra = {}
        if model_id == "resnet-b":  # attribution explains the arg-max class logit instead of the probe sum
            import onnx

            extra["target"] = {"kind": "argmax", "output": onnx.load(str(path)).graph.output[0].name}
        write_card(folder, model_id, path.name, last_node(path), task=task, architecture=family, **extra)
        ids.append(model_id)
    if nhwc_model:  # a different input size and layout, as a TF export would have
        save(conv_relu_model(size=16, layout="NHWC"), folder / "tiny-nhwc.onnx")
        write_card(folder, "tiny-nhwc", "tiny-nhwc.onnx", "relu1", size=(16, 16), layout="NHWC", framework="onnx", task="edges")
        ids.append("tiny-nhwc")
    extra = {}
    if with_ground_truth:
        rng = np.random.default_rng(7)
        rows = ["source,target,affinity"]
        for s in ids:
            for t in ids:
                rows.append(f"{s},{t},{1.0 if s == t else rng.uniform():.6f}")
        (folder / "ground_truth.csv").write_text("\n".join(rows) + "\n")
        extra["ground_truth"] = "ground_truth.csv"
    return write_zoo(folder, name="test-zoo", version=version, **extra)
