"""Throughput of the scene generator: ``python -m harness.probes.synthetic.bench [--n 200] [--size 64]``.

Reports images per minute on one core for each style, rendering the rgb only (probe-set use)
and rgb with every label (zoo training use). A benchmark, not a test: nothing is asserted.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # measure one core

import argparse  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402

from harness.probes.synthetic.dataset import TASKS, render_batch  # noqa: E402
from harness.probes.synthetic.styles import STYLES  # noqa: E402


def images_per_minute(style: str, size: int = 64, n: int = 200, tasks: Sequence[str] | None = None) -> tuple[float, float]:
    """Images per minute of wall-clock and of process CPU time, for ``n`` consecutive seeds.

    CPU time is the figure to trust on a shared machine: it does not count time spent
    waiting for a core that another process holds.
    """
    render_batch([0], size, style, tasks)  # warm-up: imports, caches
    wall, cpu = time.perf_counter(), time.process_time()
    render_batch(range(1, n + 1), size, style, tasks)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return 60.0 * n / wall, 60.0 * n / cpu


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=200, help="images per measurement")
    ap.add_argument("--size", type=int, default=64)
    args = ap.parse_args(argv)
    print(f"synthetic scenes, {args.size}x{args.size}, {args.n} images per measurement, one core")
    for style in STYLES:
        for label, tasks in (("rgb only", ()), (f"rgb + all {len(TASKS)} labels", None)):
            wall, cpu = images_per_minute(style, args.size, args.n, tasks)
            print(f"  {style:7s} {label:24s} {cpu:6.0f} images/minute of CPU time ({60000.0 / cpu:5.1f} ms/image),"
                  f" {wall:6.0f} of wall-clock")


if __name__ == "__main__":
    main()
