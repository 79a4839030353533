"""Keep native libraries' log lines (C++ glog warnings, onnxruntime, Ray's core worker) off the terminal.

Python-level redirection cannot catch text written to file descriptor 2 by C++ code; this
swaps the descriptor for a temporary file while a call runs and hands back what was written,
so an error message can quote the relevant line instead of twenty lines of warnings.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def captured_fd2(lines: list[str]) -> Iterator[None]:
    """Redirect fd 2 into a temporary file for the block; its lines are appended to ``lines`` afterwards."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            lines.extend(sink.read(1 << 20).decode("utf-8", "replace").splitlines())
