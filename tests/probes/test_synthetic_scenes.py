"""Synthetic scene generator: determinism, exact labels on hand-built scenes, shapes and corruptions."""

from __future__ import annotations

import numpy as np
import pytest

from harness.probes.synthetic import (
    CURVATURE_RADIUS,
    DEPTH_SCALE,
    OBJECT_CLASSES,
    SEGMENT_MAX_IDS,
    SEMANTIC_CLASSES,
    STYLES,
    TASK_INFO,
    TASKS,
    Camera,
    Light,
    Room,
    SceneObject,
    SceneSpec,
    corrupt,
    render,
    render_batch,
    render_scene,
)

SEM = {name: i for i, name in enumerate(SEMANTIC_CLASSES)}


def _rays_cam(size: int, fov: float) -> np.ndarray:
    """Unit pixel-centre ray directions in the camera frame (x right, y down, z forward), computed independently."""
    f = (size / 2) / np.tan(fov / 2)
    c = (np.arange(size) + 0.5 - size / 2) / f
    u, v = np.meshgrid(c, c)
    d = np.stack([u, v, np.ones_like(u)], axis=-1)
    return d / np.linalg.norm(d, axis=-1, keepdims=True)


def _spec(*objects: SceneObject, camera: Camera | None = None, light: Light | None = None) -> SceneSpec:
    camera = camera or Camera((0.0, 1.0, -3.0), yaw=0.0, pitch=0.0, fov=np.radians(60))
    light = light or Light("point", (0.0, 2.8, -1.0), (1.0, 1.0, 1.0), (0.2, 0.2, 0.2))
    return SceneSpec(Room(8.0, 8.0, 3.0), camera, light, tuple(objects))


@pytest.fixture(scope="module")
def scenes():
    return [render_scene(seed, 48, style) for style in STYLES for seed in (0, 1, 2, 3)]


# ---------------------------------------------------------------- catalogue and validation


def test_task_catalogue():
    assert len(TASKS) >= 20 and set(TASKS) == set(TASK_INFO)
    assert STYLES == ("indoor", "studio", "layout")
    for info in TASK_INFO.values():
        assert info.kind in ("dense_regression", "dense_classification", "classification", "vector_regression")
        assert info.channels >= 1 and info.description


def test_unknown_names_raise():
    with pytest.raises(ValueError, match="indoor"):
        render_scene(0, 32, "outdoor")
    with pytest.raises(ValueError, match="indoor"):
        render_batch([0], 32, "outdoor")
    with pytest.raises(ValueError, match="rgb2depth"):
        render_scene(0, 32, "indoor", tasks=("depth",))
    with pytest.raises(ValueError, match="rgb2depth"):
        render_batch([0], 32, tasks=("rgb2depth", "nope"))
    with pytest.raises(ValueError, match="rgb2depth"):
        corrupt("nope", np.zeros((8, 8, 3), np.float32), 0)


# ---------------------------------------------------------------- determinism


def test_same_seed_is_byte_identical():
    for style in STYLES:
        a, b = render_scene(7, 40, style), render_scene(7, 40, style)
        assert a.rgb.tobytes() == b.rgb.tobytes()
        for task in TASKS:
            assert a.labels[task].tobytes() == b.labels[task].tobytes(), task
        assert a.meta == b.meta


def test_batch_matches_single_renders():
    batch = render_batch([3, 4], 32, "studio")
    for i, seed in enumerate((3, 4)):
        scene = render_scene(seed, 32, "studio")
        assert batch["rgb"][i].tobytes() == scene.rgb.tobytes()
        for task in TASKS:
            assert batch[task][i].tobytes() == scene.labels[task].tobytes(), task


