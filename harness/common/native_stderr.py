"""Keep native libraries' log lines (C++ glog warnings, onnxruntime, Ray's core worker) off the terminal.

Python-level redirection cannot catch text written to file descriptor 2 by C++ code; this
swaps the descriptor for a discarded temporary file while a call runs. The call's own
exception still carries the cause, which the caller words as one line.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def silenced_fd2() -> Iterator[None]:
    """Redirect fd 2 into a temporary file for the block, restored (and the file dropped) afterwards."""
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
