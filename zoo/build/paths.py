"""Where the build reads and writes (all inside zoo/)."""

from __future__ import annotations

from pathlib import Path

ZOO = Path(__file__).resolve().parent.parent
CACHE = ZOO / ".cache"  # rendered data, checkpoints, features: not shipped (see zoo/.gitignore)
DATA = CACHE / "data"
CKPT = CACHE / "ckpt"
FEATURES = CACHE / "features"
MODELS = ZOO / "models"
CARDS = ZOO / "cards"
GROUND_TRUTH = ZOO / "ground_truth"
TIMINGS = CACHE / "timings.json"
PROBE_INFO = CACHE / "probe_info.json"


def ensure() -> None:
    for folder in (DATA, CKPT, FEATURES, MODELS, CARDS, GROUND_TRUTH):
        folder.mkdir(parents=True, exist_ok=True)
