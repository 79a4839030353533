"""Zoo 3.0's design as code: the model list, the 32-px path, training-only decoders, the layer plan, and
the promise that 1.0/2.0's committed build state stays valid."""

from __future__ import annotations

import csv
import json
from collections import Counter

import numpy as np
import pytest
import torch

from harness.model.preprocess import resize
from zoo.build import transfer
from zoo.build.architectures import TaskModel, make_encoder
from zoo.build.config import V1, V2, V3
from zoo.build.data import shrink_input, shrink_target
from zoo.build.layer_truth import PLAN_3
from zoo.build.train import fingerprint


def test_zoo_3_crosses_frameworks_and_sizes():
    models = V3.models
    assert len(models) == 38 and len(V3.targets) == 18
    keras = [m for m in models if m.framework == "tensorflow"]
    assert len(keras) * 3 >= len(models) and all(m.exporter == "tf2onnx" and m.encoder.startswith("keras-") for m in keras)
    assert {m.size for m in models} == {32, 64}
    assert Counter(m.tasks[0] for m in models if m.group != "multi-task") == Counter({t: 2 for t in V3.tasks})
    assert all(m.aux == (() if "autoencoder" in m.tasks else ("autoencoder",)) for m in models)
    # every family has its random baseline, fed at its models' size
    assert {f"random-{m.encoder}" for m in models} == set(V3.random_sources)
    assert {V3.family_size(f) for f in V3.random_encoders} == {32, 64}


def test_32_px_inputs_are_what_the_harness_feeds():
    x = np.random.default_rng(0).random((2, 3, 64, 64), dtype=np.float32)
    assert np.allclose(shrink_input(x, 32), resize(torch.from_numpy(x), (32, 32)).numpy(), atol=1e-6)
    assert shrink_input(x, 64) is x
    depth = torch.from_numpy(x[:, :1])
    assert torch.allclose(shrink_target("rgb2depth", depth, 32), depth.reshape(2, 1, 32, 2, 32, 2).mean((3, 5)))
    classes = torch.arange(64 * 64).reshape(1, 64, 64)
    assert torch.equal(shrink_target("segmentsemantic", classes, 32), classes[:, ::2, ::2])
    label = torch.tensor([3])
    assert shrink_target("class_scene", label, 32) is label


@pytest.mark.parametrize("family", ["plain", "residual", "depthwise", "vit"])
@pytest.mark.parametrize("size", [32, 64])
def test_every_family_ends_in_a_16x8x8_bottleneck_at_both_sizes(family, size):
    encoder = make_encoder(family, size).eval()
    assert encoder(torch.rand(2, 3, size, size)).shape == (2, 16, 8, 8) and encoder.stride == size // 8


def test_auxiliary_decoders_train_but_are_not_part_of_the_model():
    torch.manual_seed(0)
    plain = TaskModel("plain", ("rgb2depth",), 32)
    torch.manual_seed(0)
    with_aux = TaskModel("plain", ("rgb2depth",), 32, aux=("autoencoder",))
    x = torch.rand(2, 3, 32, 32)
    out = with_aux.eval()(x)
    assert out.shape == (2, 1, 32, 32) and torch.equal(out, plain.eval()(x))  # same init, same output
    assert any(k.startswith("aux_heads.") for k in with_aux.state_dict())
    assert not any(k.startswith("aux_heads.") for k in plain.state_dict())


def test_layer_plan_pairs_name_zoo_3_models_and_three_depths():
    ids = {m.id: m for m in V3.models}
    assert all(s in ids and t in ids for s, t in PLAN_3.pairs)
    # sources: PyTorch 64-px models, whose candidate layers have stable module-path names
    assert all(ids[s].framework == "pytorch" and ids[s].size == 64 for s, _ in PLAN_3.pairs)
    same_task = [(s, t) for s, t in PLAN_3.pairs if ids[s].tasks[0] == ids[t].tasks[0]]
    assert 0 < len(same_task) < len(PLAN_3.pairs)
    assert PLAN_3.layers(list(range(8))) == [1, 4, 7] and PLAN_3.layers(list(range(2))) == [0, 1]


def test_older_zoos_keep_their_training_fingerprints_and_transfer_settings():
    """3.0's new ModelSpec fields must not make 1.0/2.0's committed build state stale (a rerun would retrain)."""
    checked = 0
    for cfg in (V1, V2):
        for spec in cfg.models:
            path = cfg.files.records / f"{spec.id}.json"
            if path.exists() and "fingerprint" in (record := json.loads(path.read_text())):
                assert record["fingerprint"] == fingerprint(cfg, spec), spec.id
                checked += 1
    assert checked >= 38
    with (V2.files.transfer / "random-plain.csv").open() as handle:
        row = next(csv.DictReader(handle))
    assert row["source_sha256"] == f"random-plain:{transfer.settings(V2)}"


def test_below_zero_share_counts_off_diagonal_measured_pairs():
    from harness.run.pipeline import below_zero_share

    m = np.array([[1.0, -0.5, 0.2], [0.3, 1.0, np.nan], [-0.1, -0.2, -1.0]])
    assert below_zero_share(m) == pytest.approx(3 / 5)  # the diagonal (-1.0 included) and NaN left out
    assert below_zero_share(np.ones((1, 1))) is None and below_zero_share(np.ones((2, 3))) is None
