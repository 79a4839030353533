"""Export Keras models and SavedModels to ONNX with tf2onnx (the ``tensorflow`` extra)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.common.errors import HarnessError


def _require_tf() -> tuple[Any, Any]:
    try:
        import tensorflow as tf
        import tf2onnx
    except ImportError:
        raise HarnessError(
            "exporting TensorFlow models needs the tensorflow extra: pip install -e '.[tensorflow]'"
        ) from None
    return tf, tf2onnx


def export_keras(model: Any, path: Path | str, *, opset: int = 17, input_name: str = "input") -> Path:
    """Convert a Keras model to ONNX with tf2onnx (dynamic batch, NHWC input as in Keras)."""
    tf, tf2onnx = _require_tf()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = (None, *model.inputs[0].shape[1:])
    signature = (tf.TensorSpec(shape, tf.float32, name=input_name),)
    # Keras 3 models are converted through a traced tf.function of their call.
    function = tf.function(lambda x: model(x, training=False), input_signature=signature)
    tf2onnx.convert.from_function(function, input_signature=signature, opset=opset, output_path=str(path))
    return path


def export_saved_model(saved_model_dir: Path | str, path: Path | str, *, opset: int = 17, signature: str = "serving_default") -> Path:
    """Convert a TensorFlow SavedModel's serving signature to ONNX with tf2onnx.

    Runs tf2onnx's documented command line (``python -m tf2onnx.convert --saved-model``) in a
    subprocess: its SavedModel loader resets TensorFlow's default graph, which must not touch
    the caller's session.
    """
    _require_tf()
    import subprocess
    import sys

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "tf2onnx.convert", "--saved-model", str(saved_model_dir), "--output", str(path),
               "--opset", str(opset), "--signature_def", signature]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0 or not path.is_file():
        lines = [line for line in done.stderr.splitlines() if "Error" in line or "error" in line]
        raise HarnessError(f"{saved_model_dir}: tf2onnx could not convert the SavedModel: {(lines or ['see tf2onnx output'])[-1].strip()}")
    return path
