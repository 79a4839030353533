"""``harness explain``: insecurity maps of one classifier (a card) or of every classifier in a zoo."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.progress import Progress

from harness.common.console import progress_bar, styled
from harness.model.card import ModelCard, load_card
from harness.common.errors import HarnessError
from harness.common.options import check_count, check_output_dir, check_range
from harness.analyses.explain import figures
from harness.probing.batching import PROBE_IMAGES, auto_batch
from harness.runtime.budget import memory_limit
from harness.attribution.layer import ATTRIBUTIONS, DifficultyModel, LayerMaps, explain_batch
from harness.analyses.explain.gallery import render_gallery, render_index
from harness.analyses.explain.insecurity import insecurities
from harness.analyses.explain.options import DEFAULT_IMAGES
from harness.analyses.explain.scores import SCORES
from harness.model.split import SplitModel
from harness.model.importer import import_card
from harness.model.preprocess import preprocess
from harness.common.atomic import write_all_atomic
from harness.report.header import document_header

BATCH = 16


@dataclass(frozen=True)
class ExplainConfig:
    layer: str | None = None
    score: str = "softmax"
    attribution: str = "gradient"
    top_classes: int = 5
    pairs_per_location: int = 3
    keep: float = 0.2
    second_order_method: str = "auto"


def check_config(config: ExplainConfig) -> None:
    """One-line errors naming the flag for every bad value."""
    SCORES.get(config.score)  # "unknown difficulty score ...; did you mean"
    ATTRIBUTIONS.get(config.attribution)
    check_count("--top-classes", config.top_classes, minimum=2, hint="insecurities are class pairs")
    check_count("--pairs-per-location", config.pairs_per_location, minimum=2, hint="classes per location")
    check_range("--keep", config.keep, 0.0, 1.0, low_open=True)


def is_classifier(card: ModelCard) -> bool:
    """A single-head card that names its classes (field 'classes').

    The output shape alone cannot tell logits from a regressed vector (room_layout outputs
    (N, 9)), so the zoo form explains the cards that declare their classes; a single card
    given on the command line is explained when its output is one score vector per image
    (N, C) with C >= 2 (dense outputs such as images are refused when the model is loaded).
    """
    return bool(card.classes) and not card.heads


@dataclass
class Explainer:
    """A classifier (and optionally its hardness predictor) ready to explain raw RGB batches."""

    card: ModelCard
    split: SplitModel
    difficulty: DifficultyModel
    classes: tuple[str, ...]
    config: ExplainConfig
    second_order_method: str = "auto"  # resolved on the first batch (piecewise linearity is a property of the head)

    @classmethod
    def load(cls, card: ModelCard, config: ExplainConfig) -> Explainer:
        check_config(config)
        split = SplitModel.at(import_card(card), config.layer)
        shape = split.output_shape(torch.zeros(1, 3, *card.input.size))
        k = int(np.prod(shape, dtype=np.int64))
        if not card.classes and (len(shape) != 1 or k < 2):
            raise HarnessError(f"{card.path}: not a classifier: its output is {'x'.join(map(str, shape)) or 'a scalar'} per image, "
                               "explain needs one score per class (N, C); if the model is a classifier, add 'classes: [...]' to its card")
        if card.classes and len(card.classes) != k:
            raise HarnessError(f"{card.path}: field 'classes': lists {len(card.classes)} names but the model has {k} outputs")
        names = card.classes or tuple(f"class {i}" for i in range(k))
        score = SCORES.get(config.score)
        if score.needs_hardness_model:
            if card.hardness is None:
                raise HarnessError(f"{card.path}: --score hardness needs the card field 'hardness: path/to/predictor.yaml' "
                                   f"(a hardness predictor's card); or use --score softmax / entropy")
            hard_card = load_card(card.hardness)
            hard_split = SplitModel.at(import_card(hard_card), None, flag=f"{hard_card.path}: probe_layer")
            difficulty = DifficultyModel(hard_split, score)
        else:
            difficulty = DifficultyModel(split, score)
        return cls(card, split, difficulty, names, config, config.second_order_method)

    def maps(self, rgb: torch.Tensor) -> LayerMaps:
        """Layer-grid maps for a raw RGB batch in [0, 1] (NCHW)."""
        spec = self.card.input
        x = preprocess(rgb, spec)
        x_ref = preprocess(torch.zeros(1, 3, *spec.size), spec)  # the seed's black reference
        hard = self.difficulty.split.model.card.input
        x_d = x if self.difficulty.split is self.split else preprocess(rgb, hard)
        x_ref_d = x_ref if self.difficulty.split is self.split else preprocess(torch.zeros(1, 3, *hard.size), hard)
        maps = explain_batch(self.split, x, self.difficulty, x_d, self.config.attribution, self.config.top_classes,
                             x_ref, x_ref_d, self.second_order_method)
        if maps.second_order and self.second_order_method == "auto":
            self.second_order_method = maps.second_order
        return maps


def explain_batch_size(explainer: Explainer, probe) -> int:
    """Images per explanation pass: what the memory budget holds of one measured two-image pass,
    at most :data:`BATCH` (a 224-px classifier with second-order maps needs far more per image
    than the 64-px ones the fixed batch was set for)."""
    _, first = next(iter(probe.batches(min(PROBE_IMAGES, probe.n_images))))
    choice = auto_batch(lambda: explainer.maps(first), torch.device("cpu"), memory_limit(None))  # explain runs on CPU
    return max(1, min(BATCH, choice.size))


def explain_card(card: ModelCard, probe, config: ExplainConfig, progress: Progress | None = None) -> dict[str, bytes]:
    """All files of one model's explanation, rendered in memory: explain.json, index.html, figures/*.png."""
    t0 = time.perf_counter()
    explainer = Explainer.load(card, config)
    size = tuple(card.input.size)
    files: dict[str, bytes] = {}
    images, methods = [], set()
    bar = progress.add_task(card.id, total=probe.n_images) if progress else None
    explain_seconds = 0.0
    for start, rgb in probe.batches(explain_batch_size(explainer, probe)):
        t1 = time.perf_counter()
        maps = explainer.maps(rgb)
        explain_seconds += time.perf_counter() - t1
        if maps.second_order:
            methods.add(maps.second_order)
        shown = torch.nn.functional.interpolate(rgb, size=size, mode="area") if tuple(rgb.shape[-2:]) != size else rgb
        for i in range(rgb.shape[0]):
            images.append(_image_entry(explainer, maps, i, start + i, probe.ids[start + i], shown[i], files))
        if progress:
            progress.advance(bar, rgb.shape[0])
    doc = {
        **document_header("explain"),
        "model": {"id": card.id, "card": str(card.path), "content_hash": card.content_hash(),
                  "hardness_card": str(card.hardness) if config.score == "hardness" else None},
        "parameters": {
            "layer": explainer.split.layer.onnx_node or explainer.split.layer.tensor,
            "layer_shape": list(explainer.split.layer.shape[1:]),
            "score": config.score, "attribution": config.attribution, "top_classes": config.top_classes,
            "pairs_per_location": config.pairs_per_location, "keep": config.keep,
            "second_order_method": ",".join(sorted(methods)) or None,
            "class_map_floor": 1e-7, "ig_points": 51 if config.attribution == "ig" else None,
        },
        "classes": list(explainer.classes),
        "probe": {"name": probe.name, "source": probe.source, "n_images": probe.n_images, "sha256": probe.sha256()},
        "images": images,
        "timing": {"seconds": round(time.perf_counter() - t0, 3), "explain_seconds": round(explain_seconds, 3),
                   "images_per_second": round(probe.n_images / explain_seconds, 3) if explain_seconds > 0 else None},
    }
    files["index.html"] = render_gallery(doc).encode()
    files["explain.json"] = (json.dumps(doc, indent=1) + "\n").encode()
    return files


