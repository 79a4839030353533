"""PNG panels of the gallery: the input image, the difficulty map and each insecurity overlaid."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

#: Panels are drawn at least this many pixels per side (small inputs are upscaled, nearest).
PANEL = 128


def _colormap(values: np.ndarray) -> np.ndarray:
    """Values in [0, 1] -> RGB in [0, 1] with matplotlib's 'jet' (the seed's heat maps)."""
    from matplotlib import colormaps

    return colormaps["jet"](np.clip(values, 0.0, 1.0))[..., :3]


def _normalise(values: np.ndarray) -> np.ndarray:
    low, high = float(values.min()), float(values.max())
    return np.zeros_like(values) if high <= low else (values - low) / (high - low)


def _png(rgb: np.ndarray) -> bytes:
    img = Image.fromarray(np.clip(rgb * 255.0 + 0.5, 0, 255).astype(np.uint8))
    scale = max(1, -(-PANEL // max(img.size)))
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def image_png(rgb: np.ndarray) -> bytes:
    """The input image (H, W, 3) in [0, 1]."""
    return _png(rgb)


def heat_png(rgb: np.ndarray, values: np.ndarray) -> bytes:
    """A heat map (H, W) blended over the image, as the seed's ``show_cam_on_image``."""
    blend = 0.5 * rgb + 0.5 * _colormap(_normalise(values))
    return _png(blend)


def mask_png(rgb: np.ndarray, values: np.ndarray, mask: np.ndarray) -> bytes:
    """The image inside the mask tinted by the insecurity map; outside the mask dimmed."""
    heat = 0.55 * rgb + 0.45 * _colormap(_normalise(values))
    out = np.where(mask[..., None], heat, 0.2 * rgb)
    return _png(out)
