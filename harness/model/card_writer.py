"""``harness card MODEL.onnx``: a model card drafted from what a bare ONNX file says about itself.

Writing a card by hand means reading the graph's input shape in Netron, guessing the adapter
and hunting for a probe layer. The graph answers most of that: the input's size, layout,
channel count and element type, the exporter that wrote it (so which adapter normalises it),
and, once converted, the layers ``harness layers`` marks as likely probe layers. What the
graph cannot say (how pixels are scaled, the task, class names, RGB versus BGR) is written
with the schema's defaults and named, in the card's header comment and on the terminal, so
the user knows exactly which lines to check. The card is validated before it is written.
"""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import onnx

from harness.common.errors import HarnessError
from harness.model.card import INTEGER_RANGES, InputSpec, ModelCard, parse_card

#: Task written when the user gives none (the schema takes any name; reports group models by it).
UNSET_TASK = "unknown"
#: Input size written when the graph's height/width are dynamic (the usual ImageNet size).
FALLBACK_SIZE = (224, 224)
#: Producers whose files a source-specific adapter normalises (lower-case producer_name -> framework).
_PRODUCERS = {"pytorch": "pytorch", "torch.onnx": "pytorch", "tf2onnx": "tensorflow", "keras2onnx": "tensorflow",
              "tflite2onnx": "tflite"}
#: TFLite's converter joins the names of the TF ops it fuses with ';' (tf2onnx keeps them).
_TFLITE_NAME = re.compile(r"[^;\s]+;[^;\s]+")
_PLAIN = re.compile(r"[A-Za-z0-9_./+-][A-Za-z0-9_./;:+-]*")


@dataclass(frozen=True)
class Unknown:
    """A card field the graph does not determine: written with a default, reported to the user."""

    field: str
    why: str
    advice: str

    def line(self) -> str:
        return f"could not determine: {self.field} ({self.why}) — {self.advice}"


@dataclass
class CardDraft:
    """The card's fields, the comments that explain them, and what the user must still check."""

    data: dict[str, Any]
    comments: dict[str, str] = field(default_factory=dict)  # field path -> inline comment
    unknown: list[Unknown] = field(default_factory=list)
    candidates: list[str] = field(default_factory=list)  # every likely probe layer, the chosen one first


def guess_framework(model: onnx.ModelProto) -> tuple[str, str]:
    """The ``framework:`` (adapter name) for a file, and the evidence, from its producer and ops.

    Old files (IR 3, or opsets below 13 from an unknown producer) get ``onnx-legacy``; an old
    opset from a known exporter gets ``onnx``, whose adapter upgrades it and still runs the
    TFLite/TensorFlow/PyTorch passes (the source adapters do not upgrade).
    """
    from harness.adapters import ADAPTERS
    from harness.adapters.legacy import IR_INITIALIZERS_NOT_INPUTS, UPGRADE_TARGET, is_legacy
    from harness.adapters.passes import default_opset

    producer = model.producer_name.strip()
    version = model.producer_version.strip()
    said = f"producer {producer or '(none)'}{f' {version}' if version else ''}"
    framework = _PRODUCERS.get(producer.lower(), "onnx")
    if framework == "tensorflow" and _tflite_origin(model):
        framework, said = "tflite", f"{said} with TFLite ops or TFLite-style fused names"
    opset = default_opset(model)
    if model.ir_version < IR_INITIALIZERS_NOT_INPUTS or (framework == "onnx" and is_legacy(model)):
        framework, said = "onnx-legacy", f"{said}, IR {model.ir_version}, opset {opset}"
    elif is_legacy(model):
        framework, said = "onnx", f"{said}, but opset {opset} < {UPGRADE_TARGET}: the onnx adapter upgrades it"
    if framework not in ADAPTERS:  # a renamed adapter must not produce cards that fail validation
        raise HarnessError(f"internal: guessed framework {framework!r} is not registered ({', '.join(ADAPTERS.names())})")
    return framework, f"guessed from {said}"


def _tflite_origin(model: onnx.ModelProto) -> bool:
    """TFLite custom ops left by tf2onnx (``TFL_*``) or node names TFLite fused with ';'."""
    return any(node.op_type.startswith("TFL_") or _TFLITE_NAME.fullmatch(node.name or "") for node in model.graph.node)


