"""Built-in probe sets, generated deterministically by the synthetic scene renderer."""

from __future__ import annotations

import numpy as np

from harness.probes.base import BUILTIN_PROBES, ProbeRequest, ProbeSet

#: Default number of images of a generated probe set.
DEFAULT_GENERATED_IMAGES = 200
#: Scene seeds of probe sets start here, far from the seeds the zoo was trained on.
PROBE_SEED_BASE = 10_000_000


def _synthetic(style: str):
    def load(name: str, request: ProbeRequest) -> ProbeSet:
        from harness.probes.synthetic import render_batch

        n = request.n_images or DEFAULT_GENERATED_IMAGES
        seeds = [PROBE_SEED_BASE + request.seed * 1_000_000 + i for i in range(n)]
        rgb = render_batch(seeds, size=request.size, style=style, tasks=())["rgb"]
        images = np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8).transpose(0, 3, 1, 2).copy()
        return ProbeSet(name, images, tuple(f"scene-{s}" for s in seeds), 0, f"synthetic:{style}", {"style": style})

    return load


BUILTIN_PROBES.add("synthetic-indoor", _synthetic("indoor"), "rendered synthetic scenes, \"indoor\" style (five room types); default when a zoo names none")
BUILTIN_PROBES.add("synthetic-studio", _synthetic("studio"), "rendered synthetic scenes, \"studio\" style (five room types of a second visual domain)")
BUILTIN_PROBES.add("synthetic-layout", _synthetic("layout"), "rendered synthetic scenes, \"layout\" style (five room types told apart by "
                   "geometry only; the scenes of zoo 3.0)")
