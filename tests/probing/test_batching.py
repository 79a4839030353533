"""Memory-aware batching: the batch comes from a measured pass and the budget, unless given."""

from __future__ import annotations

import numpy as np
import torch

from harness.probing import batching
from harness.probing.batching import HEADROOM, MAX_BATCH, RESERVE_BYTES, choose_batch, measure_footprint
from harness.probing.loop import ProbeSettings, probe_model
from tests.probing.test_probing import imported, probe_set

MIB = 2**20


def test_choose_batch_divides_the_free_memory_by_the_footprint():
    budget, in_use = 4096 * MIB, 1024 * MIB
    free = budget - in_use - RESERVE_BYTES
    per_image = 100 * MIB
    assert choose_batch(per_image, budget, in_use) == min(MAX_BATCH, int(free // (per_image * HEADROOM)))
    assert choose_batch(per_image, budget, in_use) == 18
    assert choose_batch(1, budget, in_use) == MAX_BATCH
    assert choose_batch(per_image, 600 * MIB, 500 * MIB) == 1  # never below one image


def test_footprint_of_a_large_allocation_is_seen():
    def allocate():
        block = np.ones(200 * MIB // 8)  # 200 MB touched, held for a while
        block += 1
        torch.ones(1)  # and some torch work
        return float(block[0])

    assert measure_footprint(allocate, torch.device("cpu")) >= 150 * MIB


def test_probe_model_measures_the_batch_when_none_is_given(tmp_path):
    model = imported(tmp_path, True)
    settings = ProbeSettings(methods=("saliency", "gradxinput"), map_size=8)
    outcome = probe_model(model, probe_set(5), settings, torch.device("cpu"), memory_budget=64 * 2**30)
    assert outcome.batch.source == "measured" and 1 <= outcome.batch.size <= MAX_BATCH
    assert outcome.batch.per_image_bytes is not None
    given = probe_model(model, probe_set(5), ProbeSettings(methods=("saliency", "gradxinput"), map_size=8, batch_size=2),
                        torch.device("cpu"))
    assert given.batch.source == "given" and given.batch.size == 2
    for key in ("saliency", "gradxinput"):  # the batch does not change the results
        np.testing.assert_allclose(outcome.artifacts.maps[key], given.artifacts.maps[key], rtol=1e-4, atol=1e-6)


def test_a_tight_budget_gives_one_image_per_pass(tmp_path, monkeypatch):
    model = imported(tmp_path, True)
    monkeypatch.setattr(batching, "measure_footprint", lambda run, device: (run(), 500 * MIB)[1])
    outcome = probe_model(model, probe_set(3), ProbeSettings(methods=("saliency",), map_size=8), torch.device("cpu"),
                          memory_budget=1)
    assert outcome.batch.size == 1 and outcome.batch.per_image_bytes == 250 * MIB
    assert outcome.artifacts.maps["saliency"].shape[0] == 3


def test_a_graph_with_a_fixed_batch_keeps_it(tmp_path):
    model = imported(tmp_path, False)
    outcome = probe_model(model, probe_set(2), ProbeSettings(methods=("saliency",), map_size=8), torch.device("cpu"))
    assert outcome.batch.source == "fixed by the graph" and outcome.batch.size == 1
