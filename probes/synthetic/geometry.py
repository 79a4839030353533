"""Scene description and analytic ray/primitive intersection.

World frame: y is up, the floor is the plane y = 0, the room spans x in [-width/2, width/2],
z in [-depth/2, depth/2], y in [0, height]. Lengths are in metres. Everything is float64 so
that labels derived from the intersections are exact up to rounding.

Camera frame (used by normals and vanishing points): x right, y down, z forward (OpenCV
convention, right-handed).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Rays must travel at least this far before a hit counts (avoids self-intersection).
T_MIN = 1e-6
OBJECT_CLASSES: tuple[str, ...] = ("sphere", "box", "cylinder", "cone")
#: Room surfaces by part index: floor, ceiling, then the walls at x-, x+, z-, z+.
ROOM_PARTS: tuple[str, ...] = ("floor", "ceiling", "wall_x_neg", "wall_x_pos", "wall_z_neg", "wall_z_pos")


@dataclass(frozen=True)
class Camera:
    """Pinhole camera without roll; ``fov`` is the (square) field of view in radians."""

    position: tuple[float, float, float]
    yaw: float  # about +y; 0 looks along +z, pi/2 along +x
    pitch: float  # positive looks up
    fov: float

    def basis(self) -> np.ndarray:
        """3x3 matrix whose columns are the camera's right, down and forward axes in world."""
        cp, sp, cy, sy = np.cos(self.pitch), np.sin(self.pitch), np.cos(self.yaw), np.sin(self.yaw)
        forward = np.array([cp * sy, sp, cp * cy])
        right = np.array([-cy, 0.0, sy])  # normalised cross(forward, up)
        down = np.cross(forward, right)  # = -cam_up
        return np.stack([right, down, forward], axis=1)


@dataclass(frozen=True)
class Room:
    width: float  # extent along x
    depth: float  # extent along z
    height: float  # extent along y


@dataclass(frozen=True)
class Light:
    """A point light (``vector`` = position) or directional light (``vector`` = direction towards it)."""

    kind: str
    vector: tuple[float, float, float]
    color: tuple[float, float, float]
    ambient: tuple[float, float, float]
    falloff: float = 4.0  # point lights: intensity / (1 + (dist / falloff)^2)


@dataclass(frozen=True)
class Texture:
    """A procedural pattern mixing two colours over a surface's (u, v) coordinates in metres."""

    kind: str = "solid"
    color_a: tuple[float, float, float] = (0.5, 0.5, 0.5)
    color_b: tuple[float, float, float] = (0.5, 0.5, 0.5)
    scale: float = 0.5
    seed: int = 0
    grain: float = 0.0  # amplitude of multiplicative value noise added on top


@dataclass(frozen=True)
class SceneObject:
    """An object standing at ``position`` (the centre of its bounding box's bottom face).

    ``size``: sphere (r,), box (half_x, half_y, half_z), cylinder (r, h), cone (r, h) with
    the apex on top. ``yaw`` only matters for boxes.
    """

    kind: str
    position: tuple[float, float, float]
    size: tuple[float, ...]
    yaw: float = 0.0
    texture: Texture = Texture()
    specular: float = 0.0
    shininess: float = 16.0

    def footprint_radius(self) -> float:
        if self.kind == "box":
            return float(np.hypot(self.size[0], self.size[2]))
        return float(self.size[0])

    def height(self) -> float:
        if self.kind == "sphere":
            return 2.0 * self.size[0]
        return float(2 * self.size[1] if self.kind == "box" else self.size[-1])


@dataclass(frozen=True)
class SceneSpec:
    room: Room
    camera: Camera
    light: Light
    objects: tuple[SceneObject, ...]
    floor: Texture = Texture()
    walls: Texture = Texture()
    ceiling: Texture = Texture()
    style: str = "custom"
    scene_class: int = 0


