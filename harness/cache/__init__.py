"""Content-addressed, checksummed, atomically written per-model artifact cache.

- :mod:`harness.cache.key`: what a model's artifacts depend on, hashed into its key;
- :mod:`harness.cache.store`: entries on disk (atomic publish, sha256 verification, pruning);
- :mod:`harness.cache.npy`: arrays written and read back a chunk of rows at a time;
- :mod:`harness.cache.stage`: the per-model stage that executors run;
- :mod:`harness.cache.location`: the default folder (the platform's user cache dir).
"""

from __future__ import annotations

from harness.cache.location import default_cache_dir
from harness.cache.store import ArtifactCache, CacheEntry

__all__ = ["ArtifactCache", "CacheEntry", "default_cache_dir"]
