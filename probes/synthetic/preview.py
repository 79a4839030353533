"""Contact sheets of scenes and labels, for eyeballing the generator (``python -m harness.probes.synthetic.preview``)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import numpy as np

from harness.probes.synthetic.dataset import TASK_INFO, render_scene

DEFAULT_PANELS = ("rgb", "rgb2depth", "rgb2sfnorm", "reshade", "curvature", "edge3d", "keypoint3d",
                  "segment25d", "segmentsemantic", "segment2d", "edge2d", "keypoint2d")


def _to_rgb(task: str, x: np.ndarray) -> np.ndarray:
    """A displayable (H, W, 3) uint8 picture of one label."""
    if task in ("rgb",) or (x.ndim == 3 and x.shape[-1] == 3 and task != "rgb2sfnorm"):
        img = x
    elif task == "rgb2sfnorm":
        img = (x + 1.0) / 2.0
    elif x.ndim == 2:  # id maps: a fixed pseudo-random colour per id
        palette = np.random.default_rng(0).random((max(int(x.max()) + 1, TASK_INFO[task].channels), 3))
        img = palette[x]
    elif x.shape[-1] == 2:
        img = np.concatenate([x, np.zeros_like(x[..., :1])], axis=-1)
    else:
        v = x[..., 0] / max(float(x.max()), 1e-6) if task in ("rgb2depth", "rgb2mist") else x[..., 0]
        img = np.repeat(v[..., None], 3, axis=-1)
    return (np.clip(img, 0.0, 1.0) * 255).astype(np.uint8)


def contact_sheet(seeds: Sequence[int], style: str = "indoor", size: int = 64,
                  panels: Sequence[str] = DEFAULT_PANELS, scale: int = 2) -> np.ndarray:
    """One row per seed, one column per panel, as a uint8 image."""
    rows = []
    for seed in seeds:
        scene = render_scene(seed, size, style)
        tiles = [_to_rgb(p, scene.rgb if p == "rgb" else scene.labels[p]) for p in panels]
        rows.append(np.concatenate([np.pad(t, ((1, 1), (1, 1), (0, 0)), constant_values=255) for t in tiles], axis=1))
    sheet = np.concatenate(rows, axis=0)
    return np.repeat(np.repeat(sheet, scale, axis=0), scale, axis=1)


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--style", default="indoor")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--seeds", type=int, nargs="+", default=list(range(6)))
    ap.add_argument("--out", default="/tmp/synthetic_examples.png")
    args = ap.parse_args(argv)
    from PIL import Image

    Image.fromarray(contact_sheet(args.seeds, args.style, args.size)).save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
