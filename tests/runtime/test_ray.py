"""``--executor ray`` on a real local Ray instance gives the same report as the local executor."""

from __future__ import annotations

import json

import pytest

from harness.cli.main import main
from harness.report.document import VOLATILE_KEYS
from tests.zoo_factory import TORCH_MODELS, build_test_zoo

ray = pytest.importorskip("ray", reason="needs the ray extra (in the test extra)")


def report(zoo, out, *extra):
    assert main(["run", "--zoo", str(zoo), "--images", "6", "--out", str(out), "--bootstrap", "20", *extra]) == 0
    data = json.loads((out / "report.json").read_text())
    return data, {k: v for k, v in data.items() if k not in VOLATILE_KEYS}


def test_ray_executor_report_equals_local(tmp_path):
    zoo = build_test_zoo(tmp_path / "zoo", models=TORCH_MODELS[:2], nhwc_model=False, with_ground_truth=False)
    _, local = report(zoo, tmp_path / "local", "--cache", str(tmp_path / "c-local"))
    ray.init(num_cpus=1, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        full, remote = report(zoo, tmp_path / "ray", "--executor", "ray", "--cache", str(tmp_path / "c-ray"))
    finally:
        ray.shutdown()
    assert full["timings"]["executor"] == "ray" and full["cache"]["misses"] == 2
    # the tasks wrote into the shared cache: both entries are there and verify
    assert main(["cache", "--cache", str(tmp_path / "c-ray")]) == 0
    assert json.dumps(remote, sort_keys=True) == json.dumps(local, sort_keys=True)


def test_ray_address_needs_the_ray_executor(tmp_path, capsys):
    zoo = build_test_zoo(tmp_path / "zoo", models=TORCH_MODELS[:1], nhwc_model=False, with_ground_truth=False)
    assert main(["run", "--zoo", str(zoo), "--out", str(tmp_path / "o"), "--ray-address", "auto"]) == 1
    assert "--ray-address needs --executor ray" in capsys.readouterr().err