def _image_entry(explainer: Explainer, maps: LayerMaps, i: int, index: int, image_id: str, rgb: torch.Tensor,
                 files: dict[str, bytes]) -> dict:
    from harness.analyses.explain.insecurity import upsample

    size = tuple(explainer.card.input.size)
    picture = rgb.permute(1, 2, 0).numpy()
    stem = f"figures/{index:04d}"
    files[f"{stem}_image.png"] = figures.image_png(picture)
    files[f"{stem}_difficulty.png"] = figures.heat_png(picture, upsample(maps.difficulty[i], size).numpy())
    top = maps.top[i].tolist()
    found = insecurities(maps.classes[i], maps.difficulty[i], size, explainer.config.keep, explainer.config.pairs_per_location)
    entries = []
    for rank, ins in enumerate(found):
        a, b = (top[ins.pair[0]], top[ins.pair[1]])
        name = f"{stem}_insecurity{rank}.png"
        files[name] = figures.mask_png(picture, ins.map, ins.mask)
        entries.append({"classes": [explainer.classes[a], explainer.classes[b]], "class_indices": [a, b],
                        "mask_area": round(float(ins.mask.mean()), 6), "score": float(ins.score), "figure": name})
    return {
        "index": index, "id": image_id,
        "top_classes": [{"class": c, "name": explainer.classes[c], "probability": round(float(p), 6)}
                        for c, p in zip(top, maps.probs[i].tolist())],
        "difficulty": round(float(maps.score[i]), 6),
        "insecurities": entries,
        "figures": {"image": f"{stem}_image.png", "difficulty": f"{stem}_difficulty.png"},
    }


