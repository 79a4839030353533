"""A zoo: ``zoo.yaml`` (name, version, which cards, optional ground truth) and its cards."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.model.card import ZOO_FILE, ModelCard, load_card
from harness.common.errors import ValidationError, excerpt
from harness.common.limits import NAME_CHARS, TEXT_CHARS
from harness.common.registry import suggest
from harness.common.yaml_io import read_yaml_mapping

_ZOO_FIELDS = {"name", "version", "description", "cards", "ground_truth", "ground_truth_repeat", "aliases", "probe", "notes"}


@dataclass(frozen=True)
class Zoo:
    """A named, versioned set of model cards."""

    name: str
    version: str
    root: Path
    file: Path  # the zoo file (root/zoo.yaml, or another version's file in the same folder)
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
        raise ValidationError(f"{self.file}: no model {excerpt(model_id)}; {suggest(model_id, [c.id for c in self.cards])}")


def default_zoo_dir() -> Path:
    """The embedded zoo: ``<repo>/zoo`` in a checkout, the ``harness.default_zoo`` package data otherwise.

    Both are the same folder in an editable install; a wheel ships the zoo as package data.
    """
    import importlib.util

    spec = importlib.util.find_spec("harness.default_zoo")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            if (Path(location) / "zoo.yaml").is_file():
                return Path(location)
    checkout = Path(__file__).resolve().parent.parent / "zoo"
    if (checkout / "zoo.yaml").is_file():
        return checkout
    raise ValidationError(
        "the embedded default zoo was not found in this installation; pass --zoo DIR "
        "(a folder with zoo.yaml, e.g. the zoo/ folder of a harness checkout)"
    )


def _card_paths(root: Path, spec: Any, zoo_file: Path) -> list[Path]:
    patterns = spec if isinstance(spec, list) else [spec]
    if not patterns or not all(isinstance(p, str) and p for p in patterns):
        raise ValidationError(f"{zoo_file}: field 'cards': expected a glob or a list of card paths/globs, got {excerpt(spec)}")
    if len(patterns) > 100_000 or any(len(p) > NAME_CHARS for p in patterns):
        raise ValidationError(f"{zoo_file}: field 'cards': too many or too long patterns (at most 100000 of {NAME_CHARS} characters)")
    found: list[Path] = []
    for pattern in patterns:
        if Path(pattern).is_absolute() or ".." in Path(pattern).parts:
            raise ValidationError(f"{zoo_file}: field 'cards': {excerpt(pattern)} must stay inside the zoo directory")
        try:
            matches = sorted(m for m in root.glob(pattern) if m.is_file() and m.resolve() != zoo_file.resolve())
        except (ValueError, OSError) as exc:
            raise ValidationError(f"{zoo_file}: field 'cards': {excerpt(pattern)} is not a usable glob ({excerpt(str(exc), 80)})") from None
        if not matches:
            raise ValidationError(f"{zoo_file}: field 'cards': {excerpt(pattern)} matches no file")
        found.extend(m for m in matches if m not in found)
    return found


def _optional_file(root: Path, data: dict[str, Any], name: str, zoo_file: Path) -> Path | None:
    raw = data.get(name)
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw or len(raw) > NAME_CHARS:
        raise ValidationError(f"{zoo_file}: field '{name}': expected a path, got {excerpt(raw)}")
    try:
        path = (root / raw).resolve()
        path.is_file()
    except (OSError, ValueError) as exc:  # a NUL byte, a name too long for the file system
        raise ValidationError(f"{zoo_file}: field '{name}': {excerpt(raw)} is not a usable path ({excerpt(str(exc), 60)})") from None
    if not path.is_relative_to(root.resolve()):
        raise ValidationError(f"{zoo_file}: field '{name}': {excerpt(raw)} leaves the zoo directory")
    if not path.is_file():
        raise ValidationError(f"{zoo_file}: field '{name}': file {path} not found")
    return path


def locate_zoo(path: Path | str) -> tuple[Path, Path]:
    """(zoo root, zoo file) for a zoo directory (its zoo.yaml) or a zoo file.

    A folder can hold several zoo files, e.g. ``zoo.yaml`` and ``zoo-0.9.yaml`` listing the
    cards of an earlier version; card paths stay relative to (and inside) that folder.
    """
    path = Path(path).resolve()
    zoo_file = path / ZOO_FILE if path.is_dir() else path
    if not zoo_file.is_file():
        raise ValidationError(f"{path}: not a zoo (no {ZOO_FILE}); pass a zoo directory, a zoo file or a card file")
    return zoo_file.parent, zoo_file


def is_zoo_file(path: Path) -> bool:
    """Whether a YAML file is a zoo file (lists cards) rather than a model card."""
    if path.name == ZOO_FILE:
        return True
    try:
        data = read_yaml_mapping(path)
    except ValidationError:
        return False
    return "cards" in data and "onnx" not in data


def read_zoo_header(zoo_file: Path) -> dict[str, Any]:
    data = read_yaml_mapping(zoo_file)
    for key in data:
        if key not in _ZOO_FIELDS:
            shown = str(key)[:NAME_CHARS] if isinstance(key, str) else excerpt(key, 40)
            raise ValidationError(f"{zoo_file}: field {excerpt(shown)}: unknown field; {suggest(shown, sorted(_ZOO_FIELDS))}")
    for key in ("name", "version", "cards"):
        if key not in data:
            raise ValidationError(f"{zoo_file}: field '{key}': missing required field")
    for key, cap in (("name", NAME_CHARS), ("version", NAME_CHARS), ("probe", NAME_CHARS), ("description", TEXT_CHARS), ("notes", TEXT_CHARS)):
        _check_string(data, key, cap, zoo_file)
    return data


def _check_string(data: dict[str, Any], key: str, cap: int, zoo_file: Path) -> None:
    """Name, version, probe and free text are strings (``version: 1.10`` would silently become '1.1')."""
    value = data.get(key)
    if value is None and key not in ("name", "version"):
        return
    if not isinstance(value, str) or not value.strip():
        hint = f"; quote it: {key}: '{value}'" if isinstance(value, (int, float)) and not isinstance(value, bool) else ""
        raise ValidationError(f"{zoo_file}: field '{key}': expected a non-empty string, got {excerpt(value)}{hint}")
    if len(value) > cap:
        raise ValidationError(f"{zoo_file}: field '{key}': {len(value)} characters, longer than the limit of {cap}; shorten it")
    if key in ("name", "version") and (any(c in value for c in "/\\\0") or value.startswith(".")):
        raise ValidationError(f"{zoo_file}: field '{key}': {excerpt(value)} names the default output folder "
                              "runs/<name>-<version>: no '/', '\\' or leading '.'")


def load_zoo(path: Path | str, *, check_files: bool = True) -> Zoo:
    """Load a zoo (directory or zoo file) and every card it lists; raise on the first problem."""
    scan = _scan(path, check_files, stop_at_first=True)
    if scan.problems:
        raise scan.problems[0]
    return _zoo(scan)


def _zoo(scan: _Scan) -> Zoo:
    data, root, zoo_file = scan.data, scan.root, scan.zoo_file
    return Zoo(
        name=data["name"],
        version=data["version"],
        root=root,
        file=zoo_file,
        cards=tuple(scan.cards),
        ground_truth=_optional_file(root, data, "ground_truth", zoo_file),
        ground_truth_repeat=_optional_file(root, data, "ground_truth_repeat", zoo_file),
        description=data.get("description"),
        probe=_probe(data.get("probe"), root),
        aliases=_aliases(data, zoo_file),
    )


def _aliases(data: dict[str, Any], zoo_file: Path) -> tuple[tuple[str, str], ...]:
    raw = data.get("aliases") or {}
    if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, str) and len(k) <= NAME_CHARS and len(v) <= NAME_CHARS
                                            for k, v in raw.items()):
        raise ValidationError(f"{zoo_file}: field 'aliases': expected a mapping of ground-truth names to model ids")
    return tuple(sorted(raw.items()))


def _probe(name: str | None, root: Path) -> str | None:
    """A zoo's probe set: a built-in name, or a path relative to the zoo folder when one exists there."""
    if name is None:
        return None
    candidate = root / name
    try:
        return str(candidate) if not Path(name).is_absolute() and candidate.exists() else name
    except (OSError, ValueError):
        return name


