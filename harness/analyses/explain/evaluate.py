"""Offline evaluation of insecurities against the synthetic scenes' object masks.

The seed scored insecurities against part (CUB) and object (ADE20K) annotations. The
synthetic scene generator knows every pixel's object and its class, so for an object
classifier: an insecurity between classes (a, b) should fall on objects of class a or b.
Per insecurity, precision = fraction of its mask on such pixels. Baselines on the same pair:
a random mask of any size (its expected precision is the pair's pixel fraction of the image)
and the difficulty map alone thresholded to the same area. Per image: the mean over its
insecurities; means over images with percentile-bootstrap CIs (paired for differences).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from harness.model.card import ModelCard
from harness.common.errors import HarnessError
from harness.evaluation.bootstrap import bootstrap_indices, percentile_ci
from harness.analyses.explain.command import ExplainConfig, Explainer
from harness.analyses.explain.insecurity import difficulty_mask, insecurities


@dataclass(frozen=True)
class Scenes:
    rgb: torch.Tensor  # (N, 3, H, W) in [0, 1]
    objects: np.ndarray  # (N, H, W) object class index per pixel, -1 for the room
    labels: np.ndarray  # (N,) class_object label


def render_scenes(seeds: list[int], size: int, style: str = "indoor") -> Scenes:
    """Fresh scenes with per-pixel object classes (from the renderer's G-buffer)."""
    from harness.probes.synthetic.geometry import OBJECT_CLASSES
    from harness.probes.synthetic.labels import LabelContext, compute_label
    from harness.probes.synthetic.render import render_gbuffer
    from harness.probes.synthetic.styles import sample_scene

    rgb, objects, labels = [], [], []
    for seed in seeds:
        spec = sample_scene(seed, style)
        gbuf = render_gbuffer(spec, size)
        kinds = np.array([OBJECT_CLASSES.index(o.kind) for o in spec.objects] + [-1])
        objects.append(kinds[gbuf.obj].reshape(size, size))  # obj == -1 picks the trailing -1
        labels.append(int(compute_label("class_object", LabelContext(spec, gbuf))))
        rgb.append(gbuf.rgb)
    pixels = torch.from_numpy(np.stack(rgb).astype(np.float32)).permute(0, 3, 1, 2).contiguous()
    return Scenes(pixels, np.stack(objects), np.array(labels))


def object_class_indices(card: ModelCard) -> np.ndarray:
    """For each model output, the synthetic object class it names (cards must name them)."""
    from harness.probes.synthetic.geometry import OBJECT_CLASSES

    if not card.classes or any(c not in OBJECT_CLASSES for c in card.classes):
        raise HarnessError(f"{card.path}: field 'classes' must name synthetic object classes ({', '.join(OBJECT_CLASSES)}) "
                           f"to evaluate against object masks; got {list(card.classes) or 'none'}")
    return np.array([OBJECT_CLASSES.index(c) for c in card.classes])


def accuracy(explainer: Explainer, scenes: Scenes, kinds: np.ndarray) -> float:
    model = explainer.split.model.module()
    from harness.model.preprocess import preprocess

    with torch.no_grad():
        pred = torch.cat([model(preprocess(scenes.rgb[i:i + 256], explainer.card.input)).argmax(1)
                          for i in range(0, len(scenes.rgb), 256)]).numpy()
    return float((kinds[pred] == scenes.labels).mean())


def per_image_precisions(explainer: Explainer, scenes: Scenes, kinds: np.ndarray, batch: int = 32) -> dict[str, np.ndarray]:
    """Per image (NaN when it has no insecurity): insecurity, difficulty-only and random-mask precision."""
    size = tuple(explainer.card.input.size)
    keep, per_location = explainer.config.keep, explainer.config.pairs_per_location
    rows = {"insecurity": [], "difficulty": [], "random": [], "pairs": []}
    for start in range(0, len(scenes.rgb), batch):
        maps = explainer.maps(scenes.rgb[start:start + batch])
        for i in range(maps.top.shape[0]):
            objects = scenes.objects[start + i]
            found = insecurities(maps.classes[i], maps.difficulty[i], size, keep, per_location)
            d_mask = difficulty_mask(maps.difficulty[i], size, keep)
            ins, dif, rnd = [], [], []
            for item in found:
                a, b = (kinds[int(maps.top[i, j])] for j in item.pair)
                region = (objects == a) | (objects == b)
                ins.append(region[item.mask].mean())
                dif.append(region[d_mask].mean())
                rnd.append(region.mean())
            for key, vals in (("insecurity", ins), ("difficulty", dif), ("random", rnd)):
                rows[key].append(float(np.mean(vals)) if vals else np.nan)
            rows["pairs"].append(len(found))
    return {k: np.array(v, dtype=np.float64) for k, v in rows.items()}


def summarise(rows: dict[str, np.ndarray], n_boot: int, seed: int) -> dict:
    idx = bootstrap_indices(len(rows["insecurity"]), n_boot, seed)
    out = {"images": int(np.sum(~np.isnan(rows["insecurity"]))), "insecurities": int(rows["pairs"].sum())}
    for key in ("insecurity", "difficulty", "random"):
        v = rows[key]
        out[key] = {"mean": float(np.nanmean(v)), "ci95": percentile_ci(v, idx)}
    for other in ("random", "difficulty"):
        diff = rows["insecurity"] - rows[other]
        out[f"insecurity_minus_{other}"] = {"mean": float(np.nanmean(diff)), "ci95": percentile_ci(diff, idx)}
    return out


def evaluate(card: ModelCard, attributions: tuple[str, ...], n_images: int, first_seed: int, keep: float,
             score: str = "softmax", n_boot: int = 1000, layer: str | None = None, progress=None) -> dict:
    """The evaluation table for one object classifier: one row per attribution variant."""
    kinds = object_class_indices(card)
    scenes = render_scenes(list(range(first_seed, first_seed + n_images)), max(card.input.size))
    result = {"card": card.id, "content_hash": card.content_hash(), "images": n_images,
              "seeds": [first_seed, first_seed + n_images - 1], "keep": keep, "score": score, "variants": {}}
    per_image = {}
    for variant in attributions:
        explainer = Explainer.load(card, ExplainConfig(layer=layer, score=score, attribution=variant, keep=keep))
        result.setdefault("accuracy", accuracy(explainer, scenes, kinds))
        result["layer"] = explainer.split.layer.onnx_node or explainer.split.layer.tensor
        per_image[variant] = per_image_precisions(explainer, scenes, kinds)
        result["variants"][variant] = summarise(per_image[variant], n_boot, 0)
        if progress:
            progress(variant)
    result["paired"] = paired_differences(per_image, n_boot, 0)
    return result


def paired_differences(per_image: dict[str, dict[str, np.ndarray]], n_boot: int, seed: int) -> dict:
    """Insecurity precision of each variant minus the first one's (the seed's comparison), paired by image."""
    names = list(per_image)
    out = {}
    for other in names[1:]:
        diff = per_image[other]["insecurity"] - per_image[names[0]]["insecurity"]
        idx = bootstrap_indices(len(diff), n_boot, seed)
        out[f"{other} - {names[0]}"] = {"mean": float(np.nanmean(diff)), "ci95": percentile_ci(diff, idx)}
    return out
