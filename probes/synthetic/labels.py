"""Per-task labels computed from the G-buffer (geometry tasks) or the rendered image (2D tasks).

Each label function takes a ``LabelContext`` and returns one image's label; the constants
below fix every normalisation, so a label means the same thing in every scene. Image-space
labels (edge2d, keypoint2d, edge3d line width) are per pixel and so depend on resolution.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from harness.probes.synthetic.geometry import OBJECT_CLASSES, SceneSpec, keypoints, room_corners
from harness.probes.synthetic.render import GBuffer

#: Depth and mist are metres divided by this (rooms are at most 6.5 x 6.5 x 3.2 m: diagonal < 10).
DEPTH_SCALE = 10.0
#: Curvature label = min(k * CURVATURE_RADIUS, 1): a 10 cm radius (or tighter) saturates at 1.
CURVATURE_RADIUS = 0.1
#: Horizontal room extents in room_layout are metres / LAYOUT_SCALE, heights metres / LAYOUT_HEIGHT_SCALE.
LAYOUT_SCALE = 8.0
LAYOUT_HEIGHT_SCALE = 4.0
#: Vanishing-point image coordinates (half-image units) are squashed as tanh(x / VP_SQUASH).
VP_SQUASH = 3.0
#: segment2d / segment25d ids are 0 .. SEGMENT_MAX_IDS - 1.
SEGMENT_MAX_IDS = 64
#: keypoint2d = min(lambda_min / KEYPOINT2D_SCALE, 1) with lambda_min the structure tensor's smaller eigenvalue.
KEYPOINT2D_SCALE = 0.01
_KMEANS_K, _KMEANS_ITERS, _HIST_BINS = 8, 8, 16


@dataclass
class LabelContext:
    """Inputs shared by the label functions, with lazily cached intermediates."""

    spec: SceneSpec
    gbuf: GBuffer
    cache: dict = field(default_factory=dict)

    @property
    def size(self) -> int:
        return self.gbuf.size

    def img(self, flat: np.ndarray) -> np.ndarray:
        """Reshape a per-pixel array (N, ...) to (H, W, ...)."""
        return flat.reshape(self.size, self.size, *flat.shape[1:])

    def zdepth(self) -> np.ndarray:
        return self.gbuf.t * self.gbuf.dirs_cam[:, 2]

    def gradients(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-channel Sobel derivatives of the rgb image, scaled to per-pixel differences."""
        if "grad" not in self.cache:
            p = np.pad(self.gbuf.rgb.astype(np.float64), ((1, 1), (1, 1), (0, 0)), mode="edge")
            sx = p[:, 2:] - p[:, :-2]
            gx = (sx[:-2] + 2 * sx[1:-1] + sx[2:]) / 8.0
            sy = p[2:] - p[:-2]
            gy = (sy[:, :-2] + 2 * sy[:, 1:-1] + sy[:, 2:]) / 8.0
            self.cache["grad"] = (gx, gy)
        return self.cache["grad"]


def blur(img: np.ndarray) -> np.ndarray:
    """Separable binomial [1, 4, 6, 4, 1] / 16 blur (about a sigma-1 gaussian) over the first two axes, edges replicated."""
    p = np.pad(img, ((2, 2), (2, 2)) + ((0, 0),) * (img.ndim - 2), mode="edge")
    p = (p[:-4] + p[4:] + 4 * (p[1:-3] + p[3:-1]) + 6 * p[2:-2]) / 16.0
    return (p[:, :-4] + p[:, 4:] + 4 * (p[:, 1:-3] + p[:, 3:-1]) + 6 * p[:, 2:-2]) / 16.0