def validate_zoo(path: Path | str, *, check_files: bool = True) -> list[ValidationError]:
    """Every problem of a zoo's file and cards, one error per card (so ``harness validate`` can list them all).

    What a run needs beyond the cards (ground truth that parses, a probe set that exists) is
    checked by :func:`harness.run.preflight.zoo_problems`, which builds on :func:`inspect_zoo`.
    """
    return inspect_zoo(path, check_files=check_files)[1]


def inspect_zoo(path: Path | str, *, check_files: bool = True) -> tuple[Zoo | None, list[ValidationError]]:
    """The zoo (None when anything is wrong) and every problem of its file and cards, from one read of each."""
    scan = _scan(path, check_files, stop_at_first=False)
    return (None if scan.problems else _zoo(scan)), scan.problems


@dataclass
class _Scan:
    data: dict[str, Any]
    root: Path
    zoo_file: Path
    cards: list[ModelCard]
    problems: list[ValidationError]


def _scan(path: Path | str, check_files: bool, stop_at_first: bool) -> _Scan:
    """Read the zoo file and each card once, collecting the cards and the problems."""
    try:
        root, zoo_file = locate_zoo(path)
        data = read_zoo_header(zoo_file)
        paths = _card_paths(root, data["cards"], zoo_file)
        for name in ("ground_truth", "ground_truth_repeat"):
            _optional_file(root, data, name, zoo_file)
        _aliases(data, zoo_file)
    except ValidationError as exc:
        return _Scan({}, Path(path), Path(path), [], [exc])
    cards: list[ModelCard] = []
    problems: list[ValidationError] = []
    seen: dict[str, Path] = {}
    for card_path in paths:
        try:
            card = load_card(card_path, root, check_files=check_files)
        except ValidationError as exc:
            problems.append(exc)
        else:
            if card.id in seen:
                problems.append(ValidationError(f"{card_path}: field 'id': {excerpt(card.id)} is already used by {seen[card.id]}"))
            seen[card.id] = card_path
            cards.append(card)
        if problems and stop_at_first:
            break
    return _Scan(data, root, zoo_file, cards, problems)
