"""One record per zoo version: image size, data splits, models, training and transfer settings, files.

``python -m zoo.build`` builds the default zoo, mini-taskonomy 3.0 (five encoder families in PyTorch and Keras at 64
and 32 px; zoo.yaml). ``--version 2.0`` rebuilds 2.0 (64 px, four PyTorch families; zoo-2.0.yaml) and ``--version 1.0``
the 32-px zoo 1.0 (zoo-1.0.yaml), each exactly as before. ``smoke(cfg, root)`` is the same build at toy scale in another
folder, for the quick end-to-end test.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from zoo.build.data import L2_DENSE_TASKS
from zoo.build.paths import ZOO, Layout, layout
from zoo.build.specs import FAMILIES_3, MODELS_1, TASKS, ModelSpec, models_2, models_3


@dataclass(frozen=True)
class BuildConfig:
    version: str  # "1.0" | "2.0" | "3.0"
    zoo_version: str  # the zoo file's version field
    size: int  # image side in pixels
    splits: dict  # name -> (style, first seed, number of images, tasks)
    models: tuple[ModelSpec, ...]
    steps: int  # training steps per model (batch ``batch``, Adam ``lr`` with cosine decay)
    batch: int
    lr: float
    files: Layout
    # transfer (ground truth)
    seeds: tuple[int, ...] = (1, 2)
    n_train: int = 1500  # transfer training images per seed, drawn from the transfer pool
    head_steps: int = 200
    head_batch: int = 64
    head_lr: float = 5e-3
    scratch_steps: int = 200
    random_encoders: tuple[str, ...] = ("taskonomy",)  # frozen random encoders measured as baselines
    scratch_encoder: str = "taskonomy"
    l2_tasks: frozenset = L2_DENSE_TASKS  # dense regression tasks trained and scored with MSE instead of L1
    compact_labels: bool = False  # hold the transfer labels as float16 in memory (64 px: 4x the bytes)
    aux_weight: float = 0.3  # loss weight of a model's auxiliary tasks (ModelSpec.aux; zoo 3.0)
    description: str = ""

    @property
    def targets(self) -> tuple[ModelSpec, ...]:
        return tuple(m for m in self.models if m.is_target)

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(t.tasks[0] for t in self.targets)

    @property
    def random_sources(self) -> tuple[str, ...]:
        """Baseline source names: ``random`` (1.0: one encoder) or ``random-<family>``."""
        if len(self.random_encoders) == 1:
            return ("random",)
        return tuple(f"random-{e}" for e in self.random_encoders)

    @property
    def primary_random(self) -> str:
        """The random baseline of the affinity formula: the first random encoder (plain / Taskonomy-style)."""
        return self.random_sources[0]

    @property
    def sources(self) -> tuple[str, ...]:
        """Every transfer source, in measurement order: baselines first, then models, then scratch."""
        return self.random_sources + tuple(m.id for m in self.models) + ("scratch",)

    def random_encoder(self, source: str) -> str:
        return self.random_encoders[self.random_sources.index(source)]

    def model_size(self, spec: ModelSpec) -> int:
        """Input side of a model: its own (3.0's 32-px families) or the zoo's image size."""
        return spec.size or self.size

    def family_size(self, family: str) -> int:
        """Input size of a family's models (its random encoder is fed at that size)."""
        return next((self.model_size(m) for m in self.models if m.encoder == family), self.size)

    def spec(self, model_id: str) -> ModelSpec:
        return next(m for m in self.models if m.id == model_id)


V1 = BuildConfig(
    version="1.0", zoo_version="1.0.0", size=32,
    splits={
        "train": ("indoor", 0, 4000, TASKS),
        "studio": ("studio", 1_000_000, 3000, ("rgb2depth", "segmentsemantic")),
        "transfer": ("indoor", 2_000_000, 2400, TASKS),
        "test": ("indoor", 3_000_000, 500, TASKS),
    },
    models=MODELS_1, steps=800, batch=64, lr=2e-3,
    files=layout(ZOO, "", "zoo-1.0.yaml", state_in_cache=True),
)

V2 = BuildConfig(
    version="2.0", zoo_version="2.0.0", size=64,
    splits={
        "train": ("indoor", 0, 6000, TASKS),
        "transfer": ("indoor", 2_000_000, 2400, TASKS),
        "test": ("indoor", 3_000_000, 500, TASKS),
    },
    models=models_2(), steps=600, batch=48, lr=2e-3,
    files=layout(ZOO, "-2.0", "zoo-2.0.yaml", state_in_cache=False),
    random_encoders=("plain", "residual", "depthwise", "vit"), scratch_encoder="plain", compact_labels=True,
    # at 64 px the edge and keypoint maps are sparse too: under L1 every source collapses to predicting zeros
    l2_tasks=L2_DENSE_TASKS | {"edge2d", "keypoint2d", "keypoint3d"},
)

V3 = replace(
    V2, version="3.0", zoo_version="3.0.0",
    splits={
        "train": ("layout", 0, 6000, TASKS),
        "transfer": ("layout", 2_000_000, 2400, TASKS),
        "test": ("layout", 3_000_000, 500, TASKS),
    },
    models=models_3(),
    files=layout(ZOO, "-3.0", "zoo.yaml", state_in_cache=False),
    random_encoders=tuple(key for key, _, _ in FAMILIES_3),
)

VERSIONS = {"1.0": V1, "2.0": V2, "3.0": V3}
#: the version whose zoo file is zoo/zoo.yaml, the embedded default zoo (``python -m zoo.build`` without --version)
DEFAULT_VERSION = "3.0"


def smoke(cfg: BuildConfig, root: Path, tasks: tuple[str, ...] = ("inpainting", "rgb2depth", "class_scene")) -> BuildConfig:
    """The same build at toy scale under ``root`` (a few images and steps, a few tasks)."""
    models = tuple(replace(m, steps=None) for m in cfg.models if all(t in tasks for t in m.tasks))
    labels = set(tasks).union(*(m.aux for m in models))  # auxiliary tasks need their labels too
    splits = {name: (style, first, 24 if name != "test" else 8, tuple(t for t in ts if t in labels))
              for name, (style, first, _, ts) in cfg.splits.items()}
    suffix = "" if cfg.version == "1.0" else f"-{cfg.version}"
    return replace(cfg, splits=splits, models=models, steps=3, batch=8, n_train=16, head_steps=3, head_batch=8,
                   scratch_steps=2, files=layout(Path(root), suffix, cfg.files.zoo_file.name, state_in_cache=False))
