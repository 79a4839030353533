"""Public entry points: task catalogue, scene rendering by seed, batches and input corruptions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness.probes.synthetic.geometry import OBJECT_CLASSES, SceneSpec
from harness.probes.synthetic.labels import (
    CURVATURE_RADIUS,
    DEPTH_SCALE,
    LABEL_FUNCTIONS,
    SEGMENT_MAX_IDS,
    LabelContext,
    compute_label,
)
from harness.probes.synthetic.render import SEMANTIC_CLASSES, render_gbuffer
from harness.probes.synthetic.styles import SCENE_CLASS_NAMES, STYLES, sample_scene

#: Standard deviation of the "denoise" input noise (rgb in [0, 1]).
DENOISE_SIGMA = 0.1
#: Side of the "inpainting" blank square, as a fraction of the image side (range).
INPAINT_FRACTION = (0.25, 0.5)


@dataclass(frozen=True)
class TaskInfo:
    """What a task's label is: ``channels`` = channels, number of classes or vector length."""

    kind: str  # dense_regression | dense_classification | classification | vector_regression
    channels: int
    description: str

    def shape(self, size: int) -> tuple[int, ...]:
        """Shape of one image's label at resolution ``size``."""
        return {"dense_regression": (size, size, self.channels), "dense_classification": (size, size),
                "classification": (), "vector_regression": (self.channels,)}[self.kind]

    @property
    def dtype(self) -> type:
        return np.int64 if self.kind in ("dense_classification", "classification") else np.float32


_N_SCENE = len(next(iter(SCENE_CLASS_NAMES.values())))
_DR, _DC, _CL, _VR = "dense_regression", "dense_classification", "classification", "vector_regression"
_SEMANTIC = ", ".join(f"{i} {c}" for i, c in enumerate(SEMANTIC_CLASSES))
_OBJECTS = ", ".join(f"{i} {c}" for i, c in enumerate(OBJECT_CLASSES))
TASK_INFO: dict[str, TaskInfo] = {
    "autoencoder": TaskInfo(_DR, 3, "reconstruct the rgb input"),
    "denoise": TaskInfo(_DR, 3, f"rgb from rgb + gaussian noise (sigma {DENOISE_SIGMA}); input via corrupt()"),
    "colorization": TaskInfo(_DR, 3, "rgb from its grey image replicated to 3 channels; input via corrupt()"),
    "inpainting": TaskInfo(_DR, 3, "rgb from rgb with a blanked (zero) square; input via corrupt()"),
    "rgb2depth": TaskInfo(_DR, 1, f"z-depth along the optical axis, metres / {DEPTH_SCALE}"),
    "rgb2mist": TaskInfo(_DR, 1, f"Euclidean distance to the camera centre, metres / {DEPTH_SCALE}"),
    "rgb2sfnorm": TaskInfo(_DR, 3, "unit surface normal, camera frame (x right, y down, z forward), n.view <= 0"),
    "reshade": TaskInfo(_DR, 1, "Lambertian shading max(n.l, 0) times shadow visibility, no albedo"),
    "curvature": TaskInfo(_DR, 2, f"principal curvature magnitudes (k1 >= k2) times {CURVATURE_RADIUS} m, clipped to 1"),
    "edge2d": TaskInfo(_DR, 1, "Sobel gradient magnitude of the rgb image (full-contrast step = 1)"),
    "edge3d": TaskInfo(_DR, 1, "1 on occluding contours (nearer side), 0.5 on creases/contacts"),
    "keypoint2d": TaskInfo(_DR, 1, "structure-tensor corner response (smaller eigenvalue) of the rgb"),
    "keypoint3d": TaskInfo(_DR, 1, "gaussian blobs at visible room corners, box corners, sphere centres, "
                                   "cylinder tops, cone apexes"),
    "segment2d": TaskInfo(_DC, SEGMENT_MAX_IDS, "colour regions (k-means + connected components); "
                                                "ids canonical in raster order: use a permutation-invariant loss"),
    "segment25d": TaskInfo(_DC, SEGMENT_MAX_IDS, "one id per surface (room plane, object face); "
                                                 "ids canonical in raster order: use a permutation-invariant loss"),
    "segmentsemantic": TaskInfo(_DC, len(SEMANTIC_CLASSES), f"semantic class per pixel: {_SEMANTIC}"),
    "room_layout": TaskInfo(_VR, 9, "pitch, yaw vs nearest room axis, camera height, offsets along/across that axis, "
                                    "room extents along/across, room height, fov (normalised)"),
    "vanishing_point": TaskInfo(_VR, 6, "tanh(x/3), tanh(y/3) of the vanishing points of the room's forward, lateral "
                                        "and vertical axes (half-image units)"),
    "class_object": TaskInfo(_CL, len(OBJECT_CLASSES), f"class of the largest visible object: {_OBJECTS}"),
    "class_scene": TaskInfo(_CL, _N_SCENE, "room type; names per style in SCENE_CLASS_NAMES"),
}
TASKS: tuple[str, ...] = tuple(TASK_INFO)
assert set(TASKS) == set(LABEL_FUNCTIONS)


