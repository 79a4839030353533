"""Vectorised ray casting of a ``SceneSpec``: one primary ray per pixel, one shadow ray per lit pixel.

The result is a G-buffer (per-pixel geometry and material) from which both the shaded image
and every label are computed, so image and labels always agree exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.probes.synthetic.geometry import (
    OBJECT_CLASSES,
    SceneSpec,
    intersect,
    intersect_room,
    object_surface,
    room_surface,
)
from harness.probes.synthetic.textures import GAMMA, shade_texture

#: Semantic classes (segmentsemantic ids are indices into this tuple).
SEMANTIC_CLASSES: tuple[str, ...] = ("floor", "wall", "ceiling") + OBJECT_CLASSES
#: segment25d raw ids: room parts 0..5, then 8 slots per object (box faces use 6).
_OBJECT_SURFACE_BASE, _OBJECT_SURFACE_SLOTS = 6, 8
_SHADOW_OFFSET = 1e-4


@dataclass
class GBuffer:
    """Per-pixel ray-cast results, flattened in row-major pixel order (N = size * size)."""

    size: int
    basis: np.ndarray  # camera right/down/forward as columns, world frame
    dirs_cam: np.ndarray  # (N, 3) unit ray directions, camera frame
    t: np.ndarray  # (N,) distance along the ray (Euclidean distance from the camera centre)
    normal: np.ndarray  # (N, 3) unit normals, world frame, facing the camera
    obj: np.ndarray  # (N,) object index, -1 for the room
    surface: np.ndarray  # (N,) raw surface id (room part or object face)
    semantic: np.ndarray  # (N,) index into SEMANTIC_CLASSES
    curvature: np.ndarray  # (N, 2) principal curvature magnitudes, 1/m
    albedo: np.ndarray  # (N, 3) linear-light albedo
    lambert: np.ndarray  # (N,) max(n . l, 0)
    visible: np.ndarray  # (N,) 1 where the light is not blocked by an object
    rgb: np.ndarray  # (size, size, 3) float32 shaded image in [0, 1]


def camera_rays(spec: SceneSpec, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit ray directions through pixel centres, in camera and world frames, plus the basis."""
    f = (size / 2.0) / np.tan(spec.camera.fov / 2.0)
    c = (np.arange(size) + 0.5 - size / 2.0) / f
    u, v = np.meshgrid(c, c)  # u varies along columns (right), v along rows (down)
    cam = np.stack([u.ravel(), v.ravel(), np.ones(size * size)], axis=1)
    cam /= np.linalg.norm(cam, axis=1, keepdims=True)
    basis = spec.camera.basis()
    return cam, cam @ basis.T, basis


def render_gbuffer(spec: SceneSpec, size: int) -> GBuffer:
    """Cast primary rays, resolve surfaces and materials, and shade the image."""
    dirs_cam, d, basis = camera_rays(spec, size)
    origin = np.asarray(spec.camera.position, dtype=np.float64)
    n = len(d)
    t, part = intersect_room(spec.room, origin, d)
    obj = np.full(n, -1, dtype=np.int64)
    for k, ob in enumerate(spec.objects):
        tk, pk = intersect(ob, origin, d)
        closer = tk < t
        t, part, obj = np.where(closer, tk, t), np.where(closer, pk, part), np.where(closer, k, obj)
    pos = origin + t[:, None] * d

    normal = np.empty((n, 3))
    curvature = np.zeros((n, 2))
    albedo = np.empty((n, 3))
    pixel_angle = 2.0 * np.tan(spec.camera.fov / 2.0) / size

    def footprint(px: np.ndarray, nrm: np.ndarray) -> np.ndarray:
        """Approximate pixel footprint on the surface (metres), for texture filtering."""
        return t[px] * pixel_angle / np.maximum(np.abs(np.einsum("ij,ij->i", nrm, d[px])), 0.15)

    room_px = np.flatnonzero(obj < 0)
    rn, ruv = room_surface(spec.room, pos[room_px], part[room_px])
    normal[room_px] = rn
    room_part = part[room_px]
    rfp = footprint(room_px, rn)
    for tex, sel in ((spec.floor, room_part == 0), (spec.ceiling, room_part == 1), (spec.walls, room_part >= 2)):
        albedo[room_px[sel]] = shade_texture(tex, ruv[sel], rfp[sel])
    surface = np.where(obj < 0, part, _OBJECT_SURFACE_BASE + _OBJECT_SURFACE_SLOTS * obj + part)
    semantic = np.array([0, 2, 1, 1, 1, 1])[np.where(obj < 0, part, 0)]
    for k, ob in enumerate(spec.objects):
        px = np.flatnonzero(obj == k)
        if px.size == 0:
            continue
        on, oc, ouv = object_surface(ob, pos[px], part[px])
        normal[px], curvature[px], albedo[px] = on, oc, shade_texture(ob.texture, ouv, footprint(px, on))
        semantic[px] = len(SEMANTIC_CLASSES) - len(OBJECT_CLASSES) + OBJECT_CLASSES.index(ob.kind)

    lambert, visible, rgb = _shade(spec, d, pos, normal, obj, albedo)
    return GBuffer(size, basis, dirs_cam, t, normal, obj, surface, semantic, curvature, albedo,
                   lambert, visible, rgb.reshape(size, size, 3).astype(np.float32))


def _shade(spec: SceneSpec, d: np.ndarray, pos: np.ndarray, normal: np.ndarray, obj: np.ndarray,
           albedo: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lambert + Blinn-Phong with ambient term and hard shadows cast by objects (not the room)."""
    light = spec.light
    if light.kind == "point":
        to_light = np.asarray(light.vector) - pos
        dist = np.linalg.norm(to_light, axis=1)
        l_dir = to_light / dist[:, None]
        atten = 1.0 / (1.0 + (dist / light.falloff) ** 2)
    else:
        l_dir = np.broadcast_to(np.asarray(light.vector) / np.linalg.norm(light.vector), pos.shape)
        dist = np.full(len(pos), np.inf)
        atten = np.ones(len(pos))
    lambert = np.clip(np.einsum("ij,ij->i", normal, l_dir), 0.0, 1.0)
    visible = (lambert > 0).astype(np.float64)
    lit = np.flatnonzero(lambert > 0)
    if spec.objects and lit.size:
        o = pos[lit] + _SHADOW_OFFSET * normal[lit]
        ld = np.ascontiguousarray(l_dir[lit])
        blocked = np.zeros(lit.size, dtype=bool)
        for ob in spec.objects:
            tk, _ = intersect(ob, o, ld)
            blocked |= tk < dist[lit]
        visible[lit[blocked]] = 0.0
    direct = np.asarray(light.color) * (atten * visible)[:, None]
    lin = albedo * (np.asarray(light.ambient) + direct * lambert[:, None])
    for k, ob in enumerate(spec.objects):  # Blinn-Phong highlights, only where they can appear
        px = np.flatnonzero((obj == k) & (visible > 0)) if ob.specular > 0 else ()
        if len(px):
            half = l_dir[px] - d[px]
            half /= np.maximum(np.linalg.norm(half, axis=1, keepdims=True), 1e-12)
            n_dot_h = np.clip(np.einsum("ij,ij->i", normal[px], half), 0.0, 1.0)
            lin[px] += direct[px] * (ob.specular * n_dot_h**ob.shininess)[:, None]
    rgb = np.clip(lin, 0.0, 1.0) ** (1.0 / GAMMA)
    return lambert, visible, rgb
