"""Generated probe sets, kept beside the artifact cache so that a cached rerun does not render them again.

A built-in probe set is a pure function of its name, the request (images, seed, size) and the
renderer's source: rendering the default 200 scenes costs about a second, as much as probing a
small model, and every rerun of a cached zoo paid it. The decoded uint8 images, their ids and
the set's description are kept as one derived result (kind ``probes``, see
:mod:`harness.runtime.cache.derived`): keyed by the source of :mod:`harness.probes` with the
numpy version, checksummed, pruned with the cache. Image folders and lists are read as before
(their files can change without the key knowing).
"""

from __future__ import annotations

import json
import struct

import numpy as np

from harness.probes import ProbeRequest, ProbeSet, load_probe
from harness.probes.base import BUILTIN_PROBES
from harness.runtime.cache import derived

KIND = "probes"
#: Larger sets are generated every time rather than kept: the default 200 scenes at 64 px are
#: 2.5 MB, 1000 at 224 px 150 MB; a set of tens of thousands of large images would fill the disk.
MAX_KEPT_BYTES = 512 * 2**20


def load_probe_kept(name_or_path: str, request: ProbeRequest) -> ProbeSet:
    """:func:`harness.probes.load_probe`, read back where the same built-in set was generated before."""
    if name_or_path not in BUILTIN_PROBES or not derived.kept():
        return load_probe(name_or_path, request)
    key = derived.content_key(derived.code_digest("harness.probes", ("numpy",)), name_or_path,
                              request.n_images, request.seed, request.size)
    payload = derived.load(KIND, key)
    if payload is not None:
        probe = decode(payload)
        if probe is not None:
            return probe
    probe = load_probe(name_or_path, request)
    if probe.images.nbytes > MAX_KEPT_BYTES:
        return probe
    try:
        derived.store(KIND, key, encode(probe))
    except TypeError:  # details that JSON cannot hold: generated again next time
        pass
    return probe


def encode(probe: ProbeSet) -> bytes:
    """A JSON header (shape, ids, description) with its length, then the images' bytes."""
    header = json.dumps({"name": probe.name, "shape": list(probe.images.shape), "ids": list(probe.ids),
                         "skipped": probe.skipped, "source": probe.source, "details": probe.details}).encode()
    return struct.pack("<Q", len(header)) + header + np.ascontiguousarray(probe.images, dtype=np.uint8).tobytes()


def decode(payload: bytes) -> ProbeSet | None:
    """The probe set :func:`encode` wrote, or None when the payload does not hold one."""
    try:
        (length,) = struct.unpack_from("<Q", payload)
        header = json.loads(payload[8 : 8 + length])
        shape = tuple(int(n) for n in header["shape"])
        images = np.frombuffer(payload, dtype=np.uint8, offset=8 + length).reshape(shape).copy()
        ids = tuple(str(i) for i in header["ids"])
    except (struct.error, ValueError, KeyError, TypeError):
        return None
    if len(shape) != 4 or len(ids) != shape[0]:
        return None
    return ProbeSet(header["name"], images, ids, int(header["skipped"]), str(header["source"]), dict(header["details"]))
