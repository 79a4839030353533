"""A zoo: ``zoo.yaml`` (name, version, which cards, optional ground truth) and its cards."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.card import ModelCard, load_card
from harness.errors import ValidationError
from harness.registry import suggest
from harness.yaml_io import read_yaml_mapping

ZOO_FILE = "zoo.yaml"
_ZOO_FIELDS = {"name", "version", "description", "cards", "ground_truth", "ground_truth_repeat", "aliases", "probe", "notes"}


@dataclass(frozen=True)
class Zoo:
    """A named, versioned set of model cards."""

    name: str
    version: str
    root: Path
    cards: tuple[ModelCard, ...]
    ground_truth: Path | None = None
    ground_truth_repeat: Path | None = None  # a second, independent measurement (the ceiling)
    description: str | None = None
    probe: str | None = None  # default probe set for runs on this zoo
    aliases: tuple[tuple[str, str], ...] = ()  # ground-truth name -> model id

    def card(self, model_id: str) -> ModelCard:
        for card in self.cards:
            if card.id == model_id:
                return card
        raise ValidationError(f"{self.root / ZOO_FILE}: no model {model_id!r}; {suggest(model_id, [c.id for c in self.cards])}")


def default_zoo_dir() -> Path:
    """The embedded zoo shipped beside the package (``<repo>/zoo``)."""
    return Path(__file__).resolve().parent.parent / "zoo"


def _card_paths(root: Path, spec: Any, zoo_file: Path) -> list[Path]:
    patterns = spec if isinstance(spec, list) else [spec]
    if not patterns or not all(isinstance(p, str) and p for p in patterns):
        raise ValidationError(f"{zoo_file}: field 'cards': expected a glob or a list of card paths/globs, got {spec!r}")
    found: list[Path] = []
    for pattern in patterns:
        if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
            raise ValidationError(f"{zoo_file}: field 'cards': {pattern!r} must stay inside the zoo directory")
        matches = sorted(m for m in root.glob(pattern) if m.is_file() and m.resolve() != zoo_file.resolve())
        if not matches:
            raise ValidationError(f"{zoo_file}: field 'cards': {pattern!r} matches no file")
        found.extend(m for m in matches if m not in found)
    return found


def _optional_file(root: Path, data: dict[str, Any], name: str, zoo_file: Path) -> Path | None:
    raw = data.get(name)
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ValidationError(f"{zoo_file}: field '{name}': expected a path, got {raw!r}")
    path = (root / raw).resolve()
    if not path.is_relative_to(root.resolve()):
        raise ValidationError(f"{zoo_file}: field '{name}': {raw!r} leaves the zoo directory")
    if not path.is_file():
        raise ValidationError(f"{zoo_file}: field '{name}': file {path} not found")
    return path


def read_zoo_header(root: Path) -> dict[str, Any]:
    zoo_file = root / ZOO_FILE
    if not zoo_file.is_file():
        raise ValidationError(f"{root}: not a zoo (no {ZOO_FILE}); pass a zoo directory or a card file")
    data = read_yaml_mapping(zoo_file)
    for key in data:
        if key not in _ZOO_FIELDS:
            raise ValidationError(f"{zoo_file}: field {key!r}: unknown field; {suggest(str(key), sorted(_ZOO_FIELDS))}")
    for key in ("name", "version", "cards"):
        if key not in data:
            raise ValidationError(f"{zoo_file}: field '{key}': missing required field")
    return data


def load_zoo(root: Path | str, *, check_files: bool = True) -> Zoo:
    """Load ``root/zoo.yaml`` and every card it lists; raise on the first problem."""
    root = Path(root).resolve()
    problems = validate_zoo(root, check_files=check_files, stop_at_first=True)
    if problems:
        raise problems[0]
    return _build(root, check_files)


def _build(root: Path, check_files: bool) -> Zoo:
    zoo_file = root / ZOO_FILE
    data = read_zoo_header(root)
    cards = tuple(load_card(p, root, check_files=check_files) for p in _card_paths(root, data["cards"], zoo_file))
    return Zoo(
        name=str(data["name"]),
        version=str(data["version"]),
        root=root,
        cards=cards,
        ground_truth=_optional_file(root, data, "ground_truth", zoo_file),
        ground_truth_repeat=_optional_file(root, data, "ground_truth_repeat", zoo_file),
        description=data.get("description"),
        probe=data.get("probe"),
        aliases=_aliases(data, zoo_file),
    )


def _aliases(data: dict[str, Any], zoo_file: Path) -> tuple[tuple[str, str], ...]:
    raw = data.get("aliases") or {}
    if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
        raise ValidationError(f"{zoo_file}: field 'aliases': expected a mapping of ground-truth names to model ids")
    return tuple(sorted(raw.items()))


def validate_zoo(root: Path, *, check_files: bool = True, stop_at_first: bool = False) -> list[ValidationError]:
    """Every problem of a zoo, one error per card (so ``harness validate`` can list them all)."""
    zoo_file = root / ZOO_FILE
    try:
        data = read_zoo_header(root)
        paths = _card_paths(root, data["cards"], zoo_file)
        for name in ("ground_truth", "ground_truth_repeat"):
            _optional_file(root, data, name, zoo_file)
    except ValidationError as exc:
        return [exc]
    problems: list[ValidationError] = []
    seen: dict[str, Path] = {}
    for path in paths:
        try:
            card = load_card(path, root, check_files=check_files)
        except ValidationError as exc:
            problems.append(exc)
        else:
            if card.id in seen:
                problems.append(ValidationError(f"{path}: field 'id': {card.id!r} is already used by {seen[card.id]}"))
            seen[card.id] = path
        if problems and stop_at_first:
            break
    return problems
