"""Reading two report.json files for ``harness compare`` and deciding whether they are comparable.

A file that is not a harness report (bad JSON, truncated, another tool's JSON, another
schema) is a :class:`ValidationError` naming the file: one line, exit code 2. Reports are
untrusted input: the file must be a regular file under the size limit, ``NaN``/``Infinity``
and absurd numbers are refused while parsing, nesting is bounded, and every part that
``compare`` reads is type-checked here, so nothing downstream meets a wrong type.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.compare.comparable import prose_parameters
from harness.common.errors import HarnessError, ValidationError, excerpt
from harness.common.limits import REPORT_BYTES
from harness.common.textio import decode, read_bytes
from harness.report.document import SCHEMA_VERSION

#: (dotted key, expected type) every report must have for a comparison.
REQUIRED: tuple[tuple[str, type | tuple[type, ...]], ...] = (
    ("harness_version", str), ("zoo", dict), ("zoo.name", str), ("zoo.version", str), ("zoo.cards", dict),
    ("probe", dict), ("probe.name", str), ("probe.n_images", int), ("probe.sha256", str), ("parameters", dict),
    ("models", list), ("estimators", dict), ("rankings", dict), ("evaluation", dict),
)
#: Parameters that do not change what a run estimates: where it ran, how it was batched, how
#: many bootstrap resamples its CIs used, and which methods/estimators it ran (compare only
#: looks at the estimators both reports have and lists the others).
IGNORED_PARAMETERS = frozenset({"device_type", "batch_size", "bootstrap", "methods", "estimators"})


class NotComparable(HarnessError):
    """Two reports made with different probe sets or method parameters (exit code 2)."""

    exit_code = 2


def load_report(path: Path) -> dict[str, Any]:
    """A validated report document; a run folder stands for its report.json."""
    path = Path(path)
    if path.is_dir() and (path / "report.json").is_file():
        path = path / "report.json"
    raw = read_bytes(path, "report", REPORT_BYTES)
    try:
        text = decode(raw, path, "report")
    except ValidationError as exc:
        raise ValidationError(f"{exc} (not a harness report)") from None
    data = _parse_json(text, path)
    if not isinstance(data, dict) or "schema_version" not in data:
        raise ValidationError(f"{path}: not a harness report (no schema_version at the top level)")
    if data["schema_version"] != SCHEMA_VERSION or isinstance(data["schema_version"], bool):
        raise ValidationError(f"{path}: report schema_version {excerpt(data['schema_version'])} is not supported; "
                              f"this harness reads version {SCHEMA_VERSION}")
    for key, kind in REQUIRED:
        value = _get(data, key)
        if value is _MISSING:
            raise ValidationError(f"{path}: not a complete harness report: missing key {key!r}")
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ValidationError(f"{path}: key {key!r} has type {type(value).__name__}, expected {_name(kind)}")
    for model_id, card_hash in data["zoo"]["cards"].items():
        if not isinstance(card_hash, str):
            raise ValidationError(f"{path}: zoo.cards.{_key(model_id)}: expected a card hash string, got {excerpt(card_hash)}")
    for name, est in data["estimators"].items():
        _check_estimator(path, name, est, data)
    for name, ranking in data["rankings"].items():
        _check_ranking(path, name, ranking)
    return data


#: Largest magnitude of a number in a report: affinities, metrics and timings are far smaller.
_MAX_NUMBER = 1e100


class _BadNumber(ValueError):
    pass


def _parse_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value) or abs(value) > _MAX_NUMBER:
        raise _BadNumber(literal)
    return value


def _parse_int(literal: str) -> int:
    if len(literal.lstrip("-")) > 30:
        raise _BadNumber(literal)
    return int(literal)


def _parse_constant(literal: str) -> float:
    raise _BadNumber(literal)  # NaN, Infinity, -Infinity: not JSON, and never in a harness report


def _parse_json(text: str, path: Path) -> Any:
    try:
        return json.loads(text, parse_float=_parse_float, parse_int=_parse_int, parse_constant=_parse_constant)
    except _BadNumber as exc:
        literal = str(exc)
        line = text.count("\n", 0, max(text.find(literal), 0)) + 1
        raise ValidationError(f"{path}:{line}: number {excerpt(literal)} is not finite or too large for a harness report "
                              f"(|x| <= {_MAX_NUMBER:g}); the file is corrupted or not a report") from None
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{path}: not valid JSON ({exc.msg}; line {exc.lineno}, column {exc.colno}); "
                              "the file may be truncated or corrupted") from None
    except RecursionError:
        raise ValidationError(f"{path}: JSON nested too deeply; not a harness report") from None


_MISSING = object()


def _get(data: Mapping, dotted: str) -> Any:
    value: Any = data
    for part in dotted.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _name(kind: type | tuple[type, ...]) -> str:
    return " or ".join(k.__name__ for k in kind) if isinstance(kind, tuple) else kind.__name__


def _key(name: str) -> str:
    """A JSON key as it appears in a dotted path, cut short when hostile."""
    return name if len(name) <= 40 else name[:39] + "…"


def _number_or_none(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))


def _ids(value: Any) -> bool:
    """A list of distinct model ids."""
    return isinstance(value, list) and all(isinstance(v, str) for v in value) and len(set(value)) == len(value)


def _check_ranking(path: Path, name: str, ranking: Any) -> None:
    if not isinstance(ranking, dict) or not all(isinstance(v, list) and all(isinstance(s, str) for s in v) for v in ranking.values()):
        raise ValidationError(f"{path}: rankings.{_key(name)}: expected an object of target -> list of model ids")


def _check_evaluation(path: Path, name: str, ev: Any) -> None:
    where = f"{path}: evaluation.{_key(name)}"
    if not ev:
        return
    if not isinstance(ev, dict) or not isinstance(ev.get("per_target"), dict):
        raise ValidationError(f"{where}: missing 'per_target'")
    relevant = ev.get("relevant", 5)
    if isinstance(relevant, bool) or not isinstance(relevant, int) or not 1 <= relevant <= 1_000_000:
        raise ValidationError(f"{where}.relevant: expected a positive integer, got {excerpt(relevant)}")
    if "models" in ev and not _ids(ev["models"]):
        raise ValidationError(f"{where}.models: expected a list of distinct model ids")
    for key in ("p_at_1", "p_at_5", "spearman", "n_models", "n_targets"):
        if not _number_or_none(ev.get(key)):
            raise ValidationError(f"{where}.{key}: expected a number, got {excerpt(ev.get(key))}")
    for target, row in ev["per_target"].items():
        if not row:
            continue
        at = f"{where}.per_target.{_key(target)}"
        if not isinstance(row, dict):
            raise ValidationError(f"{at}: expected an object, got {excerpt(row)}")
        if "true_ranking" in row and not (isinstance(row["true_ranking"], list) and all(isinstance(m, str) for m in row["true_ranking"])):
            raise ValidationError(f"{at}.true_ranking: expected a list of model ids")
        for key in ("p_at_1", "p_at_5", "spearman"):
            if not _number_or_none(row.get(key)):
                raise ValidationError(f"{at}.{key}: expected a number, got {excerpt(row.get(key))}")


def _check_estimator(path: Path, name: str, est: Any, data: Mapping) -> None:
    where = f"{path}: estimators.{_key(name)}"
    if not isinstance(est, dict) or not isinstance(est.get("models"), list) or not isinstance(est.get("affinity"), list):
        raise ValidationError(f"{where}: expected an object with 'models' and 'affinity' lists")
    if not _ids(est["models"]):
        raise ValidationError(f"{where}.models: expected a list of distinct model ids")
    n = len(est["models"])
    rows = est["affinity"]
    if len(rows) != n or any(not isinstance(r, list) or len(r) != n for r in rows):
        raise ValidationError(f"{where}: affinity is not a {n} x {n} matrix for its {n} models")
    if any(v is not None and (not isinstance(v, (int, float)) or isinstance(v, bool)) for r in rows for v in r):
        raise ValidationError(f"{where}: affinity holds a value that is not a number")
    _check_evaluation(path, name, data["evaluation"].get(name))


def differences(a: Mapping, b: Mapping) -> list[str]:
    """What makes two reports incomparable: probe set identity and method parameters."""
    out = []
    for key in ("name", "n_images", "sha256"):
        va, vb = a["probe"].get(key), b["probe"].get(key)
        if va != vb:
            if key == "sha256":
                va, vb = str(va)[:12] + "…", str(vb)[:12] + "…"
            out.append(f"probe {key} {va} vs {vb}")
    pa, pb = a["parameters"], b["parameters"]
    for key in sorted((set(pa) | set(pb)) - IGNORED_PARAMETERS - set(prose_parameters(a, b))):
        if pa.get(key, _MISSING) != pb.get(key, _MISSING):
            out.append(f"parameter {key} {_show(pa.get(key, _MISSING))} vs {_show(pb.get(key, _MISSING))}")
    return out


def _show(value: Any) -> str:
    return "(absent)" if value is _MISSING else json.dumps(value)
