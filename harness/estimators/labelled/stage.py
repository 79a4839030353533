"""The labelled-estimator stage of a run: ``--labelled-benchmark`` and ``--labels``.

``--labelled-benchmark`` (generated probe sets): every zoo model's task gets its labels on the
probe images, and every labelled estimator fills an ``A[source, target]`` matrix that is
ranked, drawn and evaluated exactly like the label-free estimators. ``--labels`` scores every
zoo model as a source for one labelled target (a task name, a CSV, or ``folder``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from harness.probing.artifacts import ModelArtifacts
from harness.common.errors import HarnessError
from harness.estimators.base import Affinity
from harness.estimators.labelled.matrix import column_scores, labelled_affinities
from harness.estimators.labelled.targets import labels_for, synthetic_labels, target_problem
from harness.probes.base import ProbeSet


def source_probabilities(artifacts: Sequence[ModelArtifacts]) -> dict[str, np.ndarray]:
    """Class probabilities of the sources that are classifiers (cards with ``classes``), for LEEP."""
    return {a.model_id: np.asarray(a.class_probs, dtype=np.float64) for a in artifacts if a.class_probs is not None}


def benchmark_affinities(artifacts: Sequence[ModelArtifacts], probe: ProbeSet,
                         names: Sequence[str]) -> tuple[dict[str, Affinity], dict[str, dict], list[str]]:
    """{estimator: Affinity}; cost per estimator ({"seconds", "peak_mb"}; also "labels"); warnings (one line each).

    Targets whose task the generator does not label, or whose labels on this probe set have a
    single class or value, get a NaN column (ranked, but their per-target numbers mean
    nothing; the evaluation only covers targets in the ground truth); the latter are warned about.
    """
    from harness.probes.synthetic import TASK_INFO

    tick = time.perf_counter()
    known = sorted({a.task for a in artifacts if all(part in TASK_INFO for part in a.task.split("+"))})
    if not known:
        raise HarnessError("--labelled-benchmark: no zoo model's task has generated labels (tasks are named like the "
                           f"generator's: {', '.join(sorted(TASK_INFO))}); use --labels with a CSV or a labelled folder instead")
    labels = synthetic_labels(probe, known)
    problems = {task: target_problem(target) for task, target in labels.items()}
    warnings = [f"--labelled-benchmark: {p}; its column is left empty" for p in problems.values() if p]
    labels = {task: target for task, target in labels.items() if problems[task] is None}
    if not labels:
        raise HarnessError(f"--labelled-benchmark: no target's labels vary on this probe set ({'; '.join(filter(None, problems.values()))})")
    costs = {"labels": {"seconds": round(time.perf_counter() - tick, 4), "peak_mb": None}}
    matrices, timing = labelled_affinities(artifacts, labels, names, source_probabilities(artifacts))
    costs.update(timing)
    ids = tuple(a.model_id for a in artifacts)
    out = {}
    for name, matrix in matrices.items():
        matrix = np.asarray(matrix, dtype=np.float64)
        matrix.setflags(write=False)
        out[name] = Affinity(name=name, model_ids=ids, matrix=matrix)
    return out, costs, warnings


def labelled_target(artifacts: Sequence[ModelArtifacts], probe: ProbeSet, spec: str, names: Sequence[str]) -> dict:
    """report.json ``labelled_target``: per estimator, the sources ranked for the given labels."""
    tick = time.perf_counter()
    target = labels_for(spec, probe)
    problem = target_problem(target)
    if problem:
        raise HarnessError(f"--labels {spec}: {problem}")
    scores = column_scores(artifacts, target, names, source_probabilities(artifacts))
    n_classes = None if target.classes is None else int(len(np.unique(target.classes)))
    return {
        "labels": spec, "task": target.task, "n_images": target.n_images, "classes": n_classes,
        "regression": target.values is not None,
        "rankings": {name: sorted(per, key=lambda s: -per[s]) for name, per in scores.items()},
        "scores": scores,
        "seconds": time.perf_counter() - tick,
    }