def read_input(model: onnx.ModelProto, label: str) -> tuple[dict[str, Any], dict[str, str], list[Unknown]]:
    """The card's ``input`` mapping from the graph's image input, its comments, and what it leaves open."""
    from harness.model.importer import graph_input, input_dequantization

    graph = graph_input(model, label)  # one line naming the file for several inputs or non-image types
    if len(graph.shape) != 4:
        shape = ", ".join("?" if d is None else str(d) for d in graph.shape)
        raise HarnessError(f"{label}: graph input {graph.name!r} has shape ({shape}); a card describes a 4-D image batch")
    layout, layout_known = _layout(model, graph.name, graph.shape)
    channels = graph.shape[3] if layout == "NHWC" else graph.shape[1]
    height, width = graph.shape[1:3] if layout == "NHWC" else graph.shape[2:4]
    if channels not in (None, 1, 3):
        raise HarnessError(f"{label}: graph input {graph.name!r} has {channels} channels ({layout}); the harness feeds "
                           "images of 1 (gray) or 3 (RGB/BGR) channels")
    spec: dict[str, Any] = {"size": [height or FALLBACK_SIZE[0], width or FALLBACK_SIZE[1]], "layout": layout,
                            "channels": "gray" if channels == 1 else "RGB", "range": [0.0, 1.0]}
    comments = {"input.size": "height, width", "input.layout": "from the input's shape" if layout_known else "assumed",
                "input.range": "schema default: pixels in [0, 1]; see the header"}
    unknown = []
    if height is None or width is None:
        unknown.append(Unknown("input.size", f"the graph's height/width are dynamic; {FALLBACK_SIZE[0]}x{FALLBACK_SIZE[1]} "
                                             "written", "set the size the model was trained at"))
    if not layout_known:
        unknown.append(Unknown("input.layout", "the input's channel axis is dynamic or ambiguous; NCHW assumed",
                               "set NHWC if the model takes channels last"))
    if channels is None:
        unknown.append(Unknown("input.channels", "the channel axis is dynamic; RGB assumed", "set gray for 1-channel models"))
    elif channels == 3:
        unknown.append(Unknown("input.channels", "the graph says 3 channels, not their order; RGB written",
                               "set BGR if the model was trained on BGR images (Caffe, OpenCV)"))
    unknown.append(Unknown("input.range/mean/std", "the graph does not say; range [0, 1], no mean/std written",
                           "set them if the model expects normalised input"))
    if graph.dtype != "float32":
        spec["dtype"] = graph.dtype
        comments["input.dtype"] = "the graph input's element type"
    if graph.dtype in INTEGER_RANGES:
        quantization = input_dequantization(model, graph, label)
        if quantization is None:
            unknown.append(Unknown("input.scale/zero_point", f"no DequantizeLinear reads the {graph.dtype} input",
                                   "set both (integer = round(value / scale) + zero_point; scale: 1, zero_point: 0 with "
                                   "range: [0, 255] for raw pixels)"))
        else:
            spec["scale"], spec["zero_point"] = quantization
            comments["input.scale"] = "from the DequantizeLinear that reads the input"
    return spec, comments, unknown


def _layout(model: onnx.ModelProto, name: str, shape: tuple[int | None, ...]) -> tuple[str, bool]:
    """NCHW or NHWC, and whether the graph settles it (a 1/3-channel axis, or a Transpose to NCHW first)."""
    first, last = shape[1], shape[3]
    if last in (1, 3) and first not in (1, 3):
        return "NHWC", True
    if first in (1, 3) and last not in (1, 3):
        return "NCHW", True
    to_nchw = any(node.op_type == "Transpose" and node.input and node.input[0] == name
                  and any(a.name == "perm" and list(a.ints) == [0, 3, 1, 2] for a in node.attribute)
                  for node in model.graph.node)
    return ("NHWC", True) if to_nchw else ("NCHW", False)


