"""The zoo build (zoo/build) end to end at toy scale: zoo 2.0 layout, resumable transfer, loadable zoo file."""

from __future__ import annotations

import csv
import json

import numpy as np

from harness.evaluation import load_ground_truth
from harness.model.zoo import load_zoo
from zoo.build import transfer
from zoo.build.__main__ import main
from zoo.build.config import V2, smoke


def test_zoo_2_smoke_build_resumes_and_loads(tmp_path):
    cfg = smoke(V2, tmp_path, tasks=("inpainting",))
    assert {m.encoder for m in cfg.models} == {"vit", "plain"}  # the task on two families, one a ViT
    # the test calls the stages through the CLI entry point, one process (jobs 1)
    smoke_args = ["--version", "2.0", "--smoke", str(tmp_path), "--tasks", "inpainting", "--jobs", "1"]
    assert main([*smoke_args, "--only", "data", "train", "cards"]) == 0
    assert transfer.run(cfg, jobs=1) == len(cfg.sources) * len(cfg.seeds)
    # a kill loses at most the last measurement: drop one row, the rerun measures exactly that one again
    path = transfer.raw_path(cfg, cfg.models[0].id)
    rows = path.read_text().splitlines()
    path.write_text("\n".join(rows[:-1]) + "\n")
    assert transfer.run(cfg, jobs=1) == 1
    assert transfer.run(cfg, jobs=1) == 0
    assert main([*smoke_args, "--only", "affinity", "docs"]) == 0

    zoo = load_zoo(tmp_path / "zoo-2.0.yaml")
    assert zoo.version == "2.0.0" and {c.id for c in zoo.cards} == {m.id for m in cfg.models}
    assert all(c.onnx.parent.name == "models-2.0" and tuple(c.input.size) == (64, 64) for c in zoo.cards)
    gt = load_ground_truth(zoo.ground_truth)
    assert set(gt.targets) == {"inpainting"} and {"inpainting", "inpainting-plain", "random-plain"} <= set(gt.sources)
    summary = json.loads((tmp_path / "ground_truth-2.0" / "agreement.json").read_text())
    assert summary["random_baseline"] == "random-plain" and set(summary["worse_than"]) >= {"random-vit", "best_random", "scratch"}
    with (tmp_path / "ground_truth-2.0" / "transfer_losses.csv").open() as handle:
        losses = list(csv.DictReader(handle))
    assert len(losses) == len(cfg.seeds) * (len(cfg.models) + len(cfg.random_sources) + 1)
    assert (tmp_path / "BUILD-2.0.md").read_text().count("Models trained and exported: **2 / 2**") == 1


def test_hardness_predictors_live_beside_their_zoo_version(tmp_path):
    """Zoo versions share a folder and model ids: each cards folder has its own hardness folder."""
    from zoo.build.hardness import card_field, predictor_card

    assert predictor_card(tmp_path / "cards" / "c.yaml") == tmp_path / "hardness" / "c-hardness.yaml"
    assert predictor_card(tmp_path / "cards-2.0" / "c.yaml") == tmp_path / "hardness-2.0" / "c-hardness.yaml"
    assert predictor_card(tmp_path / "explain" / "cards" / "c.yaml") == tmp_path / "explain" / "hardness" / "c-hardness.yaml"
    assert card_field(tmp_path / "cards-2.0" / "c.yaml") == {}
    (tmp_path / "hardness-2.0").mkdir()
    (tmp_path / "hardness-2.0" / "c-hardness.yaml").write_text("id: c-hardness\n")
    assert card_field(tmp_path / "cards-2.0" / "c.yaml") == {"hardness": "../hardness-2.0/c-hardness.yaml"}


def test_zoo_3_smoke_build_crosses_frameworks_and_sizes(tmp_path):
    """Keras and PyTorch models at 32 and 64 px, trained with the auxiliary decoder, through cards, transfer,
    affinity, docs and a toy layer ground truth."""
    from dataclasses import replace

    from harness.analyses.select_layer.evaluate import load_layer_truth
    from zoo.build import layer_truth
    from zoo.build.config import V3

    tasks = ("inpainting", "rgb2depth", "class_scene")
    cfg = smoke(V3, tmp_path, tasks=tasks)
    assert {(m.framework, m.size) for m in cfg.models} == {("tensorflow", 64), ("tensorflow", 32), ("pytorch", 64), ("pytorch", 32)}
    smoke_args = ["--version", "3.0", "--smoke", str(tmp_path), "--tasks", *tasks, "--jobs", "1"]
    assert main([*smoke_args, "--only", "data", "train", "cards", "transfer", "affinity", "docs"]) == 0

    zoo = load_zoo(tmp_path / "zoo.yaml")  # 3.0 is the default zoo
    assert zoo.version == "3.0.0" and {c.id for c in zoo.cards} == {m.id for m in cfg.models}
    sizes = {c.id: tuple(c.input.size) for c in zoo.cards}
    assert sizes["class_scene"] == (32, 32) and sizes["inpainting"] == (64, 64) and sizes["rgb2depth"] == (32, 32)
    layouts = {c.id: c.input.layout for c in zoo.cards}
    assert layouts["inpainting"] == "NHWC" and layouts["rgb2depth-plain"] == "NCHW"
    records = {m.id: json.loads((cfg.files.records / f"{m.id}.json").read_text()) for m in cfg.models}
    assert all(r["test_loss"] and all(np.isfinite(v) for v in r["test_loss"].values()) for r in records.values())
    summary = json.loads((tmp_path / "ground_truth-3.0" / "agreement.json").read_text())
    assert set(summary["worse_than"]) >= {"random-keras-residual", "random-vit", "same_family"}
    assert set(summary["below_same_family_by_target"]) == {"inpainting", "rgb2depth", "class_scene"}
    build_md = (tmp_path / "BUILD-3.0.md").read_text()
    assert "mini-taskonomy 3.0" in build_md and "keras-residual" in build_md

    plan = replace(layer_truth.PLAN_3, cfg=cfg, pairs=(("rgb2depth-plain", "inpainting"),), budgets=(16,), pool=24, test=8, steps=3)
    assert layer_truth.run(plan) == 3 * 2  # three depths x two seeds
    assert layer_truth.run(plan) == 0  # resumes
    truth = load_layer_truth(plan.out)
    assert list(truth) == [("rgb2depth-plain", "inpainting", 16)] and len(truth[("rgb2depth-plain", "inpainting", 16)]) == 3
    # two processes measure the same values as one (each unit seeds its own head and draws its own images)
    parallel = replace(plan, cfg=replace(cfg, files=replace(cfg.files, cache=tmp_path / "cache-parallel",
                                                            ground_truth=tmp_path / "ground_truth-parallel")))
    assert layer_truth.run(parallel, jobs=2) == 3 * 2
    assert parallel.out.read_text() == plan.out.read_text()
