"""Stage "cards": find each model's probe layer (the encoder bottleneck) in its ONNX graph,
write its card under zoo/cards/, and verify the card with the harness importer (parity)."""

from __future__ import annotations

import json

import onnx
import torch
import yaml

from harness.model.card import load_card
from harness.common.hashing import sha256_file
from harness.model.importer import import_card
from zoo.build.architectures import TaskModel, architecture_text, make_encoder
from zoo.build.data import TASK_INFO, loss_name
from zoo.build.hardness import card_field
from zoo.build.onnx_search import matching_node, node_outputs
from zoo.build.progress import progress_bar
from zoo.build.specs import ModelSpec

KERAS_ARCHITECTURE = ("Keras functional model, Taskonomy-style encoder: 3x(Conv2D 3x3-BN-ReLU; strides 2,2,1; 16,32,32 ch) "
                      "+ Conv2D 1x1 'bottleneck' -> 8x8x8; head {head}")


def find_probe(cfg, spec: ModelSpec, onnx_path, net: torch.nn.Module | None = None) -> tuple[str, str]:
    """(probe_layer, tensor): the ONNX node whose output is the encoder bottleneck.

    PyTorch graphs: the tensor whose value equals the trained encoder's output on a seeded
    input (node names of torch.onnx carry no module path). Keras graphs: the node tf2onnx
    named after the Keras layer ``bottleneck``.
    """
    model = onnx.load(str(onnx_path))
    nodes = node_outputs(model)
    if spec.framework == "tensorflow":
        hits = [(n, t) for n, t in nodes if "/bottleneck" in n]
        if len(hits) != 1:
            raise RuntimeError(f"{spec.id}: expected one bottleneck node, found {hits}")
        return hits[0]
    size = cfg.model_size(spec)
    if net is None:
        net = TaskModel(spec.encoder, spec.tasks, size, spec.aux)
        net.load_state_dict(torch.load(cfg.files.ckpt / f"{spec.id}.pt"))
    return matching_node(model, net.eval().encoder, size, f"{spec.id}: {onnx_path.name}")


def _training_text(cfg, spec: ModelSpec) -> str:
    style, first, n, _ = cfg.splits[spec.split]
    size = cfg.model_size(spec)
    seen = "" if size == cfg.size else f", area-downsampled to {size}x{size}"
    aux = f"; auxiliary training-only decoder for {', '.join(spec.aux)} (loss weight {cfg.aux_weight})" if spec.aux else ""
    return (f"probes.synthetic render_batch, style '{style}', seeds {first}..{first + n - 1} ({n} images, {cfg.size}x{cfg.size}"
            f"{seen}), labels {', '.join(spec.tasks)}{aux}")