def test_seeds_and_styles_differ(scenes):
    indoor, studio = scenes[:4], scenes[4:8]
    assert not np.array_equal(indoor[0].rgb, indoor[1].rgb)
    assert not np.array_equal(indoor[0].labels["rgb2depth"], indoor[1].labels["rgb2depth"])
    assert not np.array_equal(indoor[0].rgb, studio[0].rgb)
    more = [render_scene(s, 32, style).rgb for style in ("indoor", "studio") for s in range(4, 12)]
    mean_in = np.mean([s.rgb.mean((0, 1)) for s in indoor] + [m.mean((0, 1)) for m in more[:8]], axis=0)
    mean_st = np.mean([s.rgb.mean((0, 1)) for s in studio] + [m.mean((0, 1)) for m in more[8:]], axis=0)
    assert np.abs(mean_in - mean_st).max() > 0.05  # studio scenes are darker and more saturated


# ---------------------------------------------------------------- shapes and sanity on random scenes


@pytest.mark.parametrize("size", [32, 33, 64, 128])
def test_shapes_and_dtypes(size):
    scene = render_scene(11, size, "indoor")
    assert scene.rgb.shape == (size, size, 3) and scene.rgb.dtype == np.float32
    for task in TASKS:
        info, label = TASK_INFO[task], scene.labels[task]
        assert label.shape == info.shape(size), task
        assert label.dtype == info.dtype, task
        assert np.all(np.isfinite(label)), task
    batch = render_batch([1, 2, 3], size, "studio", tasks=("rgb2depth", "class_scene", "room_layout"))
    assert set(batch) == {"rgb", "rgb2depth", "class_scene", "room_layout"}
    assert batch["rgb"].shape == (3, size, size, 3)
    assert batch["rgb2depth"].shape == (3, size, size, 1) and batch["class_scene"].shape == (3,)
    assert set(render_batch([1], size, tasks=())) == {"rgb"}


def test_label_sanity(scenes):
    for scene in scenes:
        lab, size = scene.labels, scene.rgb.shape[0]
        assert scene.rgb.min() >= 0.0 and scene.rgb.max() <= 1.0
        n = lab["rgb2sfnorm"].astype(np.float64)
        assert np.allclose(np.linalg.norm(n, axis=-1), 1.0, atol=1e-4)
        view = _rays_cam(size, scene.meta["camera"]["fov"])
        assert np.all(np.sum(n * view, axis=-1) <= 1e-6)  # normals face the camera
        depth, mist = lab["rgb2depth"][..., 0], lab["rgb2mist"][..., 0]
        assert np.all(depth <= mist) and np.all(depth > 0)
        assert np.allclose(mist / depth, 1.0 / view[..., 2], rtol=1e-5)
        sem = lab["segmentsemantic"]
        assert sem.min() >= 0 and sem.max() < len(SEMANTIC_CLASSES)
        floor = sem == SEM["floor"]
        assert floor.any() and np.all(lab["curvature"][floor] == 0)
        for key in ("segment2d", "segment25d"):
            ids = lab[key]
            assert ids.min() == 0 and ids.max() < SEGMENT_MAX_IDS and ids[0, 0] == 0
            assert np.array_equal(np.unique(ids), np.arange(ids.max() + 1))  # contiguous, canonical
        for key in ("reshade", "curvature", "edge2d", "edge3d", "keypoint2d", "keypoint3d"):
            assert lab[key].min() >= 0.0 and lab[key].max() <= 1.0, key
        assert 0 <= lab["class_object"] < len(OBJECT_CLASSES)
        assert 0 <= lab["class_scene"] < TASK_INFO["class_scene"].channels
        assert np.all(np.abs(lab["vanishing_point"]) <= 1.0)
        for task in ("autoencoder", "denoise", "colorization", "inpainting"):
            assert np.array_equal(lab[task], scene.rgb)


def test_depth_equals_mist_on_the_optical_axis():
    scene = render_scene(5, 33, "indoor")
    c = 16
    assert scene.labels["rgb2depth"][c, c, 0] == scene.labels["rgb2mist"][c, c, 0]


# ---------------------------------------------------------------- exact labels on hand-built scenes


