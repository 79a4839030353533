"""Content-addressed cache of report figures: a figure drawn from the same inputs is not drawn twice.

A cached rerun (every model from the artifact cache) used to spend most of its time drawing
the same heatmaps, trees, galleries and curves again. Each figure's PNG is stored under the
artifact cache as ``<cache>/figures/<key>.png``, the key a sha256 over exactly what the figure
is drawn from: the drawing function's name, every argument (arrays by dtype, shape and bytes;
mappings and sequences in their order), the harness version, the source of every module of
:mod:`harness.report.figures`, and the versions of matplotlib, Pillow, scipy and numpy. Equal keys therefore give the bytes a fresh drawing would give.

Files are written atomically (temporary file, fsync, rename); a file that is not a whole PNG
is ignored and redrawn. The folder is bounded (least recently used figures beyond
:data:`MAX_FIGURES` are removed after a run stores new ones) and pruned with the artifact
cache by ``harness cache prune``.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import tempfile
import threading
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path

from harness import __version__
from harness.runtime.cache.derived import code_digest, feed_value
from harness.runtime.cache.store import ArtifactCache

FIGURES_MODULE = "harness.report.figures"

#: Figures kept after a run stores new ones (least recently used beyond this are removed):
#: ~25-40 figures a run, 20-500 KB each (galleries the largest): about a hundred runs' worth, a few hundred MB at most.
MAX_FIGURES = 4000
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"


@cache
def _environment() -> bytes:
    """What every figure also depends on besides its arguments (computed once per process): the
    harness version, the figures package's source and the versions of the libraries that draw."""
    return f"harness={__version__}\n{code_digest(FIGURES_MODULE, ('matplotlib', 'pillow', 'scipy', 'numpy'))}".encode()


def drawing(name: str) -> Callable[..., bytes]:
    """The drawing function ``name`` of :mod:`harness.report.figures`, imported only when a figure is drawn."""
    return getattr(importlib.import_module(FIGURES_MODULE), name)


def figure_key(name: str, args: tuple, kwargs: Mapping) -> str:
    """sha256 of the drawing function's name, its arguments and the drawing environment."""
    digest = hashlib.sha256(_environment())
    feed_value(digest, f"{FIGURES_MODULE}.{name}")
    feed_value(digest, list(args))
    feed_value(digest, dict(sorted(kwargs.items())))
    return digest.hexdigest()


def _whole_png(data: bytes) -> bool:
    return data.startswith(_PNG_MAGIC) and data.endswith(_PNG_END)


class FigureCache:
    """PNG bytes by figure key under ``<cache root>/figures``; counts what it drew and reused."""

    def __init__(self, root: Path) -> None:
        self.dir = ArtifactCache(root).figures_dir
        self.drawn = 0
        self.reused = 0
        self._count_lock = threading.Lock()  # figures are drawn on several threads (harness.report.html)

    def path(self, key: str) -> Path:
        return self.dir / f"{key}.png"

    def draw(self, name: str, *args, **kwargs) -> bytes:
        """The PNG of figures.``name``(*args, **kwargs), from the cache when it was drawn from the same inputs before."""
        try:
            key = figure_key(name, args, kwargs)
        except TypeError:  # an argument without stable bytes: draw, keep nothing
            self._count("drawn")
            return drawing(name)(*args, **kwargs)
        path = self.path(key)
        try:
            data = path.read_bytes()
        except OSError:
            data = b""
        if _whole_png(data):
            self._count("reused")
            try:
                os.utime(path)  # last use, for pruning least recently used figures
            except OSError:
                pass
            return data
        data = drawing(name)(*args, **kwargs)
        self._count("drawn")
        self._store(path, data)
        return data

    def _count(self, what: str) -> None:
        with self._count_lock:
            setattr(self, what, getattr(self, what) + 1)

    def _store(self, path: Path, data: bytes) -> None:
        """Atomic write; a cache that cannot be written (full disk, read-only) only costs a redraw next time."""
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.stem[:16]}.", suffix=".tmp", dir=self.dir)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError:
            pass

    def bound(self, limit: int = MAX_FIGURES) -> int:
        """Remove the least recently used figures beyond ``limit`` (only after new ones were stored)."""
        if not self.drawn:
            return 0
        files = figure_files(self.dir.parent)
        if len(files) <= limit:
            return 0
        doomed = sorted(files, key=lambda f: f[1])[: len(files) - limit]
        for path, _, _ in doomed:
            path.unlink(missing_ok=True)
        return len(doomed)


def figure_files(root: Path) -> list[tuple[Path, float, int]]:
    """Every cached figure under the cache ``root``: (path, last use, bytes); temporaries included."""
    return ArtifactCache(root).figure_files()


def plain_draw(name: str, *args, **kwargs) -> bytes:
    """No cache: draw."""
    return drawing(name)(*args, **kwargs)