def card_data(cfg, spec: ModelSpec, probe_layer: str, record: dict) -> dict:
    onnx_path = cfg.files.models / f"{spec.id}.onnx"
    size = cfg.model_size(spec)
    if spec.framework == "tensorflow" and spec.encoder.startswith("keras-"):
        arch = "Keras functional model (NHWC, padding 'same'), " + architecture_text(spec.encoder.removeprefix("keras-"), spec.tasks, size)
        exporter = "tf2onnx (harness.model.export.tensorflow.export_keras)"
    elif spec.framework == "tensorflow":
        (task,) = spec.tasks
        head = "conv3x3-ReLU, Conv2DTranspose x2 (dense)" if TASK_INFO[task].kind.startswith("dense") else "avgpool2x2-flatten-Dense64-ReLU-Dense"
        arch = KERAS_ARCHITECTURE.format(head=head)
        exporter = "tf2onnx (harness.model.export.tensorflow.export_keras)"
    else:
        arch = architecture_text(spec.encoder, spec.tasks, size)
        exporter = f"torch.onnx {spec.exporter} exporter (harness.model.export.pytorch.export_torch)"
    losses = ", ".join(f"{t} {v:.4f} ({loss_name(t, cfg.l2_tasks)})" for t, v in record["test_loss"].items())
    family = spec.encoder.removeprefix("keras-") if spec.framework == "pytorch" or spec.encoder.startswith("keras-") else "taskonomy"
    enc = make_encoder(family, size)  # 1.0's Keras models: the Taskonomy layers
    side, channels = size // enc.stride, enc.channels
    style, first, n_test, _ = cfg.splits["test"]
    notes = (f"Mini-Taskonomy {cfg.version} model ({spec.group}). Trained on CPU by zoo/build ({record['steps']} Adam steps, batch "
             f"{record['batch']}, lr {record['lr']} cosine, seed {spec.seed}, {record['seconds']:.0f} s); exported with "
             f"{exporter}. Test loss on {n_test} held-out {style} scenes (seeds {first}..{first + n_test - 1}): {losses}. "
             f"Probe layer = encoder bottleneck ({channels}x{side}x{side}).")
    data = {
        "id": spec.id,
        "task": spec.task,
        "framework": spec.framework,
        "onnx": f"../{cfg.files.models.name}/{spec.id}.onnx",
        "sha256": sha256_file(onnx_path),
        "input": {"size": [size, size], "layout": "NHWC" if spec.framework == "tensorflow" else "NCHW",
                  "channels": "RGB", "range": [0.0, 1.0]},
        "probe_layer": probe_layer,
        "architecture": arch,
        "training_data": _training_text(cfg, spec),
        "group": spec.group,
        "license": "MIT (trained by zoo/build in this repository)",
        "source": f"zoo/build (python -m zoo.build --version {cfg.version})",
        "notes": notes,
    }
    if len(spec.tasks) > 1:
        data["heads"] = list(spec.tasks)
    elif class_names(spec.task, cfg.splits[spec.split][0]):
        data["classes"] = list(class_names(spec.task, cfg.splits[spec.split][0]))  # names for `harness explain`
        data.update(card_field(cfg.files.cards / f"{spec.id}.yaml"))  # its hardness predictor, when built
    return data


def class_names(task: str, style: str = "indoor") -> tuple[str, ...]:
    """Class names of a classification task's outputs on scenes of ``style`` (empty for other tasks)."""
    from harness.probes.synthetic.geometry import OBJECT_CLASSES
    from harness.probes.synthetic.styles import SCENE_CLASS_NAMES

    return {"class_object": OBJECT_CLASSES, "class_scene": SCENE_CLASS_NAMES[style]}.get(task, ())


def run(cfg, force: bool = False, allow_missing: bool = False) -> int:
    """(Re)write the card of every model whose ONNX file changed, check it with the harness importer
    (parity); returns how many were written."""
    files = cfg.files
    files.ensure()
    written = 0
    info = json.loads(files.probe_info.read_text()) if files.probe_info.exists() and not force else {}
    with progress_bar() as progress:
        bar = progress.add_task("cards", total=len(cfg.models))
        for spec in cfg.models:
            onnx_path = files.models / f"{spec.id}.onnx"
            card_path = files.cards / f"{spec.id}.yaml"
            if allow_missing and not onnx_path.exists():
                progress.advance(bar)
                continue
            sha = sha256_file(onnx_path)
            entry = info.get(spec.id)
            if entry is None or entry.get("sha256") != sha or not card_path.exists():
                record = json.loads((files.records / f"{spec.id}.json").read_text())
                probe_layer, tensor = record["probe"]["probe_layer"], record["probe"]["tensor"]
                text = yaml.safe_dump(card_data(cfg, spec, probe_layer, record), sort_keys=False, width=120, allow_unicode=True)
                card_path.write_text(text)
                card = load_card(card_path, files.root)
                model = import_card(card)
                entry = {"probe_layer": probe_layer, "tensor": tensor, "sha256": sha,
                         "probe_shape": list(model.probe.shape or ()), "parity_max_abs_err": model.parity.max_abs_err,
                         "parity_max_rel_err": model.parity.max_rel_err, "outputs": [o.name for o in onnx.load(str(onnx_path)).graph.output]}
                info[spec.id] = entry
                written += 1
                files.probe_info.write_text(json.dumps(info, indent=1))
            progress.advance(bar)
    return written
