"""Upper bounds on everything a user can make the harness allocate, each with its override.

A limit is refused up front with its value and the environment variable that changes it, so
a typo (``input.size: [22400, 22400]``, ``--images 8000000``) costs one line, not a swap
storm. Defaults are far above what the harness is used for; raise them deliberately.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from harness.common.errors import ResourceLimit


@dataclass(frozen=True)
class Limit:
    """One bound: its default and the environment variable that overrides it."""

    env: str
    default: int
    what: str

    @property
    def value(self) -> int:
        raw = os.environ.get(self.env)
        if raw is None:
            return self.default
        try:
            value = int(float(raw))
        except (ValueError, OverflowError):
            raise ResourceLimit(f"environment variable {self.env}: expected a number, got {raw[:40]!r}") from None
        if value <= 0:
            raise ResourceLimit(f"environment variable {self.env}: expected a positive number, got {raw[:40]!r}")
        return value

    def how(self) -> str:
        """'the limit of N for <what> (set ENV to change it)'."""
        return f"the limit of {self.value} for {self.what} (set {self.env} to change it)"

    def check(self, value: int, where: str, fix: str = "") -> None:
        """Raise a one-line :class:`ResourceLimit` naming ``where`` when ``value`` exceeds the bound."""
        if value > self.value:
            hint = f"; {fix}" if fix else ""
            raise ResourceLimit(f"{where}: {value} is above {self.how()}{hint}")


MIB = 1 << 20
GIB = 1 << 30

#: Files read whole into memory.
CARD_BYTES = Limit("HARNESS_MAX_CARD_BYTES", 1 * MIB, "card and zoo file sizes in bytes")
LIST_BYTES = Limit("HARNESS_MAX_LIST_BYTES", 64 * MIB, "image list sizes in bytes")
CSV_BYTES = Limit("HARNESS_MAX_CSV_BYTES", 256 * MIB, "ground-truth file sizes in bytes")
GT_CELLS = Limit("HARNESS_MAX_GT_CELLS", 1 << 24, "ground-truth matrix cells (sources x targets kept)")
REPORT_BYTES = Limit("HARNESS_MAX_REPORT_BYTES", 512 * MIB, "report file sizes in bytes")
#: YAML: nodes after expanding every alias (billion laughs), and nesting depth.
YAML_NODES = Limit("HARNESS_MAX_YAML_NODES", 100_000, "YAML nodes after alias expansion")
NESTING = Limit("HARNESS_MAX_NESTING", 100, "nesting depth")
#: Image sides, counts and per-run sizes.
IMAGE_SIDE = Limit("HARNESS_MAX_IMAGE_SIDE", 4096, "image sides in pixels")
MAP_SIDE = Limit("HARNESS_MAX_MAP_SIDE", 1024, "attribution-map sides in pixels")
IMAGES = Limit("HARNESS_MAX_IMAGES", 100_000, "the number of probe images")
IMAGE_PIXELS = Limit("HARNESS_MAX_IMAGE_PIXELS", 64_000_000, "pixels per decoded probe image")
BATCH = Limit("HARNESS_MAX_BATCH", 65_536, "batch sizes")
STEPS = Limit("HARNESS_MAX_STEPS", 100_000, "step counts")
BOOTSTRAP = Limit("HARNESS_MAX_BOOTSTRAP", 1_000_000, "bootstrap resamples")
FEATURE_UNITS = Limit("HARNESS_MAX_FEATURE_UNITS", 1 << 24, "feature units")
#: One tensor of a model (declared shapes, external data, ConstantOfShape) in bytes.
TENSOR_BYTES = Limit("HARNESS_MAX_TENSOR_BYTES", 4 * GIB, "one model tensor in bytes")
#: Longest string field of a card or zoo file, and of a free-text field.
NAME_CHARS = 512
TEXT_CHARS = 20_000
