"""Model cards: one YAML file per model, validated into one frozen record.

A card says everything the harness needs to use a model (like timm's pretrained configs):
where its ONNX file is, which framework produced it (so the right adapter normalises the
graph), its input conventions, and which layer to probe. Every problem is reported as one
line naming the file and the field.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.adapters import ADAPTERS
from harness.common.errors import ValidationError, excerpt
from harness.common.hashing import sha256_bytes, sha256_file
from harness.common.limits import IMAGE_SIDE, NAME_CHARS, TEXT_CHARS
from harness.common.registry import suggest
from harness.common.yaml_io import read_yaml_mapping

LAYOUTS = ("NCHW", "NHWC")
#: gray: the graph takes one channel, the luma 0.299 R + 0.587 G + 0.114 B of the RGB probe images
CHANNEL_ORDERS = ("RGB", "BGR", "gray")
#: parity defaults: |torch - onnxruntime| <= atol + rtol * |onnxruntime|, elementwise
DEFAULT_ATOL, DEFAULT_RTOL = 1e-4, 1e-3
#: The file that makes a folder a zoo; a card inside a zoo may reference files anywhere in it.
ZOO_FILE = "zoo.yaml"
_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
_SHA_PATTERN = re.compile(r"^[0-9a-f]{64}$")
#: Free-text fields may be long (up to TEXT_CHARS); every other string is a name (NAME_CHARS).
_FREE_TEXT = {"notes", "description", "source", "license", "training_data"}
#: Bounds of input scaling numbers: far beyond any real convention, small enough that
#: (x - mean) / std stays finite in float32.
_SCALE_BOUND = 1e6
_STD_MIN = 1e-6
#: Largest unit index a target may name (int32: what the graph's index ops take).
_MAX_UNIT = 2**31 - 1
#: Element types a graph input may hold, and the integer range of the integer ones
#: (images are quantized into it with ``input.scale``/``input.zero_point``).
INPUT_DTYPES = ("float32", "float16", "uint8", "int8", "uint16", "int16")
INTEGER_RANGES = {"uint8": (0, 255), "int8": (-128, 127), "uint16": (0, 65535), "int16": (-32768, 32767)}


@dataclass(frozen=True)
class InputSpec:
    """How probe images become the tensor the ONNX graph expects."""

    size: tuple[int, int]  # height, width
    layout: str = "NCHW"
    channels: str = "RGB"
    range: tuple[float, float] = (0.0, 1.0)
    mean: tuple[float, ...] | None = None  # one value per channel (1 for gray, 3 otherwise)
    std: tuple[float, ...] | None = None
    #: element type of the graph input; None: as the graph says (the importer fills it in)
    dtype: str | None = None
    #: quantization of an integer input: integer = round_half_even(value / scale) + zero_point,
    #: saturated; None: read from the graph's first DequantizeLinear of the input
    scale: float | None = None
    zero_point: int | None = None

    @property
    def num_channels(self) -> int:
        """Channels of the graph's input tensor."""
        return 1 if self.channels == "gray" else 3

    @property
    def integer(self) -> bool:
        """Whether the graph takes integers (images are quantized before it sees them)."""
        return self.dtype in INTEGER_RANGES


@dataclass(frozen=True)
class ParitySpec:
    """Criteria of the import's parity check against onnxruntime.

    ``scaled``: largest error allowed relative to each output tensor's scale (its largest
    magnitude); None takes the default of the graph's compute precision (see
    :mod:`harness.model.parity`). ``atol``/``rtol``: the per-element allclose, reported, and
    a pass on its own for cards that set it (older cards loosened it to accept rounding).
    """

    atol: float = DEFAULT_ATOL
    rtol: float = DEFAULT_RTOL
    scaled: float | None = None


@dataclass(frozen=True)
class TargetSpec:
    """What scalar attribution explains. Default: the sum of the probe layer's output."""

    kind: str = "probe_sum"  # probe_sum | unit | argmax
    output: str | None = None  # ONNX tensor/node name for unit/argmax; default the probe layer
    unit: int | None = None


@dataclass(frozen=True)
class ModelCard:
    """Everything needed to import and probe one model."""

    id: str
    task: str
    framework: str
    onnx: Path  # absolute, resolved
    probe_layer: str
    input: InputSpec
    path: Path  # the card file itself
    sha256: str | None = None
    target: TargetSpec = field(default_factory=TargetSpec)
    parity_tolerance: float = DEFAULT_ATOL  # = parity.atol (the card's former field, still accepted)
    parity: ParitySpec = field(default_factory=ParitySpec)
    architecture: str | None = None
    training_data: str | None = None
    group: str | None = None
    license: str | None = None
    source: str | None = None
    notes: str | None = None
    heads: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()  # class names of a classifier's outputs (field 'classes': a list or a file)
    hardness: Path | None = None  # card of a hardness predictor for this classifier (harness explain --score hardness)

    def content_hash(self) -> str:
        """sha256 over the card's bytes and the ONNX file's bytes: the model's identity in reports."""
        onnx_hash = self.sha256 or sha256_file(self.onnx)
        return sha256_bytes(self.path.read_bytes() + onnx_hash.encode())


