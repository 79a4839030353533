"""Probe sets from image files: a folder (searched recursively) or an image list file.

The seeds' ``imlist.txt`` has one path per line (relative to the list's folder). Every image
is centre-cropped to a square and resized to the request's size; unreadable files are
skipped and counted, never fatal, but a set with no usable image is an error.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.errors import HarnessError
from harness.probes.base import ProbeRequest, ProbeSet, sample_indices

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm"}


def decode(path: Path, size: int) -> np.ndarray | None:
    """RGB uint8 (3, size, size) of one image, or None when it cannot be read."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image = image.convert("RGB")
            w, h = image.size
            side = min(w, h)
            left, top = (w - side) // 2, (h - side) // 2
            image = image.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.BILINEAR)
            return np.asarray(image, dtype=np.uint8).transpose(2, 0, 1).copy()
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError):
        return None


def _load(paths: list[Path], base: Path, name: str, request: ProbeRequest, source: str) -> ProbeSet:
    if not paths:
        raise HarnessError(f"{source}: no image files found (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
    chosen = [paths[i] for i in sample_indices(len(paths), request.n_images, request.seed)]
    images, ids, skipped = [], [], 0
    for path in chosen:
        pixels = decode(path, request.size)
        if pixels is None:
            skipped += 1
            continue
        images.append(pixels)
        ids.append(path.relative_to(base).as_posix() if path.is_relative_to(base) else str(path))
    if not images:
        raise HarnessError(f"{source}: none of the {len(chosen)} selected images could be read")
    return ProbeSet(name, np.stack(images), tuple(ids), skipped, source, {"candidates": len(paths)})


def load_folder(folder: Path, request: ProbeRequest) -> ProbeSet:
    paths = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    return _load(paths, folder, folder.name, request, str(folder))


def load_image_list(list_file: Path, request: ProbeRequest) -> ProbeSet:
    base = list_file.parent
    lines = [line.strip() for line in list_file.read_text(encoding="utf-8").splitlines()]
    paths = [(base / line) for line in lines if line and not line.startswith("#")]
    for path in paths:
        if not path.resolve().is_relative_to(base.resolve()):
            raise HarnessError(f"{list_file}: entry {path} leaves the list's folder; use paths relative to it")
    return _load(paths, base, list_file.stem, request, str(list_file))
