"""Per-pair estimator values, kept across runs beside the artifact cache.

The attribution-map estimators compare two models image by image: there is no per-model vector
to keep (a model's unit-normalised maps are as large as its maps), and the dot products of
every pair are the expensive part (38 models x 200 images x 64^2 px: ~0.5 s for the three map
estimators). Each pair's value is a function of the two models' maps alone
(:func:`harness.estimators.attribution_maps.mean_cosine_affinity`), so a run that adds one model
to a cached zoo computes the new model's pairs and reads the others back.

Storage: one file per (comparison, model), kind ``pairs`` of :mod:`harness.runtime.cache.derived`,
holding (other model's content digest, value) records. A pair is stored in the row of the model
with the most pairs to compute (the added model), so such a run writes one file per comparison.
Models without a content digest (arrays made in memory, image subsets) are never kept.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from harness.runtime.cache import derived

KIND = "pairs"
_RECORD = struct.Struct("<32sd")


def content_digest(values) -> str | None:
    """The hex sha256 that identifies ``values``' content (a verified cache file or a view of one); None when unknown."""
    digest = getattr(values, "content_sha256", None)
    return digest if isinstance(digest, str) and len(digest) == 64 else None


class PairValues:
    """Values of ``comparison`` for pairs of models, read back where kept; :meth:`save` keeps the new ones."""

    def __init__(self, comparison: str, digests: Sequence[str | None]) -> None:
        self.digests = [d if derived.kept() else None for d in digests]
        self.keys = [None if d is None else derived.content_key(derived.code_digest("harness.estimators"), comparison, d)
                     for d in self.digests]
        self.rows: list[dict[bytes, float]] = [self._load(key) for key in self.keys]
        self.dirty: set[int] = set()

    @staticmethod
    def _load(key: str | None) -> dict[bytes, float]:
        payload = None if key is None else derived.load(KIND, key)
        if payload is None or len(payload) % _RECORD.size:
            return {}
        return {other: value for other, value in _RECORD.iter_unpack(payload)}

    def get(self, s: int, t: int) -> float | None:
        """The kept value of pair (s, t), or None."""
        ds, dt = self.digests[s], self.digests[t]
        if ds is None or dt is None:
            return None
        value = self.rows[s].get(bytes.fromhex(dt))
        return value if value is not None else self.rows[t].get(bytes.fromhex(ds))

    def missing(self, n: int) -> list[tuple[int, int]]:
        """Pairs s < t of ``n`` models without a kept value, in order."""
        return [(s, t) for s in range(n) for t in range(s + 1, n) if self.get(s, t) is None]

    def put_all(self, values: dict[tuple[int, int], float]) -> None:
        """Keep computed values; each in the row of the model with more of them (one file for an added model)."""
        count = [0] * len(self.digests)
        for s, t in values:
            count[s] += 1
            count[t] += 1
        for (s, t), value in values.items():
            if self.digests[s] is None or self.digests[t] is None:
                continue
            row, other = (s, t) if count[s] >= count[t] else (t, s)
            self.rows[row][bytes.fromhex(self.digests[other])] = float(value)
            self.dirty.add(row)

    def save(self) -> None:
        for row in sorted(self.dirty):
            payload = b"".join(_RECORD.pack(other, value) for other, value in sorted(self.rows[row].items()))
            derived.store(KIND, self.keys[row], payload)
        self.dirty.clear()
