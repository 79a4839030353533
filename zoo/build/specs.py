"""The zoo's models: who they are, how they are built and trained."""

from __future__ import annotations

from dataclasses import dataclass

from zoo.build.data import TASKS


@dataclass(frozen=True)
class ModelSpec:
    id: str
    tasks: tuple[str, ...]
    encoder: str = "taskonomy"  # taskonomy | mobilenet | resnet
    framework: str = "pytorch"  # pytorch | tensorflow
    exporter: str = "dynamo"  # dynamo | legacy (pytorch) | tf2onnx (tensorflow)
    split: str = "train"  # train (indoor) | studio
    group: str = "taskonomy"
    seed: int = 0

    @property
    def task(self) -> str:
        return "+".join(self.tasks)

    @property
    def is_target(self) -> bool:
        """Single-task Taskonomy-style models are the ground truth's targets."""
        return self.group == "taskonomy"


TASKONOMY = tuple(
    ModelSpec(task, (task,), exporter="dynamo" if i % 2 == 0 else "legacy", seed=i) for i, task in enumerate(TASKS)
)
COLLECTED = (
    ModelSpec("rgb2depth-mobilenet", ("rgb2depth",), encoder="mobilenet", exporter="dynamo", group="collected-architecture", seed=101),
    ModelSpec("rgb2depth-resnet", ("rgb2depth",), encoder="resnet", exporter="legacy", group="collected-architecture", seed=102),
    ModelSpec("class_scene-mobilenet", ("class_scene",), encoder="mobilenet", exporter="legacy", group="collected-architecture", seed=103),
    ModelSpec("rgb2depth-studio", ("rgb2depth",), split="studio", exporter="legacy", group="collected-data", seed=111),
    ModelSpec("segmentsemantic-studio", ("segmentsemantic",), split="studio", exporter="dynamo", group="collected-data", seed=112),
    ModelSpec("keras-rgb2depth", ("rgb2depth",), framework="tensorflow", exporter="tf2onnx", group="collected-framework", seed=121),
    ModelSpec("keras-reshade", ("reshade",), framework="tensorflow", exporter="tf2onnx", group="collected-framework", seed=122),
    ModelSpec("keras-class_object", ("class_object",), framework="tensorflow", exporter="tf2onnx", group="collected-framework", seed=123),
    ModelSpec("multi-rgb2depth+rgb2mist", ("rgb2depth", "rgb2mist"), exporter="dynamo", group="multi-task", seed=131),
    ModelSpec("multi-class_scene+edge2d", ("class_scene", "edge2d"), exporter="legacy", group="multi-task", seed=132),
)
MODELS: tuple[ModelSpec, ...] = TASKONOMY + COLLECTED
TARGETS: tuple[ModelSpec, ...] = tuple(m for m in MODELS if m.is_target)


def spec(model_id: str) -> ModelSpec:
    return next(m for m in MODELS if m.id == model_id)
