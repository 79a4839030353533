"""Synthetic scenes with an overlaid glyph, and two extra per-image classification tasks.

The feature-sharing comparison of the FeatureSharing seed needs a *related* pair of
classification tasks (a class and its super-class) and an *unrelated* pair (an object class
and the class of text overlaid on the image). With the synthetic generator:

- ``class_scene`` (5 room types) is the fine class;
- ``class_scene_super`` (3 classes) is a fixed coarsening of it: living_room and bedroom are
  ``living``, kitchen and bathroom are ``wet``, office is ``work`` (by room-type index, so the
  studio style gets the same partition of its five types);
- ``glyph`` (4 classes) is the class of a 7x7 glyph (T, L, X, O) stamped at a seeded random
  place in a contrasting grey level: independent of the scene, as the seed's Text task.

Everything is seeded per scene, so images and labels are identical across calls.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

GLYPH_NAMES: tuple[str, ...] = ("T", "L", "X", "O")
_BITMAPS = {
    "T": ["#######", "#######", "..###..", "..###..", "..###..", "..###..", "..###.."],
    "L": ["##.....", "##.....", "##.....", "##.....", "##.....", "#######", "#######"],
    "X": ["##...##", ".##.##.", "..###..", "...#...", "..###..", ".##.##.", "##...##"],
    "O": [".#####.", "##...##", "##...##", "##...##", "##...##", "##...##", ".#####."],
}
GLYPHS: dict[str, np.ndarray] = {k: np.array([[c == "#" for c in row] for row in v]) for k, v in _BITMAPS.items()}
#: class_scene index -> class_scene_super index
SCENE_SUPER: tuple[int, ...] = (0, 1, 0, 2, 1)
SCENE_SUPER_NAMES: tuple[str, ...] = ("living", "wet", "work")
#: Glyph randomness is drawn from this offset of the scene seed (independent of the scene's own draws).
GLYPH_SEED_OFFSET = 7_919_000_000
#: The extra tasks: name -> class names.
GLYPH_TASKS: dict[str, tuple[str, ...]] = {"glyph": GLYPH_NAMES, "class_scene_super": SCENE_SUPER_NAMES}


def stamp_glyph(rgb: np.ndarray, seed: int) -> tuple[np.ndarray, int]:
    """A copy of ``rgb`` (H, W, 3) in [0, 1] with the seed's glyph stamped on it, and the glyph class.

    The glyph is 7x7 pixels at 32x32 and scales with the image (``size // 32`` per bitmap pixel),
    drawn white on dark surroundings and black on bright ones.
    """
    rng = np.random.default_rng(GLYPH_SEED_OFFSET + int(seed))
    label = int(rng.integers(len(GLYPH_NAMES)))
    h, w = rgb.shape[:2]
    scale = max(1, min(h, w) // 32)
    mask = np.kron(GLYPHS[GLYPH_NAMES[label]], np.ones((scale, scale), bool))
    gh, gw = mask.shape
    y0, x0 = int(rng.integers(0, h - gh + 1)), int(rng.integers(0, w - gw + 1))
    out = np.array(rgb, dtype=np.float32, copy=True)
    patch = out[y0:y0 + gh, x0:x0 + gw]
    patch[mask] = 0.0 if float(patch.mean()) > 0.5 else 1.0
    return out, label


def render_glyph_batch(seeds: Sequence[int], size: int = 32, style: str = "indoor",
                       tasks: Sequence[str] = ()) -> dict[str, np.ndarray]:
    """Like ``render_batch``, with a glyph on every image; ``tasks`` may also name the tasks of GLYPH_TASKS.

    The synthetic tasks' labels describe the scene under the glyph (dense labels ignore it).
    """
    from harness.probes.synthetic import render_batch

    extra = [t for t in tasks if t in GLYPH_TASKS]
    base = [t for t in tasks if t not in GLYPH_TASKS]
    needs_scene = "class_scene_super" in extra and "class_scene" not in base
    out = render_batch(seeds, size=size, style=style, tasks=tuple(base) + (("class_scene",) if needs_scene else ()))
    glyphs = np.empty(len(seeds), np.int64)
    for i, seed in enumerate(seeds):
        out["rgb"][i], glyphs[i] = stamp_glyph(out["rgb"][i], seed)
    if "glyph" in extra:
        out["glyph"] = glyphs
    if "class_scene_super" in extra:
        out["class_scene_super"] = np.asarray(SCENE_SUPER, np.int64)[out["class_scene"]]
    if needs_scene:
        del out["class_scene"]
    return out
