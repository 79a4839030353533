"""Row-streamed ``.npy`` files: write a 2-D array batch by batch, read it back in row chunks.

Artifacts are written while a model is probed (memory bounded by one batch, not by the probe
set) and read back by the estimators a chunk of rows at a time with plain positioned reads,
never as a whole and never memory-mapped: mapped file pages count in the reader's resident
set, so a memory map of every model would grow the peak RSS with the number of models.
The files are standard NumPy ``.npy`` (``np.load`` reads them).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

#: Rows are read in chunks of about this many bytes when a whole array is scanned.
SCAN_BYTES = 32 * 2**20


class NpyWriter:
    """Appends rows to a ``(n_rows, *row_shape)`` array whose row count is known up front."""

    def __init__(self, path: Path, n_rows: int) -> None:
        self.path = path
        self.n_rows = n_rows
        self.written = 0
        self.row_shape: tuple[int, ...] | None = None
        self.dtype: np.dtype | None = None
        #: Whether every value written so far is finite (numeric dtypes; recorded in the entry's
        #: manifest so that readers need not scan the file for NaN again, see :func:`all_finite`).
        self.finite = True
        self._handle = None

    def append(self, rows: np.ndarray) -> None:
        rows = np.ascontiguousarray(rows)
        if self._handle is None:
            self.row_shape, self.dtype = tuple(rows.shape[1:]), rows.dtype
            self._handle = open(self.path, "wb")
            header = {"descr": np.lib.format.dtype_to_descr(rows.dtype), "fortran_order": False,
                      "shape": (self.n_rows, *self.row_shape)}
            np.lib.format.write_array_header_1_0(self._handle, header)
        elif tuple(rows.shape[1:]) != self.row_shape or rows.dtype != self.dtype:
            raise ValueError(f"{self.path.name}: rows of shape {rows.shape[1:]} {rows.dtype}, expected {self.row_shape} {self.dtype}")
        if self.written + rows.shape[0] > self.n_rows:
            raise ValueError(f"{self.path.name}: more than {self.n_rows} rows")
        self.finite = self.finite and bool(np.issubdtype(rows.dtype, np.number) and np.all(np.isfinite(rows)))
        self._handle.write(rows.tobytes())
        self.written += rows.shape[0]

    def close(self) -> None:
        """Flush and fsync; the array must be complete."""
        if self._handle is None:
            raise ValueError(f"{self.path.name}: no rows written")
        if self.written != self.n_rows:
            raise ValueError(f"{self.path.name}: {self.written} of {self.n_rows} rows written")
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()

    def abort(self) -> None:
        if self._handle is not None and not self._handle.closed:
            self._handle.close()


class NpyRows:
    """A read-only 2-D view of an ``.npy`` file: ``shape``, ``dtype``, ``rows[a:b]``, ``np.asarray(rows)``.

    Slicing reads just those rows from disk (a fresh array each time); nothing stays cached,
    so holding one of these per model costs a file name, not the data.
    """

    def __init__(self, path: Path, content_sha256: str | None = None, known_finite: bool = False) -> None:
        self.path = Path(path)
        #: sha256 of the file's bytes when a verified manifest vouches for it (see
        #: :mod:`harness.estimators.model_vectors`); None when nothing does.
        self.content_sha256 = content_sha256
        #: True when a verified manifest records that every value is finite (no scan needed).
        self.known_finite = known_finite
        with open(self.path, "rb") as handle:
            version = np.lib.format.read_magic(handle)
            read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            shape, fortran, dtype = read_header(handle)
            self.offset = handle.tell()
        if fortran or len(shape) < 1:
            raise ValueError(f"{self.path}: not a C-ordered array with rows")
        self.dtype = np.dtype(dtype)
        self.full_shape = tuple(int(s) for s in shape)
        self.row_items = int(np.prod(self.full_shape[1:], dtype=np.int64))
        self.shape = (self.full_shape[0], self.row_items)  # rows flattened: what the estimators compare

    @property
    def ndim(self) -> int:
        return 2

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index) -> np.ndarray:
        if isinstance(index, slice):
            start, stop, step = index.indices(self.shape[0])
            rows = self._read(start, max(start, stop))
            return rows[::step] if step != 1 else rows
        if isinstance(index, (int, np.integer)):
            i = int(index) + (self.shape[0] if index < 0 else 0)
            return self._read(i, i + 1)[0]
        return np.asarray(self)[index]  # fancy indexing: load, then select

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        data = self._read(0, self.shape[0])
        return data if dtype is None else data.astype(dtype, copy=False)

    def _read(self, start: int, stop: int) -> np.ndarray:
        count = (stop - start) * self.row_items
        out = np.empty((stop - start, self.row_items), dtype=self.dtype)
        if count:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset + start * self.row_items * self.dtype.itemsize)
                got = handle.readinto(memoryview(out).cast("B"))
            if got != count * self.dtype.itemsize:
                raise OSError(f"{self.path}: truncated ({got} of {count * self.dtype.itemsize} bytes)")
        return out

    def chunks(self, max_bytes: int = SCAN_BYTES):
        """(start, rows) over the whole array, about ``max_bytes`` at a time."""
        step = max(1, max_bytes // max(1, self.row_items * self.dtype.itemsize))
        for start in range(0, self.shape[0], step):
            yield start, self[start : start + step]


def row_chunks(array, max_bytes: int = SCAN_BYTES):
    """(start, rows) of any 2-D array-like (ndarray or lazy view) in bounded pieces."""
    n, width = array.shape[0], int(np.prod(array.shape[1:], dtype=np.int64)) if len(array.shape) > 1 else 1
    itemsize = np.dtype(getattr(array, "dtype", np.float64)).itemsize
    step = max(1, max_bytes // max(1, width * itemsize))
    for start in range(0, n, step):
        yield start, np.asarray(array[start : start + step])


def all_finite(array, max_bytes: int = SCAN_BYTES) -> bool:
    """Whether every value is finite, scanning a lazy array in chunks instead of loading it
    (unless a verified manifest already says so: ``known_finite``)."""
    if getattr(array, "known_finite", False) is True:
        return True
    if isinstance(array, np.ndarray):
        return bool(np.issubdtype(array.dtype, np.number) and np.all(np.isfinite(array)))
    if not np.issubdtype(np.dtype(array.dtype), np.number):
        return False
    return all(bool(np.all(np.isfinite(rows))) for _, rows in row_chunks(array, max_bytes))
