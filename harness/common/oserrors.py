"""One line for an operating-system error: the path, the real cause, and what to do about it.

A full disk is not a permission problem, and a read-only filesystem is not a missing file;
the message says which it is (the errno name) and suggests the fix for that cause.
"""

from __future__ import annotations

import errno

from harness.common.errors import excerpt

FIXES = {
    errno.ENOSPC: "free some space or write elsewhere",
    errno.EDQUOT: "free some space (disk quota exceeded) or write elsewhere",
    errno.EROFS: "the filesystem is read-only; write elsewhere",
    errno.EACCES: "check the path's permissions",
    errno.EPERM: "check the path's permissions",
    errno.ENOENT: "check that the path exists",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "the path is a folder; name a file",
    errno.ENAMETOOLONG: "use a shorter path",
    errno.EIO: "the device reported an I/O error; check the disk",
}


def describe(exc: OSError, where: str | None = None) -> str:
    """``<path>: <cause> (<ERRNO>); <fix>`` for an ``OSError``; ``where`` names the path when the error has none."""
    path = exc.filename if exc.filename is not None else where
    code = errno.errorcode.get(exc.errno or 0)
    cause = exc.strerror or str(exc) or type(exc).__name__
    text = f"{excerpt(str(path), 200)}: " if path is not None else ""
    text += f"{cause}" + (f" ({code})" if code else "")
    fix = FIXES.get(exc.errno or 0)
    return text + (f"; {fix}" if fix else "")