def find_probe_layer(model: onnx.ModelProto, card: ModelCard) -> tuple[list[str], str | None]:
    """Likely probe layers as ``harness layers`` marks them (the last feature map first), as names
    the card can use; or ([], why) when the model does not convert."""
    from harness.model.importer import import_card, resolve_tensor
    from harness.model.layers import probe_candidates

    first = next((n.output[0] for n in model.graph.node if n.output and n.output[0]), None)
    if first is None:
        return [], "the graph has no nodes"
    try:
        probed = import_card(replace(card, probe_layer=first), check_parity=False)
    except HarnessError as exc:
        return [], f"the model does not convert: {exc}"
    marked = probe_candidates(probed.layers.layers)
    ordered = [(index, layer) for index, layer in enumerate(probed.layers.layers) if layer.tensor in marked]
    ordered.sort(key=lambda item: (len(item[1].shape or ()) != 4, -item[0]))  # feature maps first, then the latest
    layers = [layer for _, layer in ordered]
    names = []
    for layer in layers:  # a name of the original graph (passes may rename), readable where possible
        for name in (layer.module_path, layer.onnx_node, layer.tensor):
            try:
                if name and resolve_tensor(model, name, "") == layer.tensor:
                    names.append(name)
                    break
            except HarnessError:
                continue
    return names, None if names else "no layer of the converted graph looks like a feature map or embedding"


def draft_card(onnx_path: Path, out: Path, card_id: str | None = None, task: str | None = None) -> CardDraft:
    """Every field of a card for ``onnx_path`` to be written at ``out`` (nothing is written here)."""
    from harness.common.hashing import sha256_file
    from harness.model.onnx_io import load_onnx

    label = str(onnx_path)
    model = load_onnx(onnx_path, label)
    framework, evidence = guess_framework(model)
    spec, comments, unknown = read_input(model, label)
    card_id = card_id or _id_from(onnx_path.stem)
    relative = Path(os.path.relpath(onnx_path.resolve(), out.resolve().parent)).as_posix()
    data: dict[str, Any] = {"id": card_id, "task": task or UNSET_TASK, "framework": framework, "onnx": relative,
                            "sha256": sha256_file(onnx_path), "input": spec, "probe_layer": ""}
    draft = CardDraft(data, {**comments, "framework": evidence, "onnx": "relative to this card"}, unknown)
    if task is None:
        draft.comments["task"] = "set it: reports group and name models by task"
        draft.unknown.insert(0, Unknown("task", "the graph does not say", "set the task the model was trained for"))
    provisional = _provisional_card(data, onnx_path)
    names, why = find_probe_layer(model, provisional)
    draft.candidates = names
    draft.data["probe_layer"] = names[0] if names else _last_output(model)
    if names:
        draft.comments["probe_layer"] = "likely probe layer (`harness layers` marks it *)"
    else:
        draft.unknown.append(Unknown("probe_layer", f"{why}; the graph's last node written", "pick one with `harness layers`"))
    if _looks_like_classifier(model):
        draft.unknown.append(Unknown("classes", "the graph does not name its output classes",
                                     "add classes: [names] or a file if the model is a classifier"))
    return draft


def _id_from(stem: str) -> str:
    """The file stem made a valid card id (letters, digits, _ . + -; starting with a letter or digit)."""
    cleaned = re.sub(r"[^A-Za-z0-9_.+-]+", "-", stem).lstrip("_.+-")
    return cleaned or "model"


def _provisional_card(data: dict[str, Any], onnx_path: Path) -> ModelCard:
    """The draft as an in-memory card, to convert the model and list its layers (errors name the ONNX file).

    An integer input with unknown quantization gets scale 1, zero point 0 here: layer names and
    shapes do not depend on it.
    """
    spec = data["input"]
    integer = spec.get("dtype") in INTEGER_RANGES
    scale, zero_point = (spec.get("scale", 1.0), spec.get("zero_point", 0)) if integer else (None, None)
    return ModelCard(id=data["id"], task=data["task"], framework=data["framework"], onnx=onnx_path.resolve(), probe_layer="",
                     input=InputSpec(size=tuple(spec["size"]), layout=spec["layout"], channels=spec["channels"],
                                     dtype=spec.get("dtype"), scale=scale, zero_point=zero_point),
                     path=onnx_path.resolve())


def _last_output(model: onnx.ModelProto) -> str:
    return next((o for node in reversed(model.graph.node) for o in node.output if o), model.graph.output[0].name)