_TOP_FIELDS = {
    "id", "task", "framework", "onnx", "sha256", "input", "probe_layer", "target",
    "parity_tolerance", "parity", "architecture", "training_data", "group", "license", "source",
    "notes", "heads", "classes", "hardness",
}
_REQUIRED = ("id", "task", "framework", "onnx", "input", "probe_layer")
_INPUT_FIELDS = {"size", "layout", "channels", "range", "mean", "std", "dtype", "scale", "zero_point"}
_TARGET_FIELDS = {"kind", "output", "unit"}
_PARITY_FIELDS = {"atol", "rtol", "scaled"}


class _Fields:
    """Typed access to one mapping of a card, raising one-line errors that name the field."""

    def __init__(self, path: Path, data: dict[str, Any], prefix: str, allowed: set[str]) -> None:
        self.path, self.data, self.prefix = path, data, prefix
        for key in data:
            if key not in allowed:
                name = str(key)[:NAME_CHARS] if isinstance(key, str) else excerpt(key, 40)
                self.fail(name[:60], "unknown field; " + suggest(name, sorted(allowed)))

    def fail(self, name: str, message: str) -> None:
        raise ValidationError(f"{self.path}: field '{self.prefix}{name}': {message}")

    def has(self, name: str) -> bool:
        return name in self.data and self.data[name] is not None

    def string(self, name: str, choices: tuple[str, ...] | None = None, default: str | None = None) -> str | None:
        if not self.has(name):
            return default
        value = self.data[name]
        if not isinstance(value, str) or not value.strip():
            self.fail(name, f"expected a non-empty string, got {excerpt(value)}")
        cap = TEXT_CHARS if name in _FREE_TEXT else NAME_CHARS
        if len(value) > cap:
            self.fail(name, f"{len(value)} characters, longer than the limit of {cap}; shorten it")
        if choices and value not in choices:
            self.fail(name, f"expected one of {', '.join(choices)}, got {excerpt(value)}")
        return value

    def number(self, name: str, default: float, low: float = -math.inf, high: float = math.inf) -> float:
        """A finite number in [low, high]; NaN, infinities and out-of-range values are refused."""
        if not self.has(name):
            return default
        value = self.data[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(name, f"expected a number, got {excerpt(value)}")
        number = _finite(value)
        if number is None or not low <= number <= high:
            self.fail(name, f"expected a finite number in [{low:g}, {high:g}], got {excerpt(value)}")
        return number

    def numbers(self, name: str, length: int, *, integer: bool = False, positive: bool = False) -> tuple | None:
        if not self.has(name):
            return None
        value = self.data[name]
        kind = "positive integers" if integer and positive else "integers" if integer else "numbers"
        ok = isinstance(value, list) and len(value) == length and all(
            not isinstance(v, bool) and isinstance(v, int if integer else (int, float)) for v in value
        )
        if ok and positive:
            ok = all(v > 0 for v in value)
        if ok and not integer and any(_finite(v) is None for v in value):
            self.fail(name, f"expected {length} finite numbers, got {excerpt(value)} (NaN and infinities are not allowed)")
        if not ok:
            self.fail(name, f"expected a list of {length} {kind}, got {excerpt(value)}")
        return tuple(int(v) if integer else float(v) for v in value)

    def bounded(self, name: str, values: tuple | None, low: float, high: float) -> tuple | None:
        """``values`` unchanged when every one lies in [low, high], else a one-line error."""
        if values is not None and not all(low <= v <= high for v in values):
            self.fail(name, f"every value must lie in [{low:g}, {high:g}], got {excerpt(list(values))}")
        return values

    def mapping(self, name: str) -> dict[str, Any]:
        value = self.data.get(name)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(name, f"expected a mapping, got {excerpt(value)}")
        return value


def _finite(value: int | float) -> float | None:
    """``float(value)`` when finite (huge ints overflow to None too), else None."""
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _resolve_inside(path: Path, raw: str, root: Path, fields: _Fields, name: str) -> Path:
    candidate = Path(raw)
    if candidate.is_absolute():
        fields.fail(name, f"{excerpt(raw)} must be a path relative to the card")
    try:
        resolved = (path.parent / candidate).resolve()
        resolved.is_file()
    except (OSError, ValueError) as exc:  # a NUL byte, a name too long for the file system
        fields.fail(name, f"{excerpt(raw)} is not a usable path ({excerpt(str(getattr(exc, 'strerror', None) or exc), 60)})")
    if not resolved.is_relative_to(root.resolve()):
        fields.fail(name, f"{excerpt(raw)} leaves the zoo directory {root}; keep model files inside the zoo")
    return resolved


def parse_card(path: Path, data: dict[str, Any], root: Path | None = None, *, check_files: bool = True) -> ModelCard:
    """Validate one card's fields into a :class:`ModelCard`.

    ``root`` is the zoo directory that file paths may not leave (by default the nearest folder
    above the card that holds a zoo.yaml, else the card's own folder). With ``check_files`` the ONNX file must exist and match
    ``sha256`` when one is given.
    """
    root = root or enclosing_zoo(path)
    top = _Fields(path, data, "", _TOP_FIELDS)
    for name in _REQUIRED:
        if not top.has(name):
            top.fail(name, "missing required field")
    card_id = top.string("id")
    if not _ID_PATTERN.match(card_id):
        top.fail("id", f"{excerpt(card_id)} may only use letters, digits and _ . + - (and not start with a symbol)")
    onnx_path = _resolve_inside(path, top.string("onnx"), root, top, "onnx")
    sha = top.string("sha256")
    if sha is not None and not _SHA_PATTERN.match(sha.lower()):
        top.fail("sha256", f"expected 64 hex digits, got {excerpt(sha)}")
    if check_files:
        if not onnx_path.is_file():
            top.fail("onnx", f"file {onnx_path} not found")
        if sha is not None:
            actual = sha256_file(onnx_path)
            if actual != sha.lower():
                top.fail("sha256", f"mismatch for {onnx_path.name}: card says {sha}, file has {actual}; re-export or update the card")
    parity = _parse_parity(path, top)
    return ModelCard(
        id=card_id,
        task=top.string("task"),
        framework=top.string("framework", tuple(sorted(ADAPTERS.names()))),  # one record per framework: its adapter
        onnx=onnx_path,
        probe_layer=top.string("probe_layer"),
        input=_parse_input(path, top.mapping("input")),
        path=path.resolve(),
        sha256=sha.lower() if sha else None,
        target=_parse_target(path, top.mapping("target")),
        parity_tolerance=parity.atol,
        parity=parity,
        architecture=top.string("architecture"),
        training_data=top.string("training_data"),
        group=top.string("group"),
        license=top.string("license"),
        source=top.string("source"),
        notes=top.string("notes"),
        heads=_parse_heads(top),
        classes=_parse_classes(path, top, root, check_files),
        hardness=_parse_hardness(path, top, root, check_files),
    )


def _parse_input(path: Path, data: dict[str, Any]) -> InputSpec:
    fields = _Fields(path, data, "input.", _INPUT_FIELDS)
    if not fields.has("size"):
        fields.fail("size", "missing required field (height, width)")
    low_high = fields.bounded("range", fields.numbers("range", 2), -_SCALE_BOUND, _SCALE_BOUND) or (0.0, 1.0)
    if low_high[0] >= low_high[1]:
        fields.fail("range", f"expected [low, high] with low < high, got {list(low_high)}")
    channels = fields.string("channels", CHANNEL_ORDERS, default="RGB")
    count = 1 if channels == "gray" else 3
    mean = fields.numbers("mean", count)
    std = fields.numbers("std", count)
    if std is not None and any(s <= 0 for s in std):
        fields.fail("std", f"every std must be positive, got {list(std)}")
    fields.bounded("std", std, _STD_MIN, _SCALE_BOUND)
    size = fields.numbers("size", 2, integer=True, positive=True)
    if max(size) > IMAGE_SIDE.value:
        fields.fail("size", f"{list(size)} is above {IMAGE_SIDE.how()}")
    dtype, scale, zero_point = _parse_quantization(fields)
    return InputSpec(
        size=size,
        layout=fields.string("layout", LAYOUTS, default="NCHW"),
        channels=channels,
        range=low_high,
        mean=fields.bounded("mean", mean, -_SCALE_BOUND, _SCALE_BOUND),
        std=std,
        dtype=dtype,
        scale=scale,
        zero_point=zero_point,
    )


def _parse_quantization(fields: _Fields) -> tuple[str | None, float | None, int | None]:
    """``input.dtype`` and, for integer inputs, ``input.scale``/``input.zero_point`` (given together)."""
    dtype = fields.string("dtype", INPUT_DTYPES)
    if fields.has("scale") != fields.has("zero_point"):
        missing = "zero_point" if fields.has("scale") else "scale"
        fields.fail(missing, "give input.scale and input.zero_point together (integer = round(value / scale) + zero_point)")
    if not fields.has("scale"):
        return dtype, None, None
    if dtype is not None and dtype not in INTEGER_RANGES:
        fields.fail("scale", f"only an integer input.dtype ({', '.join(INTEGER_RANGES)}) is quantized; "
                             f"input.dtype is {dtype}: drop scale/zero_point or fix the dtype")
    scale = fields.number("scale", 1.0, 1.0 / _SCALE_BOUND, _SCALE_BOUND)
    value = fields.data["zero_point"]
    low, high = INTEGER_RANGES.get(dtype or "", (-32768, 65535))
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        fields.fail("zero_point", f"expected an integer in [{low}, {high}]"
                                  f"{f' (the range of {dtype})' if dtype else ''}, got {excerpt(value)}")
    return dtype, scale, int(value)


def _parse_parity(path: Path, top: _Fields) -> ParitySpec:
    """``parity: {atol, rtol, scaled}``; the older ``parity_tolerance`` is an alias of ``parity.atol``."""
    fields = _Fields(path, top.mapping("parity"), "parity.", _PARITY_FIELDS)
    if top.has("parity_tolerance") and fields.has("atol"):
        top.fail("parity_tolerance", "given together with parity.atol; keep only parity.atol")
    atol = fields.number("atol", top.number("parity_tolerance", DEFAULT_ATOL))
    rtol = fields.number("rtol", DEFAULT_RTOL)
    scaled = fields.number("scaled", -1.0) if fields.has("scaled") else None
    for name, value in (("atol", atol), ("rtol", rtol), ("scaled", scaled)):
        if value is not None and value < 0:
            fields.fail(name, f"expected a non-negative number, got {value:g}")
    return ParitySpec(atol=atol, rtol=rtol, scaled=scaled)


def _parse_target(path: Path, data: dict[str, Any]) -> TargetSpec:
    fields = _Fields(path, data, "target.", _TARGET_FIELDS)
    kind = fields.string("kind", ("probe_sum", "unit", "argmax"), default="probe_sum")
    unit = None
    if fields.has("unit"):
        value = data["unit"]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_UNIT:
            fields.fail("unit", f"expected an integer in [0, {_MAX_UNIT}], got {excerpt(value)}")
        unit = value
    if kind == "unit" and unit is None:
        fields.fail("unit", "required when kind is 'unit'")
    return TargetSpec(kind=kind, output=fields.string("output"), unit=unit)


def _parse_heads(top: _Fields) -> tuple[str, ...]:
    if not top.has("heads"):
        return ()
    value = top.data["heads"]
    if not isinstance(value, list) or len(value) > 1000 or not all(isinstance(v, str) and 0 < len(v) <= NAME_CHARS for v in value):
        top.fail("heads", f"expected a list of ONNX output names, got {excerpt(value)}")
    return tuple(value)


def _parse_classes(path: Path, top: _Fields, root: Path, check_files: bool) -> tuple[str, ...]:
    """Class names: a YAML list of strings, or a text file (one name per line) relative to the card."""
    if not top.has("classes"):
        return ()
    value = top.data["classes"]
    if isinstance(value, str):
        file = _resolve_inside(path, value, root, top, "classes")
        if not check_files:
            return ()
        if not file.is_file():
            top.fail("classes", f"file {file} not found (expected one class name per line)")
        try:
            value = [line.strip() for line in file.read_text(encoding="utf-8").splitlines() if line.strip()]
        except (OSError, UnicodeDecodeError) as exc:
            top.fail("classes", f"cannot read {file}: {exc}")
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        top.fail("classes", f"expected a non-empty list of class names or a file path, got {value!r}")
    return tuple(v.strip() for v in value)


def _parse_hardness(path: Path, top: _Fields, root: Path, check_files: bool) -> Path | None:
    """Path of a hardness-predictor card, relative to this card."""
    raw = top.string("hardness")
    if raw is None:
        return None
    file = _resolve_inside(path, raw, root, top, "hardness")
    if check_files and not file.is_file():
        top.fail("hardness", f"card file {file} not found")
    return file


def enclosing_zoo(card_path: Path) -> Path:
    """The nearest folder above a card holding a zoo.yaml, else the card's folder."""
    for folder in card_path.resolve().parents:
        if (folder / ZOO_FILE).is_file():
            return folder
    return card_path.resolve().parent


def load_card(path: Path | str, root: Path | None = None, *, check_files: bool = True) -> ModelCard:
    """Read and validate one card file."""
    path = Path(path)
    return parse_card(path, read_yaml_mapping(path), root, check_files=check_files)