def _rot_y(yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _safe(d: np.ndarray) -> np.ndarray:
    """Direction components with exact zeros nudged, so slab divisions never give 0/0."""
    return np.where(np.abs(d) < 1e-12, 1e-12, d)


def intersect_room(room: Room, o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exit distance of rays starting inside the room, and the part index hit."""
    lo = np.array([-room.width / 2, 0.0, -room.depth / 2])
    hi = np.array([room.width / 2, room.height, room.depth / 2])
    ds = _safe(d)
    t_axes = np.where(ds > 0, hi - o, lo - o) / ds  # (N, 3)
    axis = np.argmin(t_axes, axis=1)
    t = np.take_along_axis(t_axes, axis[:, None], axis=1)[:, 0]
    positive = np.take_along_axis(ds, axis[:, None], axis=1)[:, 0] > 0
    # axis 0 (x) -> walls 2/3, axis 1 (y) -> floor 0 / ceiling 1, axis 2 (z) -> walls 4/5
    part = np.array([2, 0, 4])[axis] + positive
    return t, part


def room_surface(room: Room, p: np.ndarray, part: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inward normals and texture (u, v) for room hits."""
    normals = np.zeros_like(p)
    axis = np.array([1, 1, 0, 0, 2, 2])[part]
    sign = np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0])[part]
    normals[np.arange(len(p)), axis] = sign
    u = np.where(axis == 0, p[:, 2], p[:, 0])
    v = np.where(axis == 1, p[:, 2], p[:, 1])
    return normals, np.stack([u, v], axis=1)


def bounding_sphere(obj: SceneObject) -> tuple[np.ndarray, float]:
    """Centre and radius of a sphere enclosing the object."""
    half_h = obj.height() / 2
    radius = np.hypot(obj.footprint_radius(), half_h) if obj.kind != "sphere" else obj.size[0]
    return np.asarray(obj.position, dtype=np.float64) + [0.0, half_h, 0.0], float(radius)


