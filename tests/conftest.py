import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

# Runs in the tests use a private artifact cache (never the user's ~/.cache/transfer-harness).
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="harness-test-cache-")

import pytest
import torch

torch.set_num_threads(max(1, min(2, torch.get_num_threads())))


def has_tensorflow() -> bool:
    try:
        import tensorflow  # noqa: F401
        import tf2onnx  # noqa: F401
    except ImportError:
        return False
    return True


requires_tf = pytest.mark.skipif(not has_tensorflow(), reason="needs the tensorflow extra")
