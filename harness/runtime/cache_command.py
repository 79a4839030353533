"""``harness cache [info|list|prune]``: what the artifact cache holds, and making it smaller.

``info`` prints the folder, entry count, total size, and how many entries fail verification;
``list`` one line per entry (key, model id when computed, size, last use, problem);
``prune`` removes corrupt entries and leftovers of killed runs always, plus every entry
(``--all``), entries unused for ``--older-than DAYS``, and least recently used entries
until the cache fits in ``--max-size``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from harness.runtime.budget import parse_size
from harness.runtime.cache.location import default_cache_dir
from harness.runtime.cache.store import ArtifactCache, EntryInfo
from harness.common.errors import HarnessError, excerpt
from harness.common.options import check_range
from harness.common.registry import did_you_mean

ACTIONS = ("info", "list", "prune")


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _when(stamp: float) -> str:
    return dt.datetime.fromtimestamp(stamp).isoformat(sep=" ", timespec="minutes")


def prune(cache: ArtifactCache, *, everything: bool = False, older_than_days: float | None = None,
          max_size: int | None = None, now: float | None = None) -> tuple[list[EntryInfo], int]:
    """Remove entries; returns (removed entries, leftover temporary folders removed)."""
    now = time.time() if now is None else now
    entries = cache.scan(check=True)
    doomed = [e for e in entries if everything or e.problem is not None
              or (older_than_days is not None and now - e.last_used > older_than_days * 86400)]
    keep = sorted((e for e in entries if e not in doomed), key=lambda e: e.last_used)  # oldest first
    if max_size is not None:
        total = sum(e.bytes for e in keep)
        while keep and total > max_size:
            oldest = keep.pop(0)
            doomed.append(oldest)
            total -= oldest.bytes
    for entry in doomed:
        cache.remove(entry.path)
    room = None if max_size is None else max(0, max_size - sum(e.bytes for e in keep))
    for files in (cache.derived_files(), cache.figure_files()):  # derived results first: small, and they save recomputation
        room = prune_side_files(files, everything=everything, older_than_days=older_than_days, max_size=room, now=now)
    leftovers = cache.leftovers()
    for path in leftovers:
        cache.remove(path)
    return doomed, len(leftovers)


def prune_side_files(files: list[tuple[Path, float, int]], *, everything: bool, older_than_days: float | None,
                     max_size: int | None, now: float) -> int | None:
    """Cached report figures and derived results go with the entries: all (--all), unused ones
    (--older-than), and least recently used ones beyond ``max_size`` (what the kept entries leave
    of --max-size). Returns the room left for the next folder (None: no size limit)."""
    files = sorted(files, key=lambda f: f[1])  # oldest first
    expired = [everything or (older_than_days is not None and now - f[1] > older_than_days * 86400) for f in files]
    doomed = [f for f, gone in zip(files, expired) if gone]
    keep = [f for f, gone in zip(files, expired) if not gone]  # thousands of files: no list membership test
    total = sum(f[2] for f in keep)
    if max_size is not None:
        while keep and total > max_size:
            oldest = keep.pop(0)
            doomed.append(oldest)
            total -= oldest[2]
    for path, _, _ in doomed:
        path.unlink(missing_ok=True)
    return None if max_size is None else max(0, max_size - total)


def run_cache_command(args: argparse.Namespace, console: Console) -> int:
    if args.action not in ACTIONS:
        raise HarnessError("harness cache: " + did_you_mean(args.action, list(ACTIONS), "action"))
    if args.action != "prune" and (args.all or args.older_than is not None or args.max_size is not None):
        raise HarnessError("options --all, --older-than and --max-size belong to `harness cache prune`")
    root = Path(args.cache or default_cache_dir()).expanduser()
    if not root.is_dir():
        if root.exists() or args.cache is not None:
            what = "is not a folder" if root.exists() else "does not exist"
            raise HarnessError(f"option --cache: {excerpt(str(root), 200)} {what}; pass the cache folder a run used "
                               "(harness run --cache DIR), or leave --cache out for the default cache")
        console.print(f"cache {root}: not created yet (no run has used it); 0 entries")
        return 0
    cache = ArtifactCache(root)
    if args.action == "prune":
        check_range("--older-than", args.older_than, 0.0, 1e6)
        max_size = parse_size(args.max_size, "--max-size") if args.max_size is not None else None
        removed, leftovers = prune(cache, everything=args.all, older_than_days=args.older_than, max_size=max_size)
        freed = sum(e.bytes for e in removed)
        corrupt = sum(e.problem is not None for e in removed)
        console.print(f"removed {len(removed)} entries ({_size(freed)}; {corrupt} corrupt) and {leftovers} leftover "
                      f"temporary folder(s) from {root}", markup=False, highlight=False)
        args.action = "info"
    entries = cache.scan(check=not args.no_verify)
    if args.action == "list":
        table = Table(title=f"{root}: {len(entries)} entries")
        for column in ("key", "model (when computed)", "size", "last used", "problem"):
            table.add_column(column, overflow="fold")
        for e in entries:
            table.add_row(e.key[:16], e.model_id or "?", _size(e.bytes), _when(e.last_used), e.problem or "")
        console.print(table)
        return 0
    total = sum(e.bytes for e in entries)
    bad = sum(e.problem is not None for e in entries)
    verified = "not verified" if args.no_verify else f"{bad} corrupt"
    side = cache.figure_files() + cache.derived_files()
    console.print(f"cache {root}: {len(entries)} entries, {_size(total)} ({verified}); {len(side)} report figures and "
                  f"derived results, {_size(sum(f[2] for f in side))}; {len(cache.leftovers())} leftover temporary folder(s)",
                  markup=False, highlight=False)
    return 0