def intersect(obj: SceneObject, o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest hit distance (inf on a miss) and part index of rays o + t d with an object.

    ``o`` is (3,) or (N, 3), ``d`` is (N, 3) unit directions; origins lie outside the object.
    Rays are first culled against a bounding sphere, so the exact test only runs on the few
    rays that can hit (objects cover a small part of the image).
    """
    centre, radius = bounding_sphere(obj)
    oc = o - centre
    b = d @ oc if oc.ndim == 1 else np.einsum("ij,ij->i", oc, d)
    c = (oc @ oc if oc.ndim == 1 else np.einsum("ij,ij->i", oc, oc)) - radius * radius * 1.0001
    idx = np.flatnonzero((b * b >= c) & ((b < 0) | (c < 0)))
    t = np.full(len(d), np.inf)
    part = np.zeros(len(d), dtype=np.int64)
    if idx.size:
        t[idx], part[idx] = _intersect_exact(obj, o if o.ndim == 1 else o[idx], d[idx])
    return t, part


def _intersect_exact(obj: SceneObject, o: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    o = np.broadcast_to(o, d.shape)
    rel = o - np.asarray(obj.position)
    n = len(d)
    if obj.kind == "sphere":
        r = obj.size[0]
        oc = rel - np.array([0.0, r, 0.0])
        b = np.einsum("ij,ij->i", oc, d)
        c = np.einsum("ij,ij->i", oc, oc) - r * r
        disc = b * b - c
        with np.errstate(invalid="ignore"):
            t = -b - np.sqrt(disc)
        ok = (disc >= 0) & (t > T_MIN)
        return np.where(ok, t, np.inf), np.zeros(n, dtype=np.int64)
    if obj.kind == "box":
        half = np.asarray(obj.size)
        rot = _rot_y(obj.yaw)
        lo_ = (rel - np.array([0.0, half[1], 0.0])) @ rot  # into the box frame
        ld = _safe(d @ rot)
        t1 = (-half - lo_) / ld
        t2 = (half - lo_) / ld
        tmin = np.minimum(t1, t2)
        axis = np.argmax(tmin, axis=1)
        t_near = np.take_along_axis(tmin, axis[:, None], axis=1)[:, 0]
        t_far = np.min(np.maximum(t1, t2), axis=1)
        ok = (t_near <= t_far) & (t_near > T_MIN)
        positive = np.take_along_axis(ld, axis[:, None], axis=1)[:, 0] < 0  # entering the + face
        return np.where(ok, t_near, np.inf), 2 * axis + positive
    r, h = obj.size
    dx, dy, dz = d[:, 0], d[:, 1], d[:, 2]
    ox, oy, oz = rel[:, 0], rel[:, 1], rel[:, 2]
    if obj.kind == "cylinder":
        a = np.maximum(dx * dx + dz * dz, 1e-18)
        b = ox * dx + oz * dz
        c = ox * ox + oz * oz - r * r
        disc = b * b - a * c
        with np.errstate(invalid="ignore"):
            ts = (-b - np.sqrt(disc)) / a
        ys = oy + ts * dy
        t_side = np.where((disc >= 0) & (ts > T_MIN) & (ys >= 0) & (ys <= h), ts, np.inf)
        tc = (h - oy) / _safe(dy)
        xc, zc = ox + tc * dx, oz + tc * dz
        t_cap = np.where((dy < 0) & (tc > T_MIN) & (xc * xc + zc * zc <= r * r), tc, np.inf)
        part = (t_cap < t_side).astype(np.int64)
        return np.minimum(t_side, t_cap), part
    if obj.kind == "cone":
        k2 = (r / h) ** 2
        q = h - oy  # distance below the apex at the origin
        a = dx * dx + dz * dz - k2 * dy * dy
        a = np.where(np.abs(a) < 1e-12, 1e-12, a)
        b = ox * dx + oz * dz + k2 * q * dy
        c = ox * ox + oz * oz - k2 * q * q
        disc = b * b - a * c
        with np.errstate(invalid="ignore"):
            sq = np.sqrt(disc)
            best = np.full(n, np.inf)
            for tr in ((-b - sq) / a, (-b + sq) / a):
                yr = oy + tr * dy
                ok = (disc >= 0) & (tr > T_MIN) & (yr >= 0) & (yr <= h)
                best = np.where(ok & (tr < best), tr, best)
        return best, np.zeros(n, dtype=np.int64)
    raise ValueError(f"unknown object kind {obj.kind!r}; valid: {OBJECT_CLASSES}")


def object_surface(obj: SceneObject, p: np.ndarray, part: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Outward unit normals, principal curvatures (k1 >= k2, 1/m) and texture (u, v) at hits."""
    rel = p - np.asarray(obj.position)
    m = len(p)
    curv = np.zeros((m, 2))
    if obj.kind == "sphere":
        r = obj.size[0]
        c = rel - np.array([0.0, r, 0.0])
        normal = c / r
        curv[:] = 1.0 / r
        uv = np.stack([np.arctan2(c[:, 0], c[:, 2]) * r, rel[:, 1]], axis=1)
        return normal, curv, uv
    if obj.kind == "box":
        rot = _rot_y(obj.yaw)
        local = (rel - np.array([0.0, obj.size[1], 0.0])) @ rot
        axis, positive = part // 2, part % 2
        n_local = np.zeros((m, 3))
        n_local[np.arange(m), axis] = np.where(positive == 1, 1.0, -1.0)
        u = np.where(axis == 0, local[:, 2], local[:, 0])
        v = np.where(axis == 1, local[:, 2], local[:, 1])
        return n_local @ rot.T, curv, np.stack([u, v], axis=1)
    r, h = obj.size
    x, y, z = rel[:, 0], rel[:, 1], rel[:, 2]
    rho = np.maximum(np.hypot(x, z), 1e-9)
    angle_u = np.arctan2(x, z) * r
    if obj.kind == "cylinder":
        top = part == 1
        normal = np.where(top[:, None], [0.0, 1.0, 0.0], np.stack([x / rho, np.zeros(m), z / rho], axis=1))
        curv[:, 0] = np.where(top, 0.0, 1.0 / r)
        uv = np.where(top[:, None], np.stack([x, z], axis=1), np.stack([angle_u, y], axis=1))
        return normal, curv, uv
    # cone: F = x^2 + z^2 - k^2 (h - y)^2, grad F ~ (x, k^2 (h - y), z)
    k = r / h
    g = np.stack([x, k * k * (h - y), z], axis=1)
    g[np.all(g == 0, axis=1)] = (0.0, 1.0, 0.0)  # exactly at the apex
    normal = g / np.linalg.norm(g, axis=1, keepdims=True)
    curv[:, 0] = np.cos(np.arctan(k)) / np.maximum(rho, 1e-3)  # parallel direction; generator is straight
    return normal, curv, np.stack([angle_u, y], axis=1)


def keypoints(obj: SceneObject) -> np.ndarray:
    """3D keypoints of an object: box corners, sphere centre, cylinder top centre, cone apex."""
    pos = np.asarray(obj.position, dtype=float)
    if obj.kind == "box":
        hx, hy, hz = obj.size
        signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=float)
        return (signs * [hx, hy, hz]) @ _rot_y(obj.yaw).T + pos + [0.0, hy, 0.0]
    return (pos + [0.0, obj.size[0] if obj.kind == "sphere" else obj.size[-1], 0.0])[None, :]


def room_corners(room: Room) -> np.ndarray:
    hw, hd = room.width / 2, room.depth / 2
    return np.array([[sx * hw, y, sz * hd] for sx in (-1, 1) for y in (0.0, room.height) for sz in (-1, 1)])
