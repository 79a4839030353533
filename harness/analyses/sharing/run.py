"""``harness sharing CARD --layer NAME ...``: per-unit task contributions and feature sharing.

Import the card's model, take probe images with labels for every head, keep the images every
classification head gets right, marginalise every unit of each layer (fast batched path) and
reduce to contributions, sharing measures with bootstrap CIs, a figure and an HTML page.
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import numpy as np
import torch

from harness.common.errors import HarnessError
from harness.common.options import check_count, check_output_dir, option_error
from harness.analyses.sharing.heads import Head, make_head
from harness.analyses.sharing.marginalise import marginalise
from harness.analyses.sharing.measures import MEASURES, bootstrap, head_contributions, interval, sharing_measures
from harness.analyses.sharing.units import unit_layer
from harness.report.header import document_header

SCHEMA = "harness.sharing/1"


def default_labels(card_path: Path, heads: tuple[str, ...] = ()) -> str:
    """The first built-in label source that labels every head (the enclosing zoo's probe set first)."""
    from harness.model.card import ZOO_FILE, enclosing_zoo
    from harness.probes.labels import builtin_tasks, list_label_sources
    from harness.common.yaml_io import read_yaml_mapping

    candidates = list_label_sources()
    zoo_file = enclosing_zoo(card_path) / ZOO_FILE
    if zoo_file.is_file():
        probe = read_yaml_mapping(zoo_file).get("probe")
        if isinstance(probe, str) and probe in candidates:
            candidates.insert(0, probe)
    for name in candidates:
        if set(heads) <= set(builtin_tasks(name)):
            return name
    return candidates[0]


def _check_args(args: argparse.Namespace) -> None:
    for flag, value, low in (("--samples", args.samples, 2), ("--images", args.images, 1), ("--bootstrap", args.bootstrap, 0)):
        check_count(flag, value, minimum=low)
    if not 0 < args.threshold < 1:
        raise option_error("--threshold", f"expected a number in (0, 1), got {args.threshold}")
    check_count("--max-rows", args.max_rows, hint="or leave it out: batches sized to ~4 MB")


def _heads(card, model, labelled, x: torch.Tensor, sigma: float | None) -> tuple[list[Head], tuple]:
    from harness.model.onnx_io import load_onnx

    where = str(card.path)
    if len(card.heads) < 2:
        raise HarnessError(f"{where}: field 'heads': feature sharing needs at least two heads (ONNX output names), "
                           f"the card lists {len(card.heads)}")
    outputs = [o.name for o in load_onnx(card.onnx, where).graph.output]
    with torch.no_grad():
        out0 = model.graph(x)
    out0 = tuple(out0) if isinstance(out0, (tuple, list)) else (out0,)
    heads = []
    for name in card.heads:
        if name not in outputs:
            from harness.common.registry import suggest

            raise HarnessError(f"{where}: field 'heads': {name!r} is not an output of {card.onnx.name}; {suggest(name, outputs)}")
        index = outputs.index(name)
        heads.append(make_head(name, index, out0[index], labelled.task(name), where, sigma))
    return heads, out0


def _keep(heads: list[Head], out0: tuple) -> torch.Tensor:
    keep = torch.ones(out0[0].shape[0], dtype=torch.bool)
    for head in heads:
        keep &= head.correct(out0[head.index])
    return keep


def analyse_layer(model, name: str, x: torch.Tensor, heads: list[Head], keep: torch.Tensor, args, progress) -> dict:
    """Marginalise one layer and reduce it to contributions and sharing measures."""
    layer = unit_layer(model.graph, model.layers.resolve(name, str(model.card.path)), name, str(model.card.path))
    bar = progress.add_task(f"{name}: {layer.n_units} units x {args.samples} samples", total=layer.n_units)
    t0 = time.perf_counter()
    marg = marginalise(model.graph, x, layer, heads, args.samples, seed=args.seed, max_rows=args.max_rows,
                       progress=lambda k: progress.advance(bar, k))
    seconds = time.perf_counter() - t0
    contrib = head_contributions(heads, marg, keep)
    top = max(float(c.max()) for c in contrib.values()) or 1.0
    pairs = []
    bar_b = progress.add_task(f"{name}: bootstrap", total=None) if args.bootstrap else None
    for a, b in itertools.combinations([h.name for h in heads], 2):
        point = sharing_measures(contrib[a], contrib[b], args.threshold)
        entry = {"heads": [a, b], **point}
        if args.bootstrap:
            draws = bootstrap(heads, marg, keep, (a, b), args.bootstrap, args.seed, args.threshold)
            entry.update({f"{m}_ci": interval(draws[m]) for m in MEASURES})
        pairs.append(entry)
    if bar_b is not None:
        progress.update(bar_b, visible=False)
    return {
        "name": name, "op": layer.layer.op_type, "tensor": layer.layer.tensor, "units": layer.n_units,
        "params_per_unit": layer.unit_dim(), "path": marg.path, "seconds": round(seconds, 3),
        "units_per_second": round(layer.n_units / seconds, 3) if seconds > 0 else None,
        "contributions": {k: [float(v) for v in c] for k, c in contrib.items()},
        "normalised": {k: [float(v) / top for v in c] for k, c in contrib.items()},
        "pairs": pairs,
    }


def run_sharing(args: argparse.Namespace, console) -> int:
    from harness.common.console import progress_bar

    from harness.model.card import load_card
    from harness.model.importer import import_card
    from harness.model.preprocess import preprocess
    from harness.probes.base import ProbeRequest
    from harness.probes.labels import load_labelled, per_image
    from harness.probes.quality import label_problem
    from harness.analyses.sharing.write import write_outputs

    _check_args(args)
    card = load_card(args.card)
    if len(card.heads) < 2:
        raise HarnessError(f"{card.path}: field 'heads': feature sharing needs at least two heads (ONNX output names), "
                           f"the card lists {len(card.heads)}")
    out = args.out or Path("runs") / f"sharing-{card.id}"
    check_output_dir(out)
    source = args.labels or default_labels(card.path, card.heads)
    with console.status(f"importing {card.id} and labelling {args.images} images from {source} ..."):
        model = import_card(card)
        request = ProbeRequest(n_images=args.images, seed=args.seed, size=max(card.input.size))
        labelled = load_labelled(source, request, tasks=list(card.heads))
    for head in card.heads:
        labels = per_image(labelled.task(head))
        problem = label_problem(head, labels.values, labels.is_classification)
        if problem:
            raise HarnessError(f"--labels {source}: {problem}")
    pixels = torch.from_numpy(labelled.probe.images.astype(np.float32) / 255.0)
    x = preprocess(pixels, card.input)
    if card.input.layout == "NHWC":
        x = x.permute(0, 2, 3, 1).contiguous()
    heads, out0 = _heads(card, model, labelled, x, args.sigma)
    keep = _keep(heads, out0)
    if not bool(keep.any()):
        raise HarnessError(f"{card.path}: no probe image is classified correctly by every classification head; "
                           f"check that --labels {source} matches the heads' classes")
    head_info = []
    for head in heads:
        info = {"name": head.name, "kind": head.kind}
        if head.kind == "classification":
            info.update(n_classes=head.n_classes, accuracy=float(head.correct(out0[head.index]).float().mean()))
        else:
            info.update(sigma=head.sigma, sigma_source="given (--sigma)" if args.sigma else "maximum likelihood on the probe images")
        head_info.append(info)
    layers = []
    with progress_bar(console) as progress:
        for name in args.layer:
            layers.append(analyse_layer(model, name, x, heads, keep, args, progress))
    document = {
        "schema": SCHEMA,
        **document_header("sharing"),
        "card": {"id": card.id, "path": str(card.path), "content_hash": card.content_hash(), "task": card.task},
        "labels": {"source": source, "images": labelled.probe.n_images, "images_used": int(keep.sum()),
                   "probe_sha256": labelled.probe.sha256()},
        "heads": head_info,
        "settings": {"samples": args.samples, "seed": args.seed, "threshold": args.threshold, "bootstrap": args.bootstrap,
                     "correction": 1e6, "max_rows": args.max_rows},
        "layers": layers,
    }
    write_outputs(out, document)
    for layer in layers:
        for pair in layer["pairs"]:
            ci = pair.get("shared_fraction_ci")
            ci_text = f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else ""
            console.print(f"{layer['name']}: {pair['heads'][0]} vs {pair['heads'][1]}: shared {pair['shared_fraction']:.2f}"
                          f"{ci_text}, spearman {pair['spearman']:.2f} ({layer['units']} units, {layer['seconds']:.1f} s, {layer['path']})")
    console.print(f"wrote {out / 'sharing.json'}, sharing.png, sharing.html")
    return 0
