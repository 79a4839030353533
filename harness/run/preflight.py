"""Everything a run can check before the first model is probed.

A run that would fail at its end — an ``--out`` that is a file or read-only, a ground-truth
CSV with a typo, an image list naming a FIFO, a card whose input size does not match its
graph, more memory than the machine has — fails here, in seconds, with one line, before any
probe image is decoded or model imported. The order matters: options, zoo, output, ground
truth, probe source, cards against their graphs, then the memory estimate.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from harness.common import limits
from harness.common.options import check_count, check_finite, check_output_dir, check_seed
from harness.common.errors import HarnessError, ValidationError

if TYPE_CHECKING:  # pragma: no cover
    from harness.run.config import RunConfig
    from harness.model.zoo import Zoo

#: Images a built-in (generated) probe set has when --images is not given.
DEFAULT_GENERATED = 200


def check_run_options(config: RunConfig) -> None:
    """Bounds on every number a run takes from the command line."""
    s = config.settings
    check_count("--images", config.n_images, limits.IMAGES, minimum=2)
    check_count("--probe-size", config.probe_size, limits.IMAGE_SIDE)
    check_count("--map-size", s.map_size, limits.MAP_SIDE)
    check_count("--batch-size", s.batch_size, limits.BATCH)
    check_count("--ig-steps", s.ig_steps, limits.STEPS)
    check_count("--max-feature-units", s.max_feature_units, limits.FEATURE_UNITS)
    check_count("--bootstrap", config.n_boot, limits.BOOTSTRAP)
    check_seed(config.seed)
    check_finite("--depara-lambda", config.depara_lambda)


def default_out(zoo: Zoo) -> Path:
    return Path("runs") / f"{zoo.name}-{zoo.version}"


def preflight_run(config: RunConfig) -> tuple[RunConfig, Zoo]:
    """Check options, output, ground truth, probe source, cards and memory; raise one line on the first problem.

    Returns the config with the memory limit resolved, so that the run checks against the
    same limit the preflight did (what is available shrinks once torch is loaded, and a
    suggestion made here must be accepted there), and the zoo it read, so that the run does
    not parse every card again (a quarter of a second on the 38-model default zoo).
    """
    from harness.evaluation import zoo_ground_truth
    from harness.probes import DEFAULT_PROBE, check_probe_source
    from harness.common.atomic import clean_stale
    from harness.runtime import budget
    from harness.model.zoo import load_zoo

    check_run_options(config)
    if config.executor == "ray":
        from harness.runtime.executor import check_reachable

        check_reachable(config.ray_address)
    zoo = load_zoo(config.zoo)
    out = config.out if config.out is not None else default_out(zoo)
    check_output_dir(out)
    clean_stale(Path(out).absolute())
    if config.ground_truth is not None:
        zoo_ground_truth(zoo, config.ground_truth)
    elif zoo.ground_truth is not None:
        zoo_ground_truth(zoo, zoo.ground_truth)
    probe_name = config.probe or zoo.probe or DEFAULT_PROBE
    candidates = check_probe_source(probe_name)
    n_images = config.n_images or (candidates if candidates is not None else DEFAULT_GENERATED)
    if candidates is not None:
        n_images = min(n_images, candidates)
    check_cards(zoo)
    probe_size = config.probe_size or max(max(c.input.size) for c in zoo.cards)
    limit = budget.memory_limit(config.max_memory)
    budget.check(n_images, config.settings.max_feature_units, config.estimators, limit, n_models=len(zoo.cards), probe_size=probe_size)
    return replace(config, max_memory=limit), zoo


def check_cards(zoo: Zoo) -> None:
    """Each card's input size and layout against its graph's declared input, and the graph's sizes.

    This is what makes it safe to decode the probe set at the largest card size before the
    imports: a card claiming ``input.size: [4096, 4096]`` for a 32-px graph is refused here.
    """
    import onnx

    from harness.model.importer import check_input_matches, graph_input
    from harness.model.onnx_io import check_external_data, check_tensor_sizes

    for card in zoo.cards:
        label = str(card.path)
        try:
            model = onnx.load(str(card.onnx), load_external_data=False)
        except Exception:  # noqa: BLE001 - an unreadable file is reported by the import itself
            continue
        check_external_data(model, card.onnx, label)
        check_tensor_sizes(model, label)
        check_input_matches(card, graph_input(model, label))


def zoo_problems(path: Path | str) -> tuple[Zoo | None, list[ValidationError]]:
    """Every problem ``harness validate`` reports (the cards', then what ``harness run`` would find
    late), and the zoo itself when its cards are valid.

    Beyond the cards: the ground-truth files parse, and the default probe set names a built-in
    set or an existing path.
    """
    from harness.evaluation.ground_truth import zoo_ground_truth
    from harness.model.zoo import inspect_zoo
    from harness.probes import check_probe_source

    zoo, problems = inspect_zoo(path)
    if zoo is None:
        return None, problems
    for name, gt in (("ground_truth", zoo.ground_truth), ("ground_truth_repeat", zoo.ground_truth_repeat)):
        if gt is not None:
            try:
                zoo_ground_truth(zoo, gt)
            except HarnessError as exc:
                problems.append(ValidationError(f"{zoo.file}: field '{name}': {exc}"))
    if zoo.probe is not None:
        try:
            check_probe_source(zoo.probe)
        except HarnessError as exc:
            problems.append(ValidationError(f"{zoo.file}: field 'probe': {exc}"))
    return zoo, problems
