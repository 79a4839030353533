"""Incremental rerun on a real zoo: add one model to a cached zoo and rerun, against probing that model alone.

Whole-process wall times of `harness run` (as a user sees them), in a private cache:

1. the zoo (default: the embedded default zoo) is run once into a fresh cache (not timed);
2. for each repeat k, a new model ``added-k`` (the zoo's first model with one weight scaled by
   1 + k/1000, so a new cache key and new affinities) joins the zoo and the zoo is rerun into
   the same cache (the "N+1" run: one model probed, every report section that changed redrawn);
3. the added model alone is run in its own fresh cache (``--estimators saliency``: one model has
   no pairs to compare), the denominator of the ratio. Goal (issue 23): N+1 <= 1.3 x alone.

    nice -n 10 .venv/bin/python benchmarks/incremental.py [--zoo ZOO_FILE] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import yaml
from onnx import numpy_helper

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def copy_zoo(zoo_file: Path, into: Path) -> Path:
    """The zoo file, its cards' folder and every file the cards point to, copied under ``into``."""
    from harness.model.zoo import load_zoo

    zoo = load_zoo(zoo_file)
    into.mkdir(parents=True)
    data = yaml.safe_load(zoo_file.read_text())
    for key in ("cards", "ground_truth", "ground_truth_repeat"):
        if key in data and key != "cards":
            (into / data[key]).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(zoo_file.parent / data[key], into / data[key])
    cards_dir = (zoo_file.parent / data["cards"]).parent
    shutil.copytree(cards_dir, into / cards_dir.name)
    for card in zoo.cards:
        target = into / Path(card.onnx).resolve().relative_to(zoo_file.parent.resolve())
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(card.onnx, target)
    shutil.copy(zoo_file, into / zoo_file.name)
    return into / zoo_file.name


def add_model(zoo_file: Path, k: int) -> tuple[Path, Path]:
    """Card + ONNX of ``added-k``: the first card's model with its largest initializer scaled by 1 + k/1000."""
    from harness.common.hashing import sha256_file

    data = yaml.safe_load(zoo_file.read_text())
    cards_dir = (zoo_file.parent / data["cards"]).parent
    first = sorted(p for p in cards_dir.glob("*.yaml") if not p.stem.startswith("added-"))[0]
    card = yaml.safe_load(first.read_text())
    model = onnx.load(str((first.parent / card["onnx"]).resolve()))
    init = max(model.graph.initializer, key=lambda t: int(np.prod(t.dims)))
    init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) * np.float32(1 + k / 1000), init.name))
    onnx_path = (first.parent / card["onnx"]).resolve().parent / f"added-{k}.onnx"
    onnx.save(model, str(onnx_path))
    card.update(id=f"added-{k}", onnx=os.path.relpath(onnx_path, cards_dir), sha256=sha256_file(onnx_path))
    card_path = cards_dir / f"added-{k}.yaml"
    card_path.write_text(yaml.safe_dump(card, sort_keys=False))
    return card_path, onnx_path


def timed_run(*args: str, env: dict) -> float:
    tick = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "harness.cli", "run", *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"harness run {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return time.perf_counter() - tick


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zoo", type=Path, default=ROOT / "zoo" / "zoo.yaml")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--images", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="harness-incremental-") as tmp:
        work = Path(tmp)
        env = {**os.environ, "XDG_CACHE_HOME": str(work / "xdg")}
        zoo = copy_zoo(args.zoo.resolve(), work / "zoo")
        common = ["--images", str(args.images), "--cache", str(work / "cache")]
        first = timed_run("--zoo", str(zoo), "--out", str(work / "first"), *common, env=env)
        rows = []
        for k in range(1, args.repeats + 1):
            card, onnx_path = add_model(zoo, k)
            n_plus_1 = timed_run("--zoo", str(zoo), "--out", str(work / f"plus-{k}"), *common, env=env)
            report = json.loads((work / f"plus-{k}" / "report.json").read_text())
            alone_dir = work / f"alone-{k}"
            alone_dir.mkdir()
            shutil.copy(onnx_path, alone_dir / onnx_path.name)
            data = yaml.safe_load(card.read_text())
            data["onnx"] = onnx_path.name
            (alone_dir / card.name).write_text(yaml.safe_dump(data, sort_keys=False))
            (alone_dir / "zoo.yaml").write_text(yaml.safe_dump({"name": "alone", "version": "1", "cards": "*.yaml"}))
            alone = timed_run("--zoo", str(alone_dir / "zoo.yaml"), "--out", str(work / f"alone-out-{k}"), "--images",
                              str(args.images), "--cache", str(work / f"cache-alone-{k}"), "--estimators", "saliency", env=env)
            rows.append({"n_plus_1_s": round(n_plus_1, 2), "alone_s": round(alone, 2), "ratio": round(n_plus_1 / alone, 3),
                         "misses": report["cache"]["misses"], "hits": report["cache"]["hits"],
                         "stages_s": {k2: round(v, 2) for k2, v in report.get("timings", {}).items() if isinstance(v, (int, float))}})
            card.unlink()
            onnx_path.unlink()
            print(json.dumps(rows[-1]), flush=True)
    print(json.dumps({"zoo": str(args.zoo), "first_run_s": round(first, 2), "runs": rows,
                      "median_ratio": statistics.median(r["ratio"] for r in rows), "load_avg": os.getloadavg()}, indent=1))


if __name__ == "__main__":
    main()
