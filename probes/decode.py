"""Pixels from any image file Pillow reads: sRGB uint8, the right way up, content preserved.

``Image.convert("RGB")`` alone is not enough for real files: it clips 16-bit and 32-bit
integer pixels at 255 (a 16-bit gradient decodes almost white), clips float pixels the same
way, reads LAB values as if they were RGB, and ignores EXIF orientation (portrait photos come
out rotated by 90 degrees). :func:`to_rgb` handles each mode by what its numbers mean:

- 16-bit integer modes (``I;16*``) are scaled by 255/65535; ``I`` (32-bit) by the range its
  values use (8-bit, 16-bit, or its own min..max when outside both);
- float (``F``) images in [0, 1] are scaled by 255, in [0, 255] kept, otherwise stretched to
  their own finite min..max (NaN becomes the minimum);
- an embedded ICC profile (CMYK, Adobe RGB, LAB) is converted to sRGB; LAB without one uses
  the standard D50 LAB profile;
- alpha is dropped, keeping the colour channels as stored (the convention of torchvision and
  timm), palettes are expanded, and EXIF orientation is applied first.
"""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import numpy as np

from harness.common.limits import IMAGE_PIXELS

SIXTEEN_BIT_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I;16S")


def _stretch(values: np.ndarray) -> np.ndarray:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.zeros(values.shape, np.float64)
    low, high = float(finite.min()), float(finite.max())
    values = np.where(np.isfinite(values), values, low)
    return (values - low) * (255.0 / (high - low)) if high > low else np.zeros(values.shape, np.float64)


def gray_to_8bit(image) -> np.ndarray:
    """(H, W) float64 in [0, 255] for the single-channel high-depth modes (I;16*, I, F)."""
    values = np.asarray(image).astype(np.float64)
    if image.mode in SIXTEEN_BIT_MODES:
        return values * (255.0 / 65535.0)
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if image.mode == "I":
        if low >= 0 and high <= 255:
            return values
        if low >= 0 and high <= 65535:
            return values * (255.0 / 65535.0)
        return _stretch(values)
    if low >= 0 and high <= 1:
        return np.where(np.isfinite(values), values, 0.0) * 255.0
    if low >= 0 and high <= 255:
        return np.where(np.isfinite(values), values, 0.0)
    return _stretch(values)


def _icc_to_srgb(image):
    """The image converted to sRGB through its embedded ICC profile (or LAB's), or None when it has none."""
    from PIL import ImageCms

    profile = image.info.get("icc_profile")
    try:
        if profile:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
        elif image.mode == "LAB":
            source = ImageCms.createProfile("LAB")
        else:
            return None
        return ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return None


def to_rgb(image):
    """An RGB ``PIL.Image`` whose pixels mean what the file's pixels meant (see the module docstring)."""
    from PIL import Image, ImageOps

    image = ImageOps.exif_transpose(image) or image
    if image.mode in SIXTEEN_BIT_MODES + ("I", "F"):
        gray = np.clip(np.rint(gray_to_8bit(image)), 0, 255).astype(np.uint8)
        return Image.fromarray(np.repeat(gray[..., None], 3, axis=2), "RGB")
    if image.mode in ("CMYK", "LAB") or (image.info.get("icc_profile") and image.mode in ("RGB", "RGBA", "L")):
        converted = _icc_to_srgb(image.convert("RGB") if image.mode == "RGBA" else image)
        if converted is not None:
            return converted
    if image.mode == "La":
        image = image.convert("LA")
    if image.mode == "RGBa":
        image = image.convert("RGBA")
    return image.convert("RGB")


def centre_square(image, size: int):
    """The centred square crop, resized to ``size`` x ``size`` (bilinear)."""
    from PIL import Image

    w, h = image.size
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    return image.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.BILINEAR)


def decode(path: Path, size: int) -> np.ndarray | None:
    """RGB uint8 (3, size, size) of one image file, or None when it cannot be read.

    Files whose header declares more than the pixel limit are skipped before decoding.
    """
    from PIL import Image

    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return None
        with Image.open(path) as image:
            w, h = image.size
            if w * h > IMAGE_PIXELS.value or w <= 0 or h <= 0:
                return None
            image.draft("RGB", (size, size))  # JPEG: decode at a reduced scale when it can
            rgb = centre_square(to_rgb(image), size)
            return np.asarray(rgb, dtype=np.uint8).transpose(2, 0, 1).copy()
    except (Exception, Image.DecompressionBombError):  # PIL raises many types on corrupt files
        return None