def test_single_sphere_analytic():
    size, c = 33, 16  # odd size: the centre pixel's ray is the optical axis
    spec = _spec(SceneObject("sphere", (0.0, 0.5, 0.0), (0.5,)))  # centre (0, 1, 0), camera at (0, 1, -3)
    lab = render(spec, size).labels
    assert lab["rgb2depth"][c, c, 0] == pytest.approx(2.5 / DEPTH_SCALE, abs=1e-6)
    assert lab["rgb2mist"][c, c, 0] == pytest.approx(2.5 / DEPTH_SCALE, abs=1e-6)
    assert lab["segmentsemantic"][c, c] == SEM["sphere"]
    assert np.allclose(lab["rgb2sfnorm"][c, c], [0.0, 0.0, -1.0], atol=1e-6)
    assert np.allclose(lab["curvature"][c, c], [CURVATURE_RADIUS / 0.5] * 2, atol=1e-6)
    assert lab["class_object"] == OBJECT_CLASSES.index("sphere")
    assert lab["keypoint3d"][c, c, 0] == pytest.approx(1.0)  # the sphere centre projects here
    row = lab["segmentsemantic"][c]
    left = int(np.argmax(row == SEM["sphere"]))
    assert lab["edge3d"][c, left, 0] == 1.0 and lab["edge3d"][c, left - 1, 0] == 0.0  # occluding contour
    sphere = lab["segmentsemantic"] == SEM["sphere"]
    assert len(np.unique(lab["segment25d"][sphere])) == 1  # one smooth surface


@pytest.mark.parametrize(
    "obj, distance, semantic, curvature",
    [
        (SceneObject("box", (0.0, 0.0, 0.0), (0.5, 1.5, 0.5)), 2.5, "box", (0.0, 0.0)),
        (SceneObject("box", (0.0, 0.0, 0.0), (0.5, 1.5, 0.5), yaw=np.pi / 4), 3.0 - 0.5 * np.sqrt(2), "box", (0.0, 0.0)),
        (SceneObject("cylinder", (0.0, 0.0, 0.0), (0.4, 2.0)), 2.6, "cylinder", (0.25, 0.0)),
        (SceneObject("cone", (0.0, 0.0, 0.0), (0.6, 2.0)), 2.7, "cone", None),  # radius 0.3 at height 1
    ],
)
def test_primitives_analytic_depth(obj, distance, semantic, curvature):
    size, c = 33, 16
    lab = render(_spec(obj), size).labels
    assert lab["rgb2depth"][c, c, 0] == pytest.approx(distance / DEPTH_SCALE, abs=1e-6)
    assert lab["segmentsemantic"][c, c] == SEM[semantic]
    if curvature is not None:
        assert np.allclose(lab["curvature"][c, c], curvature, atol=1e-6)


def test_empty_room_floor_is_flat_and_exact():
    size = 33
    cam = Camera((0.0, 1.5, -1.0), yaw=0.0, pitch=0.0, fov=np.radians(60))
    lab = render(_spec(camera=cam), size).labels
    sem = lab["segmentsemantic"]
    floor = sem == SEM["floor"]
    assert floor.sum() > 50 and np.all(lab["curvature"] == 0)
    view = _rays_cam(size, cam.fov)
    v = view[..., 1] / view[..., 2]  # image-plane y of each pixel
    assert np.allclose(lab["rgb2depth"][floor, 0] * DEPTH_SCALE, 1.5 / v[floor], rtol=1e-5)
    assert np.allclose(lab["rgb2sfnorm"][floor], [0.0, -1.0, 0.0], atol=1e-6)  # up = -y in the camera frame
    assert set(np.unique(sem)) <= {SEM["floor"], SEM["wall"], SEM["ceiling"]}
    assert lab["edge3d"].max() == 0.5  # only creases between room planes