def canonical_ids(raw: np.ndarray, max_ids: int = SEGMENT_MAX_IDS, min_pixels: int = 1) -> np.ndarray:
    """Renumber a region map 0, 1, ... in raster order of first appearance.

    Regions smaller than ``min_pixels`` and all but the ``max_ids`` largest regions are
    absorbed by the nearest kept region, so ids are canonical (independent of how the raw ids
    were produced) and bounded.
    """
    flat = raw.ravel()
    if flat.min() >= 0 and flat.max() < 4 * flat.size:  # small non-negative ids: no sort needed
        counts = np.bincount(flat)
        present = np.flatnonzero(counts)
        dense = np.zeros(len(counts), dtype=np.int64)
        dense[present] = np.arange(len(present))
        inverse, counts = dense[flat], counts[present]
    else:
        _, inverse, counts = np.unique(flat, return_inverse=True, return_counts=True)
    keep = counts >= min_pixels
    keep[np.argmax(counts)] = True
    if keep.sum() > max_ids:
        order = np.argsort(-counts, kind="stable")
        keep[:] = False
        keep[order[:max_ids]] = True
    lab = inverse.reshape(raw.shape)
    drop = ~keep[lab]
    if drop.any():
        idx = ndimage.distance_transform_edt(drop, return_distances=False, return_indices=True)
        lab = lab[tuple(idx)]
    flat = lab.ravel()
    first = np.full(len(counts), flat.size, dtype=np.int64)
    np.minimum.at(first, flat, np.arange(flat.size))  # first pixel of each region
    used = np.flatnonzero(first < flat.size)
    rank = np.zeros(len(counts), dtype=np.int64)
    rank[used[np.argsort(first[used])]] = np.arange(len(used))
    return rank[flat].reshape(raw.shape)


def _depth(ctx: LabelContext) -> np.ndarray:
    return ctx.img(ctx.zdepth() / DEPTH_SCALE)[..., None]


def _mist(ctx: LabelContext) -> np.ndarray:
    return ctx.img(ctx.gbuf.t / DEPTH_SCALE)[..., None]


def _normals(ctx: LabelContext) -> np.ndarray:
    return ctx.img(ctx.gbuf.normal @ ctx.gbuf.basis)


def _reshade(ctx: LabelContext) -> np.ndarray:
    return ctx.img(ctx.gbuf.lambert * ctx.gbuf.visible)[..., None]


def _curvature(ctx: LabelContext) -> np.ndarray:
    return ctx.img(np.minimum(ctx.gbuf.curvature * CURVATURE_RADIUS, 1.0))


def _edge2d(ctx: LabelContext) -> np.ndarray:
    gx, gy = ctx.gradients()
    mag = np.sqrt(np.mean(gx * gx + gy * gy, axis=2))
    return np.minimum(2.0 * mag, 1.0)[..., None]  # a full-contrast step gives 1


def _keypoint2d(ctx: LabelContext) -> np.ndarray:
    gx, gy = ctx.gradients()
    tensor = np.stack([np.mean(gx * gx, 2), np.mean(gy * gy, 2), np.mean(gx * gy, 2)], axis=2)
    sxx, syy, sxy = np.moveaxis(blur(tensor), 2, 0)
    half_tr = 0.5 * (sxx + syy)
    lam_min = half_tr - np.sqrt(np.maximum(half_tr**2 - (sxx * syy - sxy * sxy), 0.0))
    return np.clip(lam_min / KEYPOINT2D_SCALE, 0.0, 1.0)[..., None]


def _edge3d(ctx: LabelContext) -> np.ndarray:
    """1 on occluding contours (the nearer side), 0.5 on creases and contacts, else 0.

    Boundaries between surfaces of one object (room planes, box faces) are creases; an
    object meets the floor (a contact) only where its surface point is at floor height;
    every other boundary between different objects is an occlusion.
    """
    g = ctx.gbuf
    size = ctx.size
    pix = 2.0 * np.tan(ctx.spec.camera.fov / 2.0) / size  # angular pixel size
    pos_y = ctx.spec.camera.position[1] + g.t * (g.dirs_cam @ g.basis.T)[:, 1]
    contact = (g.obj >= 0) & (pos_y <= 2.0 * g.t * pix)
    maps = {name: np.pad(ctx.img(a), 1, mode="edge") for name, a in
            (("s", g.surface), ("o", g.obj), ("t", g.t), ("c", contact), ("f", g.semantic == 0))}
    centre = {k: v[1:-1, 1:-1] for k, v in maps.items()}
    out = np.zeros((size, size))
    for dy, dx in ((0, 1), (2, 1), (1, 0), (1, 2)):
        nb = {k: v[dy:dy + size, dx:dx + size] for k, v in maps.items()}
        boundary = centre["s"] != nb["s"]
        same_obj = centre["o"] == nb["o"]
        touching = (centre["f"] & nb["c"]) | (nb["f"] & centre["c"])
        crease = boundary & (same_obj | touching)
        occluding = boundary & ~crease & (centre["t"] < nb["t"])
        out = np.maximum(out, np.where(occluding, 1.0, np.where(crease, 0.5, 0.0)))
    return out[..., None]


