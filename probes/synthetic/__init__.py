"""Deterministic synthetic indoor scenes with exact labels for Taskonomy-style tasks.

Used as the default probe images and as training data for the miniature task zoo. Scenes are
ray cast analytically with numpy (room box, spheres, boxes, cylinders, cones, one light with
hard shadows), so every label is computed from the exact geometry of the rendered image.

    scene = render_scene(seed=3, size=64, style="indoor")   # Scene(rgb, labels, meta)
    batch = render_batch(range(100), tasks=("rgb2depth", "segmentsemantic"))
"""

from harness.probes.synthetic.dataset import (
    DENOISE_SIGMA,
    TASK_INFO,
    TASKS,
    Scene,
    TaskInfo,
    corrupt,
    render,
    render_batch,
    render_scene,
    scene_meta,
)
from harness.probes.synthetic.geometry import OBJECT_CLASSES, Camera, Light, Room, SceneObject, SceneSpec, Texture
from harness.probes.synthetic.labels import CURVATURE_RADIUS, DEPTH_SCALE, SEGMENT_MAX_IDS
from harness.probes.synthetic.render import SEMANTIC_CLASSES
from harness.probes.synthetic.styles import SCENE_CLASS_NAMES, STYLES, sample_scene

__all__ = [
    "TASKS", "TASK_INFO", "TaskInfo", "STYLES", "Scene", "render_scene", "render_batch", "render", "corrupt",
    "sample_scene", "scene_meta", "SceneSpec", "Camera", "Room", "Light", "SceneObject", "Texture",
    "OBJECT_CLASSES", "SEMANTIC_CLASSES", "SCENE_CLASS_NAMES", "DEPTH_SCALE", "CURVATURE_RADIUS",
    "SEGMENT_MAX_IDS", "DENOISE_SIGMA",
]