def _targets(target: Path) -> tuple[list[ModelCard], object | None]:
    from harness.model.zoo import is_zoo_file, load_zoo

    if target.is_dir() or (target.is_file() and is_zoo_file(target)):
        zoo = load_zoo(target)
        cards = [c for c in zoo.cards if is_classifier(c)]
        if not cards:
            raise HarnessError(f"{zoo.file}: no classifier in this zoo: add 'classes: [...]' to the classifiers' cards")
        return cards, zoo
    if not target.exists():
        raise HarnessError(f"{target}: no such card, zoo folder or zoo file")
    return [load_card(target)], None


def run_explain(args: argparse.Namespace, console: Console) -> int:
    from harness.probes import DEFAULT_PROBE, ProbeRequest, load_probe

    config = ExplainConfig(args.layer, args.score, args.attribution, args.top_classes, args.pairs_per_location, args.keep)
    check_config(config)
    check_count("--images", args.images)
    cards, zoo = _targets(Path(args.target))
    size = max(max(c.input.size) for c in cards)
    probe_name = args.probe or (zoo.probe if zoo and zoo.probe else DEFAULT_PROBE)
    probe = load_probe(probe_name, ProbeRequest(n_images=args.images or DEFAULT_IMAGES, seed=args.seed, size=size))
    out = args.out or Path("runs") / (f"explain-{zoo.name}-{zoo.version}" if zoo else f"explain-{cards[0].id}")
    check_output_dir(out)
    files: dict[str, bytes] = {}
    with progress_bar(console, transient=True) as progress:
        for card in cards:
            model_files = explain_card(card, probe, config, progress)
            prefix = f"{card.id}/" if zoo else ""
            files.update({prefix + name: data for name, data in model_files.items()})
    last = "explain.json"
    if zoo:
        index = {**document_header("explain-zoo", zoo=zoo),
                 "models": {c.id: f"{c.id}/explain.json" for c in cards}}
        files["index.html"] = render_index([(c.id, f"{c.id}/index.html") for c in cards], f"Insecurities: {zoo.name} {zoo.version}").encode()
        files[last] = (json.dumps(index, indent=1) + "\n").encode()
    write_all_atomic(out, files, last=last)
    for card in cards:
        doc = json.loads(files[(f"{card.id}/" if zoo else "") + "explain.json"])
        n_ins = sum(len(im["insecurities"]) for im in doc["images"])
        console.print(styled((card.id, "green"), f": {doc['probe']['n_images']} images, {n_ins} insecurities, "
                      f"{doc['timing']['images_per_second']} images/s ({config.attribution}, {config.score})"))
    console.print(f"wrote {out / last} and {out / 'index.html'}")
    return 0
