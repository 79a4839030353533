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


#: Memory a parsed report and the comparison built on it take per byte of JSON (measured: two
#: 114 MB reports of 700 models peak at 1.6 GB RSS; address space runs higher than RSS).
PARSED_BYTES_PER_BYTE = 10


def report_path(path: Path) -> Path:
    """A run folder stands for its report.json."""
    path = Path(path)
    return path / "report.json" if path.is_dir() and (path / "report.json").is_file() else path


def check_parsed_size(paths: list[Path]) -> None:
    """Refuse, before parsing, reports whose parsed form would not fit in the memory this process may use.

    The byte limit bounds the file, not the objects JSON parsing builds from it (about ten
    times larger), so the estimate is checked against the memory available.
    """
    from harness.common.errors import ResourceLimit
    from harness.runtime.resources import BASELINE_BYTES, available_bytes

    sizes = []
    for path in map(report_path, paths):
        try:
            sizes.append(path.stat().st_size if path.is_file() else 0)
        except OSError:
            sizes.append(0)  # load_report names the problem
    need = PARSED_BYTES_PER_BYTE * sum(sizes)
    available, source = available_bytes()
    room = max(available - BASELINE_BYTES, 0)
    if need > room:
        mib = [f"{s / 2**20:.0f} MiB" for s in sizes]
        raise ResourceLimit(f"{' and '.join(f'{p} ({m})' for p, m in zip(paths, mib))}: comparing them needs about "
                            f"{need / 2**30:.1f} GiB once parsed, above the {room / 2**30:.1f} GiB left by {source}; "
                            "compare on a machine with more memory (or raise the limit)")


def load_report(path: Path) -> dict[str, Any]:
    """A validated report document; a run folder stands for its report.json."""
    path = report_path(path)
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
    _check_models(path, data)
    for name, est in data["estimators"].items():
        _check_estimator(path, name, est, data)
    for name, ev in data["evaluation"].items():
        if name not in data["estimators"]:
            _check_evaluation(path, name, ev)
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


#: Ranges of the evaluation numbers a report holds (a value outside is a corrupted or forged report).
UNIT = (0.0, 1.0)
CORRELATION = (-1.0, 1.0)
METRIC_RANGES: dict[str, tuple[float, float]] = {
    "p_at_1": UNIT, "p_at_5": UNIT, "confidence": UNIT, "spearman": CORRELATION, "kendall": CORRELATION,
    "pearson": CORRELATION, "weighted_kendall": CORRELATION, "rel_at_1": UNIT,
}
#: Lists of numbers per K, all in [0, 1].
UNIT_LISTS = ("p_at_k", "r_at_k", "random_p_at_k", "random_r_at_k", "oracle_p_at_k", "oracle_r_at_k")
COUNTS = ("n_models", "n_targets", "n_boot", "relevant")


def _check_number(where: str, key: str, value: Any) -> None:
    """``value`` is None or a number inside the range of metric ``key`` (a ``*_ci`` key: a [low, high] pair)."""
    low, high = METRIC_RANGES.get(key.removesuffix("_ci"), (-_MAX_NUMBER, _MAX_NUMBER))
    values = [value]
    if key.endswith("_ci") and value is not None:
        if not (isinstance(value, list) and len(value) == 2):
            raise ValidationError(f"{where}.{key}: expected a [low, high] pair or null, got {excerpt(value)}")
        values = value
    for v in values:
        if not _number_or_none(v):
            raise ValidationError(f"{where}.{key}: expected a number, got {excerpt(v)}")
        if v is not None and not low <= v <= high:
            raise ValidationError(f"{where}.{key}: {excerpt(v)} is outside [{low:g}, {high:g}]")


def _check_metrics(where: str, block: Mapping) -> None:
    for key, value in block.items():
        if key in METRIC_RANGES or (key.endswith("_ci") and key.removesuffix("_ci") in METRIC_RANGES):
            _check_number(where, key, value)
        elif key in UNIT_LISTS:
            if not isinstance(value, list):
                raise ValidationError(f"{where}.{key}: expected a list of numbers, got {excerpt(value)}")
            for v in value:
                if not _number_or_none(v):
                    raise ValidationError(f"{where}.{key}: expected numbers, got {excerpt(v)}")
                if v is not None and not 0 <= v <= 1:
                    raise ValidationError(f"{where}.{key}: {excerpt(v)} is outside [0, 1]")
        elif key in COUNTS and value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ValidationError(f"{where}.{key}: expected a count (integer >= 0), got {excerpt(value)}")


def _check_evaluation(path: Path, name: str, ev: Any) -> None:
    where = f"{path}: evaluation.{_key(name)}"
    if not ev:
        return
    if not isinstance(ev, dict) or not isinstance(ev.get("per_target"), dict):
        raise ValidationError(f"{where}: missing 'per_target'")
    relevant = ev.get("relevant", 5)
    if isinstance(relevant, bool) or not isinstance(relevant, int) or not 1 <= relevant <= 1_000_000:
        raise ValidationError(f"{where}.relevant: expected a positive integer, got {excerpt(relevant)}")
    for key in ("models", "targets"):
        if key in ev and not _ids(ev[key]):
            raise ValidationError(f"{where}.{key}: expected a list of distinct model ids")
    _check_metrics(where, ev)
    for target, row in ev["per_target"].items():
        if not row:
            continue
        at = f"{where}.per_target.{_key(target)}"
        if not isinstance(row, dict):
            raise ValidationError(f"{at}: expected an object, got {excerpt(row)}")
        for key in ("true_ranking", "estimated_ranking", "relevant_sources"):
            if key in row and not (isinstance(row[key], list) and all(isinstance(m, str) for m in row[key])):
                raise ValidationError(f"{at}.{key}: expected a list of model ids")
        _check_metrics(at, row)


def _check_models(path: Path, data: Mapping) -> None:
    """Top-level ``models``: one object per model with a string ``id``, ids distinct."""
    seen: set[str] = set()
    for i, model in enumerate(data["models"]):
        if not isinstance(model, dict) or not isinstance(model.get("id"), str):
            raise ValidationError(f"{path}: models[{i}]: expected an object with a string 'id', got {excerpt(model)}")
        if model["id"] in seen:
            raise ValidationError(f"{path}: models[{i}]: id {excerpt(model['id'])} is listed twice")
        seen.add(model["id"])


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
