"""Probe sets from image files: a folder (searched recursively) or an image list file.

The seeds' ``imlist.txt`` has one path per line (relative to the list's folder). Every image
is centre-cropped to a square and resized to the request's size; unreadable files are
skipped and counted, never fatal, but a set with no usable image is an error.

Hostile inputs stay cheap: the list is read through :mod:`harness.common.textio` (regular file,
bounded size, decoding errors with the line), an entry that is a FIFO or a device is refused
with its line instead of blocking the run, and an image whose header declares more pixels
than the limit is skipped before it is decoded.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np

from harness.common.errors import HarnessError, excerpt
from harness.common.limits import LIST_BYTES
from harness.probes.base import ProbeRequest, ProbeSet, sample_indices
from harness.probes.decode import decode
from harness.common.textio import read_text

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm"}


def is_image_file(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


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


def folder_images(folder: Path) -> list[Path]:
    """Image files under ``folder`` (regular files only: ``is_file`` is False for FIFOs and devices)."""
    return sorted(p for p in folder.rglob("*") if is_image_file(p) and p.is_file())


def load_folder(folder: Path, request: ProbeRequest) -> ProbeSet:
    return _load(folder_images(folder), folder, folder.name, request, str(folder))


def image_list_paths(list_file: Path) -> list[Path]:
    """The entries of an image list, checked: inside the list's folder, never a FIFO or device."""
    if is_image_file(list_file):
        raise HarnessError(f"probe set {list_file}: is a single image file; the estimators need at least 2 images: "
                           "pass the folder that holds the images or an image list (one path per line)")
    base = list_file.parent
    text = read_text(list_file, "image list", LIST_BYTES, error=HarnessError)
    paths = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        path = base / line
        try:
            resolved = path.resolve()
            mode = os.stat(path).st_mode if path.exists() else None
        except (OSError, ValueError, RuntimeError) as exc:
            raise HarnessError(f"{list_file}:{number}: entry {excerpt(line)} cannot be used ({excerpt(str(exc), 80)})") from None
        if not resolved.is_relative_to(base.resolve()):
            raise HarnessError(f"{list_file}:{number}: entry {excerpt(line)} leaves the list's folder; use paths relative to it")
        if mode is not None and not stat.S_ISREG(mode):
            raise HarnessError(f"{list_file}:{number}: entry {excerpt(line)} is not a regular file (a folder, FIFO or device); "
                               "list image files only")
        paths.append(path)
    return paths


def load_image_list(list_file: Path, request: ProbeRequest) -> ProbeSet:
    return _load(image_list_paths(list_file), list_file.parent, list_file.stem, request, str(list_file))