@dataclass(frozen=True)
class Scene:
    """A rendered image, its labels (keys are task names) and the scene description."""

    rgb: np.ndarray  # (H, W, 3) float32 in [0, 1]
    labels: dict[str, np.ndarray]
    meta: dict


def _check_tasks(tasks: Sequence[str] | None) -> tuple[str, ...]:
    if tasks is None:
        return TASKS
    if isinstance(tasks, str):
        tasks = (tasks,)
    bad = [t for t in tasks if t not in TASK_INFO]
    if bad:
        raise ValueError(f"unknown task(s) {bad}; valid tasks: {', '.join(TASKS)}")
    return tuple(tasks)


def _check_size(size: int) -> int:
    if not isinstance(size, (int, np.integer)) or size < 8:
        raise ValueError(f"size must be an integer >= 8, got {size!r}")
    return int(size)


def scene_meta(spec: SceneSpec) -> dict:
    """Plain-python description of a scene (JSON-serialisable)."""
    cam = spec.camera
    return {
        "style": spec.style, "scene_class": spec.scene_class,
        "scene_class_name": SCENE_CLASS_NAMES.get(spec.style, ("?",) * _N_SCENE)[spec.scene_class],
        "camera": {"position": list(cam.position), "yaw": cam.yaw, "pitch": cam.pitch, "fov": cam.fov},
        "room": {"width": spec.room.width, "depth": spec.room.depth, "height": spec.room.height},
        "light": {"kind": spec.light.kind, "vector": list(spec.light.vector), "color": list(spec.light.color)},
        "objects": [{"kind": o.kind, "position": list(o.position), "size": list(o.size), "yaw": o.yaw,
                     "color": list(o.texture.color_a), "specular": o.specular} for o in spec.objects],
        "depth_scale": DEPTH_SCALE,
    }


def render(spec: SceneSpec, size: int = 64, tasks: Sequence[str] | None = None) -> Scene:
    """Render an explicit scene description (e.g. a hand-built test scene) with the given labels."""
    size, names = _check_size(size), _check_tasks(tasks)
    ctx = LabelContext(spec, render_gbuffer(spec, size))
    return Scene(ctx.gbuf.rgb, {t: compute_label(t, ctx) for t in names}, scene_meta(spec))


def render_scene(seed: int, size: int = 64, style: str = "indoor", tasks: Sequence[str] | None = None) -> Scene:
    """Render the scene for ``seed`` in ``style``; byte-identical for identical arguments."""
    return render(sample_scene(int(seed), style), size, tasks)


def render_batch(seeds: Sequence[int], size: int = 64, style: str = "indoor",
                 tasks: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Stacked ``rgb`` (N, H, W, 3) and each requested label stacked on axis 0 (all tasks if None)."""
    size, names = _check_size(size), _check_tasks(tasks)
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; valid styles: {', '.join(STYLES)}")
    n = len(seeds)
    out = {"rgb": np.empty((n, size, size, 3), np.float32)}
    out.update({t: np.empty((n, *TASK_INFO[t].shape(size)), TASK_INFO[t].dtype) for t in names})
    for i, seed in enumerate(seeds):
        scene = render_scene(seed, size, style, names)
        out["rgb"][i] = scene.rgb
        for t in names:
            out[t][i] = scene.labels[t]
    return out


def corrupt(task: str, rgb: np.ndarray, seed: int) -> np.ndarray:
    """The network input for ``task``: a seeded corruption of rgb for self-supervised tasks.

    "denoise" adds gaussian noise (clipped to [0, 1]); "colorization" gives the grey image on
    3 channels; "inpainting" zeroes one seeded square per image; other tasks get rgb as is.
    Works on (H, W, 3) and (N, H, W, 3).
    """
    _check_tasks((task,))
    x = np.asarray(rgb, dtype=np.float32)
    if x.ndim not in (3, 4) or x.shape[-1] != 3:
        raise ValueError(f"rgb must be (H, W, 3) or (N, H, W, 3), got {x.shape}")
    rng = np.random.default_rng(seed)
    if task == "denoise":
        noise = rng.normal(0.0, DENOISE_SIGMA, size=x.shape).astype(np.float32)
        return np.clip(x + noise, 0.0, 1.0)
    if task == "colorization":
        grey = x @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        return np.repeat(grey[..., None], 3, axis=-1)
    if task == "inpainting":
        out = x.copy()
        batch = out if out.ndim == 4 else out[None]
        h, w = batch.shape[1:3]
        for img in batch:
            side = int(rng.integers(max(1, int(INPAINT_FRACTION[0] * h)), max(2, int(INPAINT_FRACTION[1] * h)) + 1))
            y0, x0 = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
            img[y0:y0 + side, x0:x0 + side] = 0.0
        return out
    return x