def test_cast_shadow_under_sphere():
    size = 48
    cam = Camera((0.0, 1.5, -1.0), yaw=0.0, pitch=-0.5, fov=np.radians(60))
    sun = Light("directional", (0.0, 1.0, 0.0), (1.0, 1.0, 1.0), (0.2, 0.2, 0.2))
    spec = _spec(SceneObject("sphere", (0.0, 0.5, 2.0), (0.3,)), camera=cam, light=sun)
    lab = render(spec, size).labels
    floor = lab["segmentsemantic"] == SEM["floor"]
    rays = _rays_cam(size, cam.fov) @ cam.basis().T
    pos = np.asarray(cam.position) + lab["rgb2mist"][..., :1].astype(np.float64) * DEPTH_SCALE * rays
    under = floor & (np.hypot(pos[..., 0], pos[..., 2] - 2.0) < 0.28)
    away = floor & (np.hypot(pos[..., 0], pos[..., 2] - 2.0) > 0.32)
    assert under.sum() > 5 and np.all(lab["reshade"][under] == 0.0)
    assert np.allclose(lab["reshade"][away], 1.0, atol=1e-5)


def test_vanishing_points_and_layout():
    fov, pitch = np.radians(60), -0.3
    cam = Camera((0.5, 1.2, -1.0), yaw=0.1, pitch=pitch, fov=fov)
    lab = render(_spec(camera=cam), 32, tasks=("vanishing_point", "room_layout")).labels
    vp, layout = lab["vanishing_point"], lab["room_layout"]
    # forward room axis (+z): x = tan(yaw) / tan(fov/2) right of centre, y above centre (camera looks down)
    assert vp[0] == pytest.approx(np.tanh(np.tan(0.1) / np.cos(pitch) / np.tan(fov / 2) / 3), abs=1e-5)
    assert vp[1] == pytest.approx(np.tanh(-np.tan(-pitch) / np.tan(fov / 2) / 3), abs=1e-5)
    assert vp[4] == pytest.approx(0.0, abs=1e-6)  # no roll: the vertical vanishing point is on the centre column
    assert layout[0] == pytest.approx(pitch / (np.pi / 2), abs=1e-6)
    assert layout[1] == pytest.approx(0.1 / (np.pi / 4), abs=1e-6)
    assert layout[3] == pytest.approx(-1.0 / 4.0, abs=1e-6) and layout[4] == pytest.approx(-0.5 / 4.0, abs=1e-6)


# ---------------------------------------------------------------- corruptions


def test_corrupt():
    rgb = render_scene(2, 32).rgb
    noisy = corrupt("denoise", rgb, 3)
    assert noisy.shape == rgb.shape and noisy.dtype == np.float32
    assert np.array_equal(noisy, corrupt("denoise", rgb, 3)) and not np.array_equal(noisy, corrupt("denoise", rgb, 4))
    assert 0.05 < np.abs(noisy - rgb).mean() < 0.15 and noisy.min() >= 0 and noisy.max() <= 1
    grey = corrupt("colorization", rgb, 0)
    assert np.array_equal(grey[..., 0], grey[..., 1]) and np.array_equal(grey[..., 0], grey[..., 2])
    holed = corrupt("inpainting", rgb, 5)
    blank = np.all(holed == 0, axis=-1) & np.any(rgb != 0, axis=-1)
    rows, cols = np.flatnonzero(blank.any(1)), np.flatnonzero(blank.any(0))
    assert blank.sum() == len(rows) * len(cols) >= 64  # one filled square
    assert np.array_equal(holed[~blank], rgb[~blank])
    assert np.array_equal(corrupt("rgb2depth", rgb, 0), rgb)
    batch = render_batch([0, 1], 32, tasks=())["rgb"]
    for task in ("denoise", "colorization", "inpainting", "autoencoder"):
        out = corrupt(task, batch, 9)
        assert out.shape == batch.shape and np.array_equal(out, corrupt(task, batch, 9))
    holes = np.all(corrupt("inpainting", batch, 9) == 0, axis=-1)
    assert holes[0].any() and holes[1].any()


# ---------------------------------------------------------------- integration


def test_builtin_probe_sets_use_the_generator():
    from harness.probes import ProbeRequest, load_probe

    probe = load_probe("synthetic-studio", ProbeRequest(n_images=3, size=32))
    assert probe.images.shape == (3, 3, 32, 32) and probe.images.dtype == np.uint8
    assert probe.sha256() == load_probe("synthetic-studio", ProbeRequest(n_images=3, size=32)).sha256()