def _looks_like_classifier(model: onnx.ModelProto) -> bool:
    """A graph output of shape (batch, K) with K > 1: class scores, whose names a card can hold."""
    for output in model.graph.output:
        dims = output.type.tensor_type.shape.dim
        if len(dims) == 2 and dims[1].dim_value > 1:
            return True
    return False


def render(draft: CardDraft, source: str) -> str:
    """The card as YAML: a header naming what to check, one line per field with its comment."""
    lines = [f"# Model card drafted by `harness card` from {source}.", "# Check the fields below (the graph does not "
             "determine them; the schema's defaults are written):" if draft.unknown else "# Every field was read from the graph."]
    lines += [f"#   - {u.field}: {u.why} — {u.advice}" for u in draft.unknown]
    for key, value in draft.data.items():
        if isinstance(value, dict):
            lines.append(f"{key}:")
            lines += [_line(f"  {sub}", item, draft.comments.get(f"{key}.{sub}")) for sub, item in value.items()]
        else:
            lines.append(_line(key, value, draft.comments.get(key)))
        if key == "probe_layer":
            others = ", ".join(draft.candidates[1:]) or "none"
            lines.append(f"# other likely probe layers: {others} (`harness layers {source}` lists every layer)")
    return "\n".join(lines) + "\n"


def _line(key: str, value: Any, comment: str | None) -> str:
    text = f"{key}: {_scalar(value)}"
    return f"{text}  # {comment}" if comment else text


def _scalar(value: Any) -> str:
    """One YAML flow value: plain where it reads back unchanged, else a double-quoted (JSON) string."""
    import json

    import yaml

    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    if isinstance(value, str):
        plain = _PLAIN.fullmatch(value) and yaml.safe_load(value) == value
        return value if plain else json.dumps(value)
    return yaml.safe_dump(value, default_flow_style=True).removesuffix("...\n").strip()


def write_card(onnx_path: Path, out: Path | None = None, *, card_id: str | None = None, task: str | None = None,
               force: bool = False) -> tuple[Path, CardDraft]:
    """Draft, validate and atomically write the card (``out`` defaults to the ONNX file with ``.yaml``)."""
    import yaml

    from harness.common.atomic import write_atomic

    onnx_path = Path(onnx_path)
    out = Path(out) if out is not None else onnx_path.with_suffix(".yaml")
    if not onnx_path.is_file():
        raise HarnessError(f"{onnx_path}: no such ONNX file")
    if out.resolve() == onnx_path.resolve():
        raise HarnessError(f"{out}: is the model itself; write the card to a .yaml file (--out)")
    if out.is_dir():
        raise HarnessError(f"{out}: is a folder; --out names the card file to write")
    if out.exists() and not force:
        raise HarnessError(f"{out}: already exists; pass --force to overwrite it")
    draft = draft_card(onnx_path, out, card_id, task)
    text = render(draft, onnx_path.name)
    parsed = yaml.safe_load(text)
    if parsed != draft.data:  # the renderer must round-trip; never write a card that says something else
        raise HarnessError(f"{out}: internal: the rendered card does not read back as drafted; nothing was written")
    parse_card(out.absolute(), parsed)  # one line naming the field (an --id the schema refuses, a card outside the zoo)
    write_atomic(out, text.encode())
    return out, draft


def run_card_command(args: argparse.Namespace, console: Any) -> int:
    """``harness card``: write the card, then say what it holds and what the user must check."""
    out, draft = write_card(args.model, args.out, card_id=args.id, task=args.task, force=args.force)
    data = draft.data
    console.print(f"wrote {out}: id {data['id']}, framework {data['framework']}, input "
                  f"{'x'.join(map(str, data['input']['size']))} {data['input']['layout']} {data['input']['channels']}, "
                  f"probe layer {data['probe_layer']}", markup=False, highlight=False, soft_wrap=True)
    if len(draft.candidates) > 1:
        console.print(f"other likely probe layers: {', '.join(draft.candidates[1:])}", markup=False, highlight=False,
                      soft_wrap=True)
    for unknown in draft.unknown:
        console.print(unknown.line(), markup=False, highlight=False, soft_wrap=True)
    return 0
