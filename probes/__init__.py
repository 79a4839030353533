"""Probe sets: image folders, image lists (``imlist.txt``) and built-in generated sets.

``load_probe(name_or_path, request)`` accepts a built-in name (see ``list_probes()``), a
folder of images (recursive) or an image list file.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from harness.common.errors import HarnessError, excerpt
from harness.probes import builtin as _builtin  # noqa: F401  (registers the built-in sets)
from harness.probes.base import BUILTIN_PROBES, ProbeRequest, ProbeSet, sample_indices
from harness.probes.folder import folder_images, image_list_paths, load_folder, load_image_list
from harness.probes.quality import probe_warnings, require_different_images

DEFAULT_PROBE = "synthetic-indoor"


def list_probes() -> list[str]:
    return BUILTIN_PROBES.names()


def load_probe(name_or_path: str, request: ProbeRequest) -> ProbeSet:
    """Load a probe set by built-in name or path; ``details["warnings"]`` lists flat or repeated images."""
    probe = _load_probe(name_or_path, request)
    warnings = probe_warnings(probe)
    return replace(probe, details={**probe.details, "warnings": warnings}) if warnings else probe


def _load_probe(name_or_path: str, request: ProbeRequest) -> ProbeSet:
    path = Path(name_or_path)
    if name_or_path in BUILTIN_PROBES:
        return BUILTIN_PROBES.get(name_or_path)(name_or_path, request)
    if path.is_dir():
        return load_folder(path, request)
    if path.exists() or path.is_symlink():
        return load_image_list(path, request)  # refuses FIFOs, devices and single image files
    if any(sep in name_or_path for sep in ("/", "\\", ".")):
        raise HarnessError(f"probe set {excerpt(name_or_path)}: no such folder or image list file")
    BUILTIN_PROBES.get(name_or_path)  # raises "unknown built-in probe set ...; did you mean"
    raise AssertionError("unreachable")


def check_probe_source(name_or_path: str) -> int | None:
    """Check a probe set without decoding it; the number of candidate images when it is files.

    Called before any model is probed, so a missing folder, a bad image list or a single
    image file is reported at once rather than after the imports.
    """
    if name_or_path in BUILTIN_PROBES:
        return None
    path = Path(name_or_path)
    if path.is_dir():
        return len(folder_images(path))
    if path.exists() or path.is_symlink():
        return len(image_list_paths(path))
    if any(sep in name_or_path for sep in ("/", "\\", ".")):
        raise HarnessError(f"probe set {excerpt(name_or_path)}: no such folder or image list file")
    BUILTIN_PROBES.get(name_or_path)
    return None


__all__ = ["ProbeRequest", "ProbeSet", "load_probe", "require_different_images", "check_probe_source", "list_probes", "sample_indices", "DEFAULT_PROBE"]
