"""Probe sets: the images every model is probed with, identical in content and order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from harness.common.hashing import sha256_bytes
from harness.common.registry import Registry


@dataclass(frozen=True)
class ProbeSet:
    """Decoded probe images as uint8 RGB, NCHW, all at one square resolution.

    Models resize from here to their own input size; keeping uint8 bounds memory (400
    images at 256 px take 79 MB).
    """

    name: str
    images: np.ndarray  # (n, 3, size, size) uint8
    ids: tuple[str, ...]  # one per image: a relative path or a generator seed
    skipped: int = 0  # unreadable files that were skipped
    source: str = ""  # the folder, list file or generator the images came from
    details: dict = field(default_factory=dict)

    @property
    def n_images(self) -> int:
        return int(self.images.shape[0])

    def sha256(self) -> str:
        """Hash of the image bytes and ids: two runs used the same probe set iff these agree."""
        return sha256_bytes(self.images.tobytes() + "\n".join(self.ids).encode())

    def batches(self, batch_size: int):
        """Float RGB batches in [0, 1], NCHW, in the set's order."""
        import torch

        for start in range(0, self.n_images, batch_size):
            chunk = self.images[start : start + batch_size]
            yield start, torch.from_numpy(chunk.astype(np.float32) / 255.0)


@dataclass(frozen=True)
class ProbeRequest:
    """How many images, which sampling seed, and the square resolution to decode at."""

    n_images: int | None = None  # None: all (folders) or the set's default (generators)
    seed: int = 0
    size: int = 64


ProbeLoader = Callable[[str, ProbeRequest], ProbeSet]
#: Built-in, generated probe sets by name.
BUILTIN_PROBES: Registry[ProbeLoader] = Registry("built-in probe set")


def sample_indices(total: int, n: int | None, seed: int) -> np.ndarray:
    """Deterministic sample of ``n`` of ``total`` items, kept in their original order."""
    if n is None or n >= total:
        return np.arange(total)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(total, size=n, replace=False))
