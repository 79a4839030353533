"""Where one zoo version's build reads and writes (all inside the zoo folder, or a smoke-test root)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ZOO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Layout:
    """Folders and files of one zoo version.

    ``state`` holds the small files a rerun needs to resume (training records, per-source transfer
    measurements): for zoo 2.0 it is committed, so a build may span sessions. ``cache`` holds what
    is cheap to redo or too big to commit (rendered data, checkpoints of 1.0, features).
    """

    root: Path  # the zoo folder (zoo/)
    models: Path
    cards: Path
    ground_truth: Path
    zoo_file: Path
    build_md: Path
    cache: Path
    state: Path

    @property
    def data(self) -> Path:
        return self.cache / "data"

    @property
    def ckpt(self) -> Path:
        return self.cache / "ckpt"

    @property
    def features(self) -> Path:
        return self.cache / "features"

    @property
    def records(self) -> Path:
        """Training record (json) of every finished model: test losses, seconds, probe tensor."""
        return self.state / "records"

    @property
    def transfer(self) -> Path:
        """One csv of transfer measurements per source (both seeds, every target)."""
        return self.state / "transfer"

    @property
    def timings(self) -> Path:
        return self.state / "timings.json"

    @property
    def probe_info(self) -> Path:
        return self.state / "probe_info.json"

    def ensure(self) -> None:
        for folder in (self.data, self.ckpt, self.features, self.models, self.cards, self.ground_truth, self.records, self.transfer):
            folder.mkdir(parents=True, exist_ok=True)


def layout(root: Path, suffix: str, zoo_file: str, state_in_cache: bool) -> Layout:
    """Files of a zoo version: ``models{suffix}/``, ``cards{suffix}/``, ``ground_truth{suffix}/`` in ``root``."""
    cache = root / ".cache" / (suffix.lstrip("-") or "1.0")
    return Layout(root=root, models=root / f"models{suffix}", cards=root / f"cards{suffix}",
                  ground_truth=root / f"ground_truth{suffix}", zoo_file=root / zoo_file,
                  build_md=root / f"BUILD{suffix}.md", cache=cache,
                  state=cache if state_in_cache else root / f"build_state{suffix}")
