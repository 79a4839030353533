"""The "layout" renderer style (zoo 3.0): room types told apart by geometry, not by palette; the older
styles' scenes unchanged."""

from __future__ import annotations

import numpy as np
import pytest

from harness.probes.synthetic import OBJECT_CLASSES, SCENE_CLASS_NAMES, render_batch, sample_scene
from harness.probes.synthetic.styles import LAYOUT


@pytest.mark.parametrize(("style", "seed", "scene_class", "width", "yaw", "kinds", "walls", "red"), [
    ("indoor", 0, 4, 4.6744667844, -2.2861223124, ["cylinder", "cylinder", "sphere", "sphere", "box"], "tiles", 0.6223095778),
    ("indoor", 1, 2, 6.3761592408, 1.7095094397, ["sphere", "sphere", "sphere", "sphere", "cylinder"], "stripes", 0.4934418615),
    ("studio", 5, 0, 5.7060840248, -2.3719720498, ["sphere", "box", "cone"], "gradient", 0.7424397893),
])
def test_older_styles_draw_the_same_scenes(style, seed, scene_class, width, yaw, kinds, walls, red):
    """Adding a style must not move indoor/studio's random draws (zoo 1.0/2.0 data and probe sets depend on them);
    the values were recorded before the layout style existed."""
    spec = sample_scene(seed, style)
    assert spec.scene_class == scene_class and [o.kind for o in spec.objects] == kinds and spec.walls.kind == walls
    assert spec.room.width == pytest.approx(width, abs=1e-9) and spec.camera.yaw == pytest.approx(yaw, abs=1e-9)
    assert spec.walls.color_a[0] == pytest.approx(red, abs=1e-9)


def test_layout_room_types_differ_by_geometry():
    specs = [sample_scene(seed, "layout") for seed in range(400)]
    names = SCENE_CLASS_NAMES["layout"]
    assert names == ("hall", "corridor", "storeroom", "gallery", "nook")
    by_type = {name: [s for s in specs if names[s.scene_class] == name] for name in names}
    assert all(len(v) > 40 for v in by_type.values())  # every room type is drawn
    for name, rt in zip(names, LAYOUT.room_types):
        for spec in by_type[name]:
            assert rt.room_width[0] <= spec.room.width <= rt.room_width[1]
            assert rt.room_height[0] <= spec.room.height <= rt.room_height[1]
            assert len(spec.objects) <= rt.n_objects[1]
    # the palette does not follow the room type: each room type shows wall textures of several indoor looks
    for name in names:
        assert len({s.walls.kind for s in by_type[name]}) >= 3, name
    # the first object (the subject) is of every class alike, whatever the room type
    first = np.bincount([OBJECT_CLASSES.index(s.objects[0].kind) for s in specs if s.objects], minlength=4)
    assert first.min() > 0.15 * first.sum()


def test_colour_statistics_tell_indoor_room_types_apart_but_not_layout_ones():
    """A nearest-centroid classifier on per-image colour mean/std: what a palette-only descriptor can do."""
    accuracy = {}
    for style in ("indoor", "layout"):
        batch = render_batch(range(300), size=24, style=style, tasks=("class_scene",))
        x = np.concatenate([batch["rgb"].mean((1, 2)), batch["rgb"].std((1, 2))], axis=1)
        y = batch["class_scene"]
        train, test = slice(0, 225), slice(225, 300)
        centroids = np.stack([x[train][y[train] == c].mean(0) for c in range(5)])
        scale = x[train].std(0)
        predicted = np.argmin((((x[test][:, None] - centroids[None]) / scale) ** 2).sum(-1), axis=1)
        accuracy[style] = float((predicted == y[test]).mean())
    assert accuracy["indoor"] > 0.7 and accuracy["layout"] < 0.5, accuracy
