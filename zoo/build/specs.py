"""The zoo's models: who they are, how they are built and trained (one list per zoo version)."""

from __future__ import annotations

from dataclasses import dataclass

#: The Taskonomy-style tasks of the zoo (segment2d/segment25d, whose ids are only defined up to
#: permutation, are left out: a per-pixel cross-entropy on them is not a meaningful loss).
TASKS = (
    "autoencoder", "denoise", "colorization", "inpainting", "rgb2depth", "rgb2mist", "rgb2sfnorm",
    "reshade", "curvature", "edge2d", "edge3d", "keypoint2d", "keypoint3d", "segmentsemantic",
    "room_layout", "vanishing_point", "class_object", "class_scene",
)


@dataclass(frozen=True)
class ModelSpec:
    id: str
    tasks: tuple[str, ...]
    encoder: str = "taskonomy"  # 1.0: taskonomy | mobilenet | resnet; 2.0: plain | residual | depthwise | vit
    framework: str = "pytorch"  # pytorch | tensorflow
    exporter: str = "dynamo"  # dynamo | legacy (pytorch) | tf2onnx (tensorflow)
    split: str = "train"  # train (indoor) | studio
    group: str = "taskonomy"
    seed: int = 0
    size: int | None = None  # input side in pixels (None: the zoo's image size; 3.0 has 32-px families)
    aux: tuple[str, ...] = ()  # training-only auxiliary tasks (own decoder each; not exported)
    steps: int | None = None  # training steps (None: the zoo's)

    @property
    def task(self) -> str:
        return "+".join(self.tasks)

    @property
    def is_target(self) -> bool:
        """Single-task Taskonomy-style models are the ground truth's targets (one per task)."""
        return self.group == "taskonomy"


# ---------------------------------------------------------------- zoo 1.0: one shared encoder + a collected group

TASKONOMY_1 = tuple(
    ModelSpec(task, (task,), exporter="dynamo" if i % 2 == 0 else "legacy", seed=i) for i, task in enumerate(TASKS)
)
COLLECTED_1 = (
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
MODELS_1: tuple[ModelSpec, ...] = TASKONOMY_1 + COLLECTED_1

# ---------------------------------------------------------------- zoo 2.0: every task on two encoder families

FAMILIES_2 = ("plain", "residual", "depthwise", "vit")


def models_2(tasks: tuple[str, ...] = TASKS, multi: bool = True) -> tuple[ModelSpec, ...]:
    """Task i is trained on families i mod 4 (the target, id = task) and i+1 mod 4 (its twin,
    id = task-family), so every family sees every kind of task and every task two families."""
    out = []
    for i, task in enumerate(tasks):
        first, second = FAMILIES_2[i % 4], FAMILIES_2[(i + 1) % 4]
        out.append(ModelSpec(task, (task,), encoder=first, exporter="dynamo" if i % 2 == 0 else "legacy", seed=200 + i))
        out.append(ModelSpec(f"{task}-{second}", (task,), encoder=second, exporter="legacy" if i % 2 == 0 else "dynamo",
                             group="taskonomy-twin", seed=300 + i))
    if multi:
        out.append(ModelSpec("multi-rgb2depth+rgb2sfnorm", ("rgb2depth", "rgb2sfnorm"), encoder="residual", group="multi-task", seed=401))
        out.append(ModelSpec("multi-class_scene+edge2d", ("class_scene", "edge2d"), encoder="plain", exporter="legacy", group="multi-task", seed=402))
    return tuple(out)


# ---------------------------------------------------------------- zoo 3.0: five families, two frameworks, two sizes

#: (family key, framework, input size). Keras families are the ``families_keras`` versions of the PyTorch ones;
#: 32-px families see the 64-px scenes area-downsampled (as the harness resizes probes) and have stride 1 first,
#: so every family ends in the same 16x8x8 bottleneck.
FAMILIES_3 = (("plain", "pytorch", 64), ("residual", "pytorch", 64), ("vit", "pytorch", 32),
              ("keras-depthwise", "tensorflow", 64), ("keras-residual", "tensorflow", 32))
#: every zoo 3.0 model but the autoencoder also reconstructs its input through a training-only decoder, so that its
#: features keep appearance information (zoo/BUILD-3.0-pilots.md)
AUX_3 = ("autoencoder",)
#: class_object (which of four shapes covers most pixels) is learned slowly: 3x the steps (2.0's 600 left it at the
#: majority class)
STEPS_3 = {"class_object": 1800}


def models_3(tasks: tuple[str, ...] = TASKS, multi: bool = True) -> tuple[ModelSpec, ...]:
    """Task i is trained on families i mod 5 (the target, id = task) and i+1 mod 5 (its twin, id = task-family):
    13 of 38 models in Keras, 14 at 32 px."""
    out = []

    def spec(model_id: str, task_tuple: tuple[str, ...], family: int, seed: int, group: str, torch_exporter: str) -> ModelSpec:
        key, framework, size = FAMILIES_3[family]
        aux = tuple(a for a in AUX_3 if a not in task_tuple)
        exporter = "tf2onnx" if framework == "tensorflow" else torch_exporter
        return ModelSpec(model_id, task_tuple, encoder=key, framework=framework, exporter=exporter, group=group, seed=seed,
                         size=size, aux=aux, steps=STEPS_3.get(task_tuple[0]))

    n = len(FAMILIES_3)
    for i, task in enumerate(tasks):
        out.append(spec(task, (task,), i % n, 500 + i, "taskonomy", "dynamo" if i % 2 == 0 else "legacy"))
        twin = FAMILIES_3[(i + 1) % n][0]
        out.append(spec(f"{task}-{twin}", (task,), (i + 1) % n, 600 + i, "taskonomy-twin", "legacy" if i % 2 == 0 else "dynamo"))
    if multi:
        out.append(spec("multi-rgb2depth+rgb2sfnorm", ("rgb2depth", "rgb2sfnorm"), 1, 701, "multi-task", "dynamo"))
        out.append(spec("multi-class_scene+edge2d", ("class_scene", "edge2d"), 0, 702, "multi-task", "legacy"))
    return tuple(out)
