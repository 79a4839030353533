"""Reading two report.json files for ``harness compare`` and deciding whether they are comparable.

A file that is not a harness report (bad JSON, truncated, another tool's JSON, another
schema) is a :class:`ValidationError` naming the file: one line, exit code 2.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.compare.comparable import prose_parameters
from harness.errors import HarnessError, ValidationError
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
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise ValidationError(f"{path}: cannot read report ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise ValidationError(f"{path}: not a harness report (not UTF-8 text)") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{path}: not valid JSON ({exc.msg}; line {exc.lineno}, column {exc.colno}); "
                              "the file may be truncated or corrupted") from None
    if not isinstance(data, dict) or "schema_version" not in data:
        raise ValidationError(f"{path}: not a harness report (no schema_version at the top level)")
    if data["schema_version"] != SCHEMA_VERSION:
        raise ValidationError(f"{path}: report schema_version {data['schema_version']!r} is not supported; "
                              f"this harness reads version {SCHEMA_VERSION}")
    for key, kind in REQUIRED:
        value = _get(data, key)
        if value is _MISSING:
            raise ValidationError(f"{path}: not a complete harness report: missing key {key!r}")
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ValidationError(f"{path}: key {key!r} has type {type(value).__name__}, expected {_name(kind)}")
    for name, est in data["estimators"].items():
        _check_estimator(path, name, est, data)
    return data


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


def _check_estimator(path: Path, name: str, est: Any, data: Mapping) -> None:
    where = f"{path}: estimators.{name}"
    if not isinstance(est, dict) or not isinstance(est.get("models"), list) or not isinstance(est.get("affinity"), list):
        raise ValidationError(f"{where}: expected an object with 'models' and 'affinity' lists")
    n = len(est["models"])
    rows = est["affinity"]
    if len(rows) != n or any(not isinstance(r, list) or len(r) != n for r in rows):
        raise ValidationError(f"{where}: affinity is not a {n} x {n} matrix for its {n} models")
    if any(v is not None and (not isinstance(v, (int, float)) or isinstance(v, bool)) for r in rows for v in r):
        raise ValidationError(f"{where}: affinity holds a value that is not a number")
    evaluation = data["evaluation"].get(name)
    if evaluation is not None and not isinstance((evaluation or {}).get("per_target"), dict):
        raise ValidationError(f"{path}: evaluation.{name}: missing 'per_target'")


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
