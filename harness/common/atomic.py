"""Atomic writes: a report file, and a report *set*, is either the old one or the complete new one.

A run writes several files (report.json, report.md, report.html, figures/*.png) that must
agree. :func:`write_all_atomic` renders nothing itself: it gets every file's bytes, writes
them into a fresh staging folder beside the output folder, fsyncs them, and then switches the
folders in one step with Linux ``renameat2(RENAME_EXCHANGE)``, so at every instant the output
folder holds the old complete set or the new complete set (SIGKILL, SIGINT, a full disk or an
I/O error at any point of the write phase). Files in the output folder that belong to no set
(a user's notes) are carried over by hard link; files of the previous set that the new one
lacks (an old figure) are not. A manifest (``.<last>.set``) lists each set's files.

Where the exchange is not available (another OS or file system) or the output folder cannot
be moved (it is the working directory or holds it), the files are renamed into place one by
one with the index file (``last``) last, as before. Staging folders left by a killed run are
removed by :func:`clean_stale` at the start of the next write.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import json
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from harness.common.errors import HarnessError
from harness.common.pids import pid_alive

_STAGING = ".staging-"  # <parent>/.<name>.staging-<pid>-<random>
_OLD_TMP_SUFFIX = ".tmp"  # single-file temporaries: .<name>.<random>.tmp


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it, then rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=_OLD_TMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp creates 0600; reports are ordinary files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def manifest_name(last: str | None) -> str:
    return f".{last or 'files'}.set"


def write_all_atomic(folder: Path, files: Mapping[str, bytes], last: str | None = None) -> None:
    """Replace the report set in ``folder`` by ``files`` (relative names) in one atomic switch.

    Everything is rendered in memory before the first byte is written, so an interrupted run
    writes nothing; ``last`` (the index, e.g. report.json) is also written last within the set.
    """
    folder = Path(folder)
    try:
        _write_set(folder, files, last)
    except OSError as exc:
        raise HarnessError(f"{folder}: cannot write the report files ({exc.strerror or exc}); "
                           "the folder still holds its previous complete set, if any; free space or pick another --out") from None


def _write_set(folder: Path, files: Mapping[str, bytes], last: str | None) -> None:
    target = folder.resolve() if folder.is_symlink() else folder.absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(target)
    order = [name for name in files if name != last] + ([last] if last in files else [])
    manifest = manifest_name(last)
    if not _can_exchange(target):
        target.mkdir(parents=True, exist_ok=True)
        _write_member(target, manifest, _manifest(order), replace=True)
        for name in order:
            _write_member(target, name, files[name], replace=True)
        return
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}{_STAGING}{os.getpid()}-", dir=target.parent))
    try:
        if target.is_dir():
            _carry_foreign(target, staging, set(order), manifest)
        _write_member(staging, manifest, _manifest(order))
        for name in order:
            _write_member(staging, name, files[name])
        _fsync_dir(staging)
        os.chmod(staging, 0o777 & ~_umask())
        with _signals_deferred():
            if target.is_dir():
                _exchange(staging, target)  # staging now holds the previous set
            else:
                os.rename(staging, target)
            _fsync_dir(target.parent)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _manifest(order: list[str]) -> bytes:
    return (json.dumps({"files": order}, indent=1) + "\n").encode()


def _write_member(root: Path, name: str, data: bytes, *, replace: bool = False) -> None:
    """One file of a set: plainly into a fresh staging folder, by temp file + rename otherwise."""
    path = root / name
    if replace:
        write_atomic(path, data)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - a folder that cannot be opened is not synced
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some file systems refuse fsync on folders
        pass
    finally:
        os.close(fd)


def _previous_set(target: Path, manifest: str) -> set[str]:
    try:
        listed = json.loads((target / manifest).read_text(encoding="utf-8")).get("files", [])
    except (OSError, ValueError, AttributeError):
        return set()
    return {name for name in listed if isinstance(name, str)}


def _carry_foreign(target: Path, staging: Path, new: set[str], manifest: str) -> None:
    """Hard-link (or copy) into ``staging`` every file of ``target`` that is in neither set."""
    skip = new | _previous_set(target, manifest) | {manifest}
    for root, dirs, names in os.walk(target):
        rel_root = Path(root).relative_to(target)
        for name in names:
            rel = (rel_root / name).as_posix()
            if rel in skip or (rel_root == Path(".") and name.endswith(_OLD_TMP_SUFFIX) and name.startswith(".")):
                continue
            dest = staging / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            source = Path(root) / name
            try:
                os.link(source, dest, follow_symlinks=False)
            except OSError:
                if source.is_symlink():
                    dest.symlink_to(os.readlink(source))
                else:
                    shutil.copy2(source, dest)


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM for the few system calls of the switch; they arrive right after it."""
    held = {signal.SIGINT, signal.SIGTERM}
    try:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not the main thread / no pthreads
        yield
        return
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100
_libc = None


def _renameat2():
    global _libc
    if _libc is None:
        name = ctypes.util.find_library("c")
        _libc = ctypes.CDLL(name, use_errno=True) if name else False
    return getattr(_libc, "renameat2", None) if _libc else None


def _exchange(a: Path, b: Path) -> None:
    function = _renameat2()
    if function is None:  # pragma: no cover - checked by _can_exchange
        raise OSError(errno.ENOSYS, "renameat2 is not available")
    if function(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(b))


def _can_exchange(target: Path) -> bool:
    """Whether ``target`` can be switched as a whole (never the working folder or one above it)."""
    if _renameat2() is None:
        return False
    try:
        cwd = Path.cwd().resolve()
        resolved = target.resolve()
    except OSError:
        return False
    if cwd == resolved or resolved in cwd.parents or os.path.ismount(resolved):
        return False
    if not target.is_dir():
        return True
    probe_dir = None
    try:  # RENAME_EXCHANGE needs kernel and file-system support: try it on two scratch folders
        probe_dir = Path(tempfile.mkdtemp(prefix=f".{target.name}{_STAGING}{os.getpid()}-", dir=target.parent))
        (probe_dir / "a").mkdir()
        (probe_dir / "b").mkdir()
        _exchange(probe_dir / "a", probe_dir / "b")
        return True
    except OSError:
        return False
    finally:
        if probe_dir is not None:
            shutil.rmtree(probe_dir, ignore_errors=True)


def clean_stale(target: Path) -> list[Path]:
    """Remove staging folders and temporary files that a killed run left beside/inside ``target``.

    A staging folder carries its writer's process id; it is only removed when that process is
    gone, so two runs writing to neighbouring folders do not clean each other up.
    """
    removed: list[Path] = []
    parent = target.parent
    prefix = f".{target.name}{_STAGING}"
    try:
        candidates = [p for p in parent.iterdir() if p.name.startswith(prefix)]
    except OSError:
        candidates = []
    for path in candidates:
        pid = path.name[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and pid_alive(int(pid)):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    if target.is_dir():
        try:
            for path in target.iterdir():
                if path.name.startswith(".") and path.name.endswith(_OLD_TMP_SUFFIX) and path.is_file():
                    path.unlink(missing_ok=True)
                    removed.append(path)
        except OSError:
            pass
    return removed