def _keypoint3d(ctx: LabelContext) -> np.ndarray:
    """Gaussian blobs at visible projected room corners and object keypoints."""
    spec, g, size = ctx.spec, ctx.gbuf, ctx.size
    pts = [room_corners(spec.room)] + [keypoints(o) for o in spec.objects]
    owner = np.concatenate([np.full(len(p), k - 1) for k, p in enumerate(pts)])
    cam = (np.concatenate(pts) - np.asarray(spec.camera.position)) @ g.basis
    f = (size / 2.0) / np.tan(spec.camera.fov / 2.0)
    z = np.maximum(cam[:, 2], 1e-9)
    x, y = f * cam[:, 0] / z + size / 2.0 - 0.5, f * cam[:, 1] / z + size / 2.0 - 0.5
    inside = (cam[:, 2] > 0.05) & (x > -0.5) & (x < size - 0.5) & (y > -0.5) & (y < size - 0.5)
    xi = np.clip(np.rint(x), 0, size - 1).astype(np.int64)
    yi = np.clip(np.rint(y), 0, size - 1).astype(np.int64)
    px = yi * size + xi
    unoccluded = ctx.zdepth()[px] >= cam[:, 2] * 0.97 - 0.02
    sel = inside & ((g.obj[px] == owner) | unoccluded)
    out = np.zeros((size, size))
    if sel.any():
        sigma = max(0.8, size / 48.0)
        grid = np.arange(size, dtype=np.float64)
        bx = np.exp(-((grid[None, :] - x[sel, None]) ** 2) / (2 * sigma**2))
        by = np.exp(-((grid[None, :] - y[sel, None]) ** 2) / (2 * sigma**2))
        out = np.max(by[:, :, None] * bx[:, None, :], axis=0)
    return out[..., None]


