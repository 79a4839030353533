"""The folder layout is the data flow: each stage imports only earlier stages, and nothing circles.

Stages in the order data flows through them (docs/architecture.md). A module may import its
own stage and earlier ones; an arrow to a later stage, or a circle between files or between
folders, fails here with the offending imports named.
"""

from __future__ import annotations

import pytest

from tests.architecture.imports import cycles, folder_graph, import_graph, modules

#: Stage packages, earliest first.
STAGES = (
    "harness.common", "harness.probes", "harness.adapters", "harness.model", "harness.attribution", "harness.probing",
    "harness.runtime", "harness.estimators", "harness.evaluation", "harness.report", "harness.compare",
    "harness.analyses", "harness.run", "harness.cli", "harness.api",
)


def stage_of(module: str) -> int:
    """Index of the stage a module belongs to; the bare ``harness`` package (``__version__``) comes first."""
    if module == "harness":
        return -1
    for rank, stage in enumerate(STAGES):
        if module == stage or module.startswith(stage + "."):
            return rank
    raise AssertionError(f"{module} is in no stage: add its package to STAGES (and to docs/architecture.md)")


def upward_imports(graph) -> list[str]:
    return sorted(f"{src} -> {dst}" for src, targets in graph.items() for dst in targets if stage_of(dst) > stage_of(src))


@pytest.fixture(scope="module")
def known():
    return modules()


@pytest.fixture(scope="module")
def graph(known):
    return import_graph(known)


def test_every_module_belongs_to_a_stage(known):
    for name in known:
        stage_of(name)


def test_no_module_imports_a_later_stage(graph):
    assert upward_imports(graph) == []


def test_no_import_circle_between_files(graph):
    assert cycles(graph) == []


def test_no_import_circle_between_folders(graph, known):
    assert cycles(folder_graph(graph, known)) == []


def test_top_level_holds_only_the_stage_packages(known):
    loose = sorted(n for n, m in known.items() if n.count(".") == 1 and not m.is_package
                   and not n.startswith(("harness.adapters", "harness.probes")))
    assert loose == []


# The checks themselves must be able to fail: the same functions on graphs with the faults planted.
def test_a_planted_circle_is_found():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_a_planted_upward_import_is_found(graph):
    planted = {k: set(v) for k, v in graph.items()}
    planted["harness.common.errors"].add("harness.run.pipeline")
    assert upward_imports(planted) == ["harness.common.errors -> harness.run.pipeline"]


def test_a_planted_circle_in_the_real_graph_is_found(graph):
    planted = {k: set(v) for k, v in graph.items()}
    planted["harness.model.card"].add("harness.model.importer")  # importer already imports card
    assert any({"harness.model.card", "harness.model.importer"} <= set(c) for c in cycles(planted))
