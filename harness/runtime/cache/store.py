"""The on-disk artifact cache: one directory per key, written atomically, verified on every read.

Layout under the cache root (``v1/`` is the entry format)::

    v1/entries/ab/abcd…/manifest.json     record + sha256 and size of every file, itself checksummed
    v1/entries/ab/abcd…/<name>.npy        arrays written row by row while the model was probed
    v1/tmp/…                              entries being written (or abandoned by a killed run)
    figures/<key>.png                     report figures by the hash of what they are drawn from
    vectors/, pairs/, evaluations/, probes/<key>.bin
                                          results derived from entries, by content key (harness.runtime.cache.derived)

An entry is built in ``tmp/`` and renamed into ``entries/`` only after every file and the
manifest are fsynced, so a reader sees a complete entry or none. A reader still recomputes
every file's sha256 before trusting it: a truncated, flipped or missing file makes the entry
corrupt, it is removed, and the model is probed again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness import __version__
from harness.runtime.cache.npy import NpyRows, NpyWriter
from harness.common.errors import HarnessError
from harness.common.pids import pid_alive

FORMAT = "v1"
FIGURES = "figures"
#: Folders of results derived from the entries (see harness.runtime.cache.derived).
DERIVED = ("vectors", "pairs", "evaluations", "probes")
MANIFEST = "manifest.json"


def _canonical(data: dict) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


def _file_sha256(path: Path, chunk: int = 4 * 2**20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


class _HashingFile:
    """A write-only file that hashes what goes through it (no second read to checksum)."""

    def __init__(self, path: Path) -> None:
        self._file = open(path, "wb")
        self.digest = hashlib.sha256()
        self.size = 0
        self.closed = False

    def write(self, data) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self._file.write(data)

    def flush(self) -> None:
        self._file.flush()

    def fileno(self) -> int:
        return self._file.fileno()

    def close(self) -> None:
        self._file.close()
        self.closed = True


class _HashingNpyWriter(NpyWriter):
    def append(self, rows: np.ndarray) -> None:
        if self._handle is None:  # open through the hashing wrapper
            self._handle = _HashingFile(self.path)
            rows = np.ascontiguousarray(rows)
            self.row_shape, self.dtype = tuple(rows.shape[1:]), rows.dtype
            header = {"descr": np.lib.format.dtype_to_descr(rows.dtype), "fortran_order": False,
                      "shape": (self.n_rows, *self.row_shape)}
            np.lib.format.write_array_header_1_0(self._handle, header)
        super().append(rows)


@dataclass(frozen=True)
class CacheEntry:
    """A verified entry: the per-model record and lazy row views of its arrays."""

    key: str
    path: Path
    manifest: dict

    @property
    def record(self) -> dict:
        return self.manifest["record"]

    def arrays(self) -> dict[str, NpyRows]:
        return {name[: -len(".npy")]: NpyRows(self.path / name, content_sha256=meta["sha256"], known_finite=meta.get("finite") is True)
                for name, meta in self.manifest["files"].items()}


class EntryWriter:
    """Collects one entry's arrays in a private temporary folder; :meth:`commit` publishes it."""

    def __init__(self, cache: ArtifactCache, key: str, n_rows: int) -> None:
        self.cache, self.key, self.n_rows = cache, key, n_rows
        self.tmp = cache.tmp_dir / f"{key}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        self.tmp.mkdir(parents=True)
        self.writers: dict[str, _HashingNpyWriter] = {}

    def append(self, name: str, rows: np.ndarray) -> None:
        """Rows of array ``name`` (e.g. ``maps.saliency``, ``features``), in probe-image order."""
        if name not in self.writers:
            self.writers[name] = _HashingNpyWriter(self.tmp / f"{name}.npy", self.n_rows)
        self.writers[name].append(rows)

    def commit(self, record: dict, parts: dict | None = None) -> CacheEntry:
        files = {}
        for name, writer in self.writers.items():
            writer.close()
            files[f"{name}.npy"] = {"sha256": writer._handle.digest.hexdigest(), "bytes": writer._handle.size, "finite": writer.finite}
        body = {"format": FORMAT, "key": self.key, "harness_version": __version__, "record": record, "files": files,
                "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "key_parts": parts or {}}
        manifest = {**body, "checksum": hashlib.sha256(_canonical(body)).hexdigest()}
        with open(self.tmp / MANIFEST, "wb") as handle:
            handle.write(json.dumps(manifest, indent=1).encode())
            handle.flush()
            os.fsync(handle.fileno())
        final = self.cache.entry_dir(self.key)
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(self.tmp, final)
        except OSError:  # another worker published the same key first: keep theirs if it is sound
            shutil.rmtree(self.tmp, ignore_errors=True)
            entry, _ = self.cache.lookup(self.key)
            if entry is None:
                raise
            return entry
        return CacheEntry(self.key, final, manifest)

    def abort(self) -> None:
        for writer in self.writers.values():
            writer.abort()
        shutil.rmtree(self.tmp, ignore_errors=True)


@dataclass(frozen=True)
class EntryInfo:
    key: str
    path: Path
    bytes: int
    last_used: float
    model_id: str | None
    problem: str | None  # None when the entry verifies


class ArtifactCache:
    """Content-addressed per-model artifacts under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.base = self.root / FORMAT
        self.entries_dir = self.base / "entries"
        self.tmp_dir = self.base / "tmp"
        self.figures_dir = self.root / FIGURES  # report figures by content key, beside the entries

    def entry_dir(self, key: str) -> Path:
        return self.entries_dir / key[:2] / key

    def writer(self, key: str, n_rows: int) -> EntryWriter:
        return EntryWriter(self, key, n_rows)

    def lookup(self, key: str) -> tuple[CacheEntry | None, str]:
        """(entry, "hit") when present and every checksum matches; (None, "miss" | "corrupt: why").

        A corrupt entry is removed so that the caller recomputes and republishes it.
        """
        path = self.entry_dir(key)
        if not path.exists():
            return None, "miss"
        problem = verify(path, key)
        if problem is not None:
            self.remove(path)
            return None, f"corrupt: {problem}"
        manifest = json.loads((path / MANIFEST).read_bytes())
        os.utime(path / MANIFEST)  # last use, for pruning least recently used entries
        return CacheEntry(key, path, manifest), "hit"

    def open_verified_earlier(self, key: str) -> CacheEntry:
        """An entry this run already verified (by lookup or commit), without hashing it again."""
        path = self.entry_dir(key)
        return CacheEntry(key, path, json.loads((path / MANIFEST).read_bytes()))

    def remove(self, path: Path) -> None:
        """Move aside (atomic), then delete: a concurrent reader never sees half an entry."""
        trash = self.tmp_dir / f"trash-{uuid.uuid4().hex}"
        trash.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(path, trash)
        except FileNotFoundError:
            return
        shutil.rmtree(trash, ignore_errors=True)

    def scan(self, check: bool = True) -> list[EntryInfo]:
        """Every entry with its size, last use and (if ``check``) whether it verifies."""
        out = []
        if not self.entries_dir.is_dir():
            return out
        for shard in sorted(self.entries_dir.iterdir()):
            for path in sorted(shard.iterdir()) if shard.is_dir() else ():
                size = sum(f.stat().st_size for f in path.iterdir() if f.is_file())
                manifest_path = path / MANIFEST
                last = manifest_path.stat().st_mtime if manifest_path.exists() else path.stat().st_mtime
                problem = verify(path, path.name) if check else None
                model_id = None
                if problem is None:
                    try:
                        model_id = json.loads(manifest_path.read_bytes())["record"].get("model_id")
                    except (OSError, ValueError, KeyError):
                        model_id = None
                out.append(EntryInfo(path.name, path, size, last, model_id, problem))
        return out

    def figure_files(self) -> list[tuple[Path, float, int]]:
        """Every cached report figure (``<root>/figures``, see harness.report.figure_cache): (path, last use, bytes)."""
        return self._side_files(self.figures_dir)

    def derived_files(self) -> list[tuple[Path, float, int]]:
        """Every kept derived result (``<root>/vectors``, ``/pairs``, ``/evaluations``, ``/probes``; see harness.runtime.cache.derived)."""
        return [f for kind in DERIVED for f in self._side_files(self.root / kind)]

    @staticmethod
    def _side_files(folder: Path) -> list[tuple[Path, float, int]]:
        out = []
        if not folder.is_dir():
            return out
        for path in folder.iterdir():
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            if path.is_file():
                out.append((path, stat.st_mtime, stat.st_size))
        return out

    def leftovers(self) -> list[Path]:
        """Temporary folders of writers that are gone (killed runs)."""
        if not self.tmp_dir.is_dir():
            return []
        now = time.time()
        out = []
        for path in self.tmp_dir.iterdir():
            pid = _pid_of(path.name)
            alive = pid is not None and pid != os.getpid() and pid_alive(pid) and now - path.stat().st_mtime < 86400
            if not alive:
                out.append(path)
        return out


def verify(path: Path, key: str) -> str | None:
    """Why the entry at ``path`` cannot be trusted, or None."""
    try:
        manifest = json.loads((path / MANIFEST).read_bytes())
    except FileNotFoundError:
        return "no manifest (partial entry)"
    except (OSError, ValueError) as exc:
        return f"unreadable manifest ({exc.__class__.__name__})"
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or manifest.get("key") != key:
        return "manifest of another format or key"
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    if hashlib.sha256(_canonical(body)).hexdigest() != manifest.get("checksum"):
        return "manifest checksum mismatch"
    for name, expect in manifest["files"].items():
        file = path / name
        if not file.is_file():
            return f"{name} missing"
        if file.stat().st_size != expect["bytes"]:
            return f"{name} has {file.stat().st_size} bytes, expected {expect['bytes']}"
    names = list(manifest["files"])
    # hashlib and file reads release the GIL: two files hash at once (the 38 entries of the
    # default zoo verify in ~0.15 s instead of ~0.3 s)
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="verify") as pool:
        digests = pool.map(_file_sha256, [path / name for name in names])
        for name, got in zip(names, digests):
            if got != manifest["files"][name]["sha256"]:
                return f"{name} checksum mismatch"
    return None


def _pid_of(name: str) -> int | None:
    parts = name.split(".")
    try:
        return int(parts[1]) if len(parts) >= 3 else None
    except ValueError:
        return None



@contextmanager
def cache_errors(root: Path) -> Iterator[None]:
    """Turn an OS error while the cache is read or written (full disk, read-only, permissions) into one line naming the cache."""
    try:
        yield
    except OSError as exc:
        from harness.common.oserrors import describe

        raise HarnessError(f"artifact cache {root}: {describe(exc)}; or pass --cache DIR on another disk, "
                           "or --no-cache (a temporary cache)") from exc
