"""Peak RSS of a run against the number of models: is probing memory flat in the zoo's size?

    .venv/bin/python benchmarks/memory_models.py [--counts 10 50 100] [--images 50]

Builds zoos of K copies of one embedded-zoo card (distinct ids, the same ONNX file) and runs
``harness run --no-cache`` on each in a subprocess (every copy is imported and probed), with
one attribution method and one estimator so that the reduction stays small. Prints the
run's peak RSS per K and the increase per added model; a flat probing memory shows as an
increase near zero (what remains is the report: N x N matrices, per-model records).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
ZOO = ROOT / "zoo"


def make_zoo(folder: Path, count: int, card: Path) -> None:
    data = yaml.safe_load(card.read_text())
    onnx_path = (card.parent / data["onnx"]).resolve()
    shutil.copy(onnx_path, folder / onnx_path.name)
    for i in range(count):
        data.update(id=f"m{i:03d}", onnx=onnx_path.name)
        data.pop("sha256", None)
        (folder / f"m{i:03d}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    (folder / "zoo.yaml").write_text("name: memory\nversion: 1.0.0\ncards: 'm*.yaml'\nprobe: synthetic-indoor\n")


def peak_rss(folder: Path, images: int, out: Path) -> int:
    """Peak RSS (bytes) of ``harness run`` on ``folder``, measured in a fresh child process."""
    code = ("import resource, sys; from harness.cli.main import main; rc = main(sys.argv[1:]); "
            "print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss); sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code, "run", "--zoo", str(folder), "--images", str(images), "--no-cache",
                           "--methods", "saliency", "--estimators", "rsa", "--bootstrap", "10", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-2000:])
    line = next(row for row in proc.stdout.splitlines() if row.startswith("PEAK"))
    return int(line.split()[1]) * 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[10, 50, 100])
    parser.add_argument("--images", type=int, default=50)
    parser.add_argument("--card", type=Path, default=ZOO / "cards-2.0" / "rgb2depth.yaml")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for count in args.counts:
            folder = Path(tmp) / f"zoo{count}"
            folder.mkdir()
            make_zoo(folder, count, args.card)
            rows.append((count, peak_rss(folder, args.images, Path(tmp) / f"run{count}")))
            print(f"{count:4d} models: peak RSS {rows[-1][1] / 2**20:.0f} MB", flush=True)
    (k0, r0), (k1, r1) = rows[0], rows[-1]
    if k1 > k0:
        print(f"increase per added model: {(r1 - r0) / (k1 - k0) / 2**20:.2f} MB ({k0} -> {k1} models)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
