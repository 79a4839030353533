"""Zoos in a notebook: load one, assemble one from cards, add a torch or Keras model to one.

A run reads its zoo from disk (``zoo.yaml`` and cards whose files stay inside the zoo
folder), so an assembled zoo is a folder too: each card is placed, byte for byte, with the
files it references, at the same relative position as in its own zoo (hard links where the
file system allows, copies otherwise). Card bytes and model files being unchanged, a model
keeps its content hash in reports and its entries in the artifact cache.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from harness.common.errors import HarnessError, excerpt
from harness.common.hashing import sha256_file
from harness.common.yaml_io import read_yaml_mapping
from harness.model.card import ModelCard, enclosing_zoo, load_card
from harness.model.zoo import Zoo, default_zoo_dir
from harness.model.zoo import load_zoo as _load_zoo

#: Card fields that name files relative to the card (a hardness card names its own ONNX file in turn).
_FILE_FIELDS = ("onnx", "classes", "hardness")


def load_zoo(path: Path | str | None = None) -> Zoo:
    """A zoo folder or zoo file; the embedded zoo (mini-taskonomy) when ``path`` is None."""
    return _load_zoo(Path(path) if path is not None else default_zoo_dir())


def zoo_from_cards(cards: Iterable[Path | str | ModelCard], *, name: str = "notebook-zoo", version: str = "1",
                   ground_truth: Path | str | None = None, ground_truth_repeat: Path | str | None = None,
                   probe: str | None = None, description: str | None = None, aliases: Mapping[str, str] | None = None,
                   folder: Path | str | None = None) -> Zoo:
    """A zoo of the given cards (paths or loaded cards), written into ``folder`` (default: a new temporary folder).

    ``ground_truth`` is a CSV ``source,target,affinity`` (copied in); ``probe`` the zoo's default
    probe set (a built-in name or a path). The folder stays after the call: the zoo's runs read it.
    """
    entries = []
    for card in cards:
        path = Path(card.path if isinstance(card, ModelCard) else card)
        entries.append((path, enclosing_zoo(path)))
    return _assemble(entries, name=name, version=version, ground_truth=ground_truth, ground_truth_repeat=ground_truth_repeat,
                     probe=probe, description=description, aliases=aliases, folder=folder)


def add_torch(zoo: Zoo, module: Any, example_input: Any, *, id: str, task: str, probe_layer: str | None = None,
              input_layout: str = "NCHW", out_dir: Path | str | None = None, exporter: str = "legacy", opset: int = 17,
              input: Mapping[str, Any] | None = None, version: str | None = None, **card_fields: Any) -> Zoo:
    """Export a torch module to ONNX (``export_torch``), write its card, and return ``zoo`` with it added.

    ``example_input`` is one batch the module takes (its shape gives the card's input size).
    ``probe_layer``: an ONNX node or tensor name (see ``harness layers CARD``); None picks the
    last feature map, as ``harness layers`` marks candidates. ``input`` adds card input fields
    (range, mean, std, channels); ``card_fields`` any other card field (architecture, notes, ...).
    The model files go to ``out_dir`` (default: a new temporary folder); ``zoo`` itself is unchanged.
    The new zoo's version is ``<version>+<id>`` unless ``version`` is given.
    """
    from harness.model.export.pytorch import export_torch

    size = _size(tuple(getattr(example_input, "shape", None) or ()), input_layout)  # before any file is written
    folder = _model_folder(out_dir)
    onnx_path = folder / f"{_safe_id(id)}.onnx"
    try:
        export_torch(module, example_input, onnx_path, opset=opset, exporter=exporter)
    except ValueError as exc:
        raise HarnessError(f"add_torch({id!r}): {exc}") from None
    except Exception as exc:  # noqa: BLE001 - torch.onnx's own failures, in one line; the cause stays chained
        raise HarnessError(f"add_torch({id!r}): torch.onnx could not export the module ({type(exc).__name__}: "
                           f"{excerpt(str(exc).splitlines()[0] if str(exc) else '', 200)})") from exc
    card = _write_card(onnx_path, "pytorch", id=id, task=task, probe_layer=probe_layer, layout=input_layout, size=size,
                       input=input, fields=card_fields)
    return _with_card(zoo, card, version)


def add_keras(zoo: Zoo, model: Any, *, id: str, task: str, probe_layer: str | None = None, out_dir: Path | str | None = None,
              opset: int = 17, input: Mapping[str, Any] | None = None, version: str | None = None, **card_fields: Any) -> Zoo:
    """Export a Keras model with tf2onnx (``export_keras``, NHWC input), write its card, return ``zoo`` with it added.

    Needs the ``tensorflow`` extra; without it a one-line :class:`HarnessError` says how to install it.
    """
    from harness.model.export.tensorflow import export_keras

    folder = _model_folder(out_dir)
    onnx_path = folder / f"{_safe_id(id)}.onnx"
    try:
        export_keras(model, onnx_path, opset=opset)
    except HarnessError:
        raise
    except Exception as exc:  # noqa: BLE001 - tf2onnx's own failures, in one line; the cause stays chained
        raise HarnessError(f"add_keras({id!r}): tf2onnx could not convert the model ({type(exc).__name__}: "
                           f"{excerpt(str(exc).splitlines()[0] if str(exc) else '', 200)})") from exc
    shape = tuple(model.inputs[0].shape)
    card = _write_card(onnx_path, "tensorflow", id=id, task=task, probe_layer=probe_layer, layout="NHWC",
                       size=_size(shape, "NHWC"), input=input, fields=card_fields)
    return _with_card(zoo, card, version)


def _safe_id(model_id: str) -> str:
    if not isinstance(model_id, str) or not model_id or "/" in model_id or "\\" in model_id or model_id.startswith("."):
        raise HarnessError(f"model id {excerpt(model_id)}: use letters, digits and _ . + - (it names the ONNX file)")
    return model_id


def _model_folder(out_dir: Path | str | None) -> Path:
    folder = Path(out_dir) if out_dir is not None else Path(tempfile.mkdtemp(prefix="harness-model-"))
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise HarnessError(f"out_dir {folder}: cannot create the folder ({exc.strerror or exc})") from None
    return folder


def _size(shape: tuple, layout: str) -> tuple[int, int]:
    if layout not in ("NCHW", "NHWC"):
        raise HarnessError(f"input_layout {excerpt(layout)}: expected 'NCHW' or 'NHWC'")
    if len(shape) != 4 or any(d is None for d in shape[1:]):
        raise HarnessError(f"example input of shape {list(shape)}: expected a 4-D image batch ({layout}) with fixed sizes")
    height, width = (shape[2], shape[3]) if layout == "NCHW" else (shape[1], shape[2])
    return int(height), int(width)


def _auto_probe_layer(onnx_path: Path, framework: str) -> str:
    """The last feature map the graph computes (what ``harness layers`` marks as a probe candidate)."""
    from harness.model.importer import import_onnx_file
    from harness.model.layers import probe_candidates

    layers = import_onnx_file(onnx_path, framework=framework).layers.layers
    candidates = probe_candidates(layers)
    ranked = [layer for layer in layers if layer.tensor in candidates]
    ranked.sort(key=lambda layer: len(layer.shape or ()) == 4)  # a feature map before a pooled vector
    if not ranked:
        raise HarnessError(f"{onnx_path}: no probe layer candidate found; pass probe_layer= (see `harness layers {onnx_path}`)")
    return ranked[-1].tensor


def _write_card(onnx_path: Path, framework: str, *, id: str, task: str, probe_layer: str | None, layout: str,
                size: tuple[int, int], input: Mapping[str, Any] | None, fields: Mapping[str, Any]) -> Path:
    """The card beside the ONNX file (with its sha256), validated by loading it."""
    from harness.model.export.card import write_card_for

    data: dict[str, Any] = {"id": id, "task": task, "sha256": sha256_file(onnx_path),
                            "probe_layer": probe_layer or _auto_probe_layer(onnx_path, framework), **fields}
    data["input"] = {"channels": "RGB", "range": [0.0, 1.0], **(input or {})}
    return write_card_for(onnx_path, data, framework, size, layout)


def _with_card(zoo: Zoo, card_path: Path, version: str | None) -> Zoo:
    new = load_card(card_path)
    if any(c.id == new.id for c in zoo.cards):
        raise HarnessError(f"model id {new.id!r} is already in zoo {zoo.name} {zoo.version}; pick another id")
    entries = [(c.path, zoo.root) for c in zoo.cards] + [(card_path, enclosing_zoo(card_path))]
    return _assemble(entries, name=zoo.name, version=version or f"{zoo.version}+{new.id}", ground_truth=zoo.ground_truth,
                     ground_truth_repeat=zoo.ground_truth_repeat, probe=zoo.probe, description=zoo.description,
                     aliases=dict(zoo.aliases), folder=None)


def _referenced(card_path: Path, depth: int = 0) -> list[Path]:
    """The files a card names (its ONNX file and the ONNX file's external data, class list, hardness card)."""
    if depth > 3:
        raise HarnessError(f"{card_path}: hardness cards nest too deep")
    data = read_yaml_mapping(card_path)
    files: list[Path] = []
    for key in _FILE_FIELDS:
        raw = data.get(key)
        if not isinstance(raw, str):
            continue
        path = (card_path.parent / raw).resolve()
        files.append(path)
        if key == "onnx":
            files += _external_data(path)
        elif key == "hardness" and path.is_file():
            files += [path, *_referenced(path, depth + 1)]
    return files


def _external_data(onnx_path: Path) -> list[Path]:
    import onnx
    from onnx.external_data_helper import uses_external_data

    try:
        model = onnx.load(str(onnx_path), load_external_data=False)
    except Exception:  # noqa: BLE001 - an unreadable file is reported when the card is loaded or imported
        return []
    out = []
    for tensor in model.graph.initializer:
        if uses_external_data(tensor):
            location = next((e.value for e in tensor.external_data if e.key == "location"), None)
            if location:
                out.append((onnx_path.parent / location).resolve())
    return out


def _place(source: Path, target: Path) -> None:
    """Hard link (same file system) or copy, byte for byte."""
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _assemble(entries: Sequence[tuple[Path, Path]], *, name: str, version: str, ground_truth, ground_truth_repeat, probe,
              description, aliases, folder) -> Zoo:
    if not entries:
        raise HarnessError("a zoo needs at least one card")
    root = Path(folder) if folder is not None else Path(tempfile.mkdtemp(prefix="harness-zoo-"))
    if (root / "zoo.yaml").exists():
        raise HarnessError(f"folder {root} already holds a zoo.yaml; pass an empty folder")
    roots: dict[Path, str] = {}
    card_names: list[str] = []
    seen: dict[str, Path] = {}
    for card_path, card_root in entries:
        card_path, card_root = Path(card_path).resolve(), Path(card_root).resolve()
        card = load_card(card_path, card_root)  # a bad card: its own one-line ValidationError
        if card.id in seen:
            raise HarnessError(f"{card_path}: model id {card.id!r} is already used by {seen[card.id]}; every card needs its own id")
        seen[card.id] = card_path
        prefix = roots.setdefault(card_root, f"models/{len(roots)}")
        for file in [card_path, *_referenced(card_path)]:
            if not file.is_relative_to(card_root):
                raise HarnessError(f"{card_path}: {file} lies outside the card's zoo folder {card_root}")
            if file.is_file():
                _place(file, root / prefix / file.relative_to(card_root))
        card_names.append(f"{prefix}/{card_path.relative_to(card_root).as_posix()}")
    data: dict[str, Any] = {"name": name, "version": version}
    if description:
        data["description"] = description
    data["cards"] = card_names
    for key, value in (("ground_truth", ground_truth), ("ground_truth_repeat", ground_truth_repeat)):
        if value is not None:
            source = Path(value)
            if not source.is_file():
                raise HarnessError(f"{key}: file {source} not found")
            _place(source.resolve(), root / "ground_truth" / f"{key}-{source.name}")
            data[key] = f"ground_truth/{key}-{source.name}"
    if probe is not None:
        data["probe"] = str(probe)
    if aliases:
        data["aliases"] = dict(aliases)
    (root / "zoo.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return _load_zoo(root)
