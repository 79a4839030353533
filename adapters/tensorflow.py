"""TensorFlow/Keras: normalisation of tf2onnx output, and export helpers.

tf2onnx keeps TF's NHWC layout (the graph opens with a Transpose to NCHW), TF's tensor
names (``functional_1/conv/Relu:0``) and folds BatchNorm into Mul/Add. The NHWC input is
handled by the card's ``input.layout`` (the importer feeds the graph what it expects).
Specific to this source: tf2onnx writes TF's SAME padding as ``auto_pad=SAME_UPPER`` when a
size is dynamic, made explicit (``explicit_pads``) once the card's size is pinned. TensorFlow is an optional extra: importing
an existing ONNX file never imports it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.adapters.base import ADAPTERS, SHARED_PASSES, Adapter, with_passes
from harness.errors import HarnessError

TENSORFLOW_ADAPTER = Adapter(
    framework="tensorflow",
    passes=with_passes(SHARED_PASSES, "explicit_pads"),
    description="tf2onnx (Keras models, SavedModels): NHWC input, TF names, SAME padding made explicit",
)
ADAPTERS.add("tensorflow", TENSORFLOW_ADAPTER)


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
