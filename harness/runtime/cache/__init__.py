"""Content-addressed, checksummed, atomically written per-model artifact cache.

- :mod:`harness.runtime.cache.key`: what a model's artifacts depend on, hashed into its key;
- :mod:`harness.runtime.cache.store`: entries on disk (atomic publish, sha256 verification, pruning);
- :mod:`harness.runtime.cache.npy`: arrays written and read back a chunk of rows at a time;
- :mod:`harness.runtime.stage`: the per-model stage that executors run;
- :mod:`harness.runtime.cache.location`: the default folder (the platform's user cache dir).
"""

from __future__ import annotations

from harness.runtime.cache.location import default_cache_dir
from harness.runtime.cache.store import ArtifactCache, CacheEntry

__all__ = ["ArtifactCache", "CacheEntry", "default_cache_dir"]