def _segment2d(ctx: LabelContext) -> np.ndarray:
    """Connected components of a k-means colour quantisation of the lightly smoothed image.

    k-means runs on a 16^3 colour histogram (weighted by counts) rather than on pixels, which
    makes it independent of resolution in cost; the initial centres are luminance quantiles,
    so the result is a deterministic function of the image.
    """
    img = blur(ctx.gbuf.rgb.astype(np.float64))
    q = np.minimum((img * _HIST_BINS).astype(np.int64), _HIST_BINS - 1)
    codes = (q[..., 0] * _HIST_BINS + q[..., 1]) * _HIST_BINS + q[..., 2]
    bins, inverse, counts = np.unique(codes.ravel(), return_inverse=True, return_counts=True)
    colours = (np.stack([bins // _HIST_BINS**2, bins // _HIST_BINS % _HIST_BINS, bins % _HIST_BINS], 1) + 0.5) / _HIST_BINS
    k = min(_KMEANS_K, len(bins))
    order = np.argsort(colours @ np.array([0.299, 0.587, 0.114]), kind="stable")
    cum = np.cumsum(counts[order])  # initial centres: luminance quantiles of the pixels
    centres = colours[order[np.searchsorted(cum, (np.arange(k) + 0.5) / k * cum[-1])]]
    for _ in range(_KMEANS_ITERS):
        lab = np.argmin(np.sum((colours[:, None, :] - centres[None]) ** 2, axis=2), axis=1)
        weight = np.bincount(lab, counts, minlength=k)
        sums = np.stack([np.bincount(lab, counts * colours[:, c], minlength=k) for c in range(3)], axis=1)
        centres = np.where(weight[:, None] > 0, sums / np.maximum(weight, 1e-12)[:, None], centres)
    lab_img = lab[inverse].reshape(ctx.size, ctx.size)
    comp = np.zeros_like(lab_img)
    offset = 0
    for c in np.unique(lab_img):
        cc, n = ndimage.label(lab_img == c)
        comp = np.where(cc > 0, cc + offset, comp)
        offset += n
    return canonical_ids(comp, min_pixels=max(4, ctx.size * ctx.size // 200))


def _segment25d(ctx: LabelContext) -> np.ndarray:
    return canonical_ids(ctx.img(ctx.gbuf.surface))


def _semantic(ctx: LabelContext) -> np.ndarray:
    return ctx.img(ctx.gbuf.semantic).astype(np.int64)


def _room_frame(spec: SceneSpec) -> tuple[float, np.ndarray, np.ndarray, float, float]:
    """Camera yaw relative to the nearest room axis, that axis, the lateral axis, and their extents."""
    k = int(np.round(spec.camera.yaw / (np.pi / 2)))
    yaw_rel = spec.camera.yaw - k * np.pi / 2
    a = k * np.pi / 2
    forward = np.array([np.sin(a), 0.0, np.cos(a)])
    right = np.array([-np.cos(a), 0.0, np.sin(a)])
    along_z = k % 2 == 0
    ext_f = spec.room.depth if along_z else spec.room.width
    ext_r = spec.room.width if along_z else spec.room.depth
    return yaw_rel, np.round(forward), np.round(right), ext_f, ext_r


def _room_layout(ctx: LabelContext) -> np.ndarray:
    """[pitch, yaw vs room, camera height, offsets along/across view axis, extents, height, fov]."""
    spec = ctx.spec
    yaw_rel, forward, right, ext_f, ext_r = _room_frame(spec)
    pos = np.asarray(spec.camera.position)
    return np.array([
        spec.camera.pitch / (np.pi / 2), yaw_rel / (np.pi / 4), pos[1] / LAYOUT_HEIGHT_SCALE,
        pos @ forward / (ext_f / 2), pos @ right / (ext_r / 2),
        ext_f / LAYOUT_SCALE, ext_r / LAYOUT_SCALE, spec.room.height / LAYOUT_HEIGHT_SCALE,
        spec.camera.fov / (np.pi / 2),
    ])


def _vanishing_point(ctx: LabelContext) -> np.ndarray:
    """Squashed image coordinates (x, y) of the vanishing points of the room's forward, lateral and vertical axes."""
    spec = ctx.spec
    _, forward, right, _, _ = _room_frame(spec)
    axes = np.stack([forward, right, [0.0, 1.0, 0.0]]) @ ctx.gbuf.basis  # camera frame
    axes *= np.where(axes[:, 2:3] < 0, -1.0, 1.0)  # the vanishing point in front of the camera
    tan_half = np.tan(spec.camera.fov / 2.0)
    uv = axes[:, :2] / np.maximum(axes[:, 2:3], 1e-9) / tan_half
    return np.tanh(uv / VP_SQUASH).ravel()


def _class_object(ctx: LabelContext) -> np.ndarray:
    objs = ctx.spec.objects
    if not objs:
        return np.array(0, dtype=np.int64)
    counts = np.bincount(ctx.gbuf.obj[ctx.gbuf.obj >= 0], minlength=len(objs))
    return np.array(OBJECT_CLASSES.index(objs[int(np.argmax(counts))].kind), dtype=np.int64)


def _class_scene(ctx: LabelContext) -> np.ndarray:
    return np.array(ctx.spec.scene_class, dtype=np.int64)


def _rgb(ctx: LabelContext) -> np.ndarray:
    return ctx.gbuf.rgb


LABEL_FUNCTIONS: dict[str, Callable[[LabelContext], np.ndarray]] = {
    "autoencoder": _rgb, "denoise": _rgb, "colorization": _rgb, "inpainting": _rgb,
    "rgb2depth": _depth, "rgb2mist": _mist, "rgb2sfnorm": _normals, "reshade": _reshade,
    "curvature": _curvature, "edge2d": _edge2d, "edge3d": _edge3d,
    "keypoint2d": _keypoint2d, "keypoint3d": _keypoint3d,
    "segment2d": _segment2d, "segment25d": _segment25d, "segmentsemantic": _semantic,
    "room_layout": _room_layout, "vanishing_point": _vanishing_point,
    "class_object": _class_object, "class_scene": _class_scene,
}


def compute_label(task: str, ctx: LabelContext) -> np.ndarray:
    """One task's label with its documented dtype (float32 or int64)."""
    out = LABEL_FUNCTIONS[task](ctx)
    return out if out.dtype == np.int64 else out.astype(np.float32)
